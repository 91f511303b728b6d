// The admin side of the agent API: inboxes and their channels, the team,
// webhooks. Used by the settings screens.

import { request, type Agent, type InboxKind, type Page } from './api';

export interface WidgetSettings {
  color?: string | null;
  position: 'right' | 'left';
  pre_chat: 'off' | 'optional' | 'required';
  texts: Record<string, Record<string, string>>;
}

export interface Inbox {
  id: number;
  name: string;
  kind: InboxKind;
  token: string;
  email_address: string | null;
  identity_required: boolean;
  widget: WidgetSettings;
  thank_you_url: string | null;
}

/** What this server does with e-mail (`--smtp-listen`, `--smtp-relay`). */
export interface MailStatus {
  receiving: string | null;
  relay: string | null;
  from: string | null;
}

/** A tag in use, with how many conversations carry it. */
export interface TagCount {
  name: string;
  conversations: number;
}

export interface Webhook {
  id: number;
  url: string;
  secret: string;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  created_at: string;
}

export interface Delivery {
  id: number;
  seq: number;
  event_type: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  created_at: string;
  delivered_at: string | null;
}

/** The event types a webhook may subscribe to (none: all of them). */
export const EVENT_TYPES = [
  'conversation.created',
  'conversation.updated',
  'message.created',
  'message.updated',
  'contact.created',
  'contact.updated',
  'inbox.created',
  'conversation.purged',
] as const;

export class SettingsApi {
  constructor(readonly accountId: number) {}

  private path(rest: string): string {
    return `/api/v1/accounts/${this.accountId}${rest}`;
  }

  inboxes = () => request<{ items: Inbox[] }>('GET', this.path('/inboxes')).then((r) => r.items);
  createInbox = (input: { name: string; kind: InboxKind; email_address?: string }) =>
    request<Inbox>('POST', this.path('/inboxes'), input);
  updateInbox = (id: number, patch: Partial<Pick<Inbox, 'name' | 'identity_required' | 'widget' | 'thank_you_url'>>) =>
    request<Inbox>('PATCH', this.path(`/inboxes/${id}`), patch);
  identity = (id: number) =>
    request<{ identity_secret: string; identity_required: boolean }>('GET', this.path(`/inboxes/${id}/identity`));

  agents = () => request<{ items: Agent[] }>('GET', this.path('/agents')).then((r) => r.items);
  addAgent = (input: { name: string; email: string; password: string; role: Agent['role'] }) =>
    request<Agent>('POST', this.path('/agents'), input);
  updateAgent = (id: number, patch: { role?: Agent['role']; name?: string }) =>
    request<Agent>('PATCH', this.path(`/agents/${id}`), patch);
  removeAgent = (id: number) => request<void>('DELETE', this.path(`/agents/${id}`));

  tags = () => request<{ items: TagCount[] }>('GET', this.path('/tags')).then((r) => r.items);
  renameTag = (name: string, to: string) =>
    request<{ conversations: number }>('PATCH', this.path(`/tags/${encodeURIComponent(name)}`), { name: to });
  removeTag = (name: string) => request<{ conversations: number }>('DELETE', this.path(`/tags/${encodeURIComponent(name)}`));

  mailStatus = () => request<MailStatus>('GET', this.path('/mail'));

  webhooks = () => request<{ items: Webhook[] }>('GET', this.path('/webhooks')).then((r) => r.items);
  addWebhook = (input: { url: string; event_types: string[] }) => request<Webhook>('POST', this.path('/webhooks'), input);
  updateWebhook = (id: number, patch: { enabled?: boolean; url?: string; event_types?: string[] }) =>
    request<Webhook>('PATCH', this.path(`/webhooks/${id}`), patch);
  removeWebhook = (id: number) => request<void>('DELETE', this.path(`/webhooks/${id}`));
  deliveries = (id: number) => request<Page<Delivery>>('GET', this.path(`/webhooks/${id}/deliveries?limit=50`));
}
