// The agent API (SPEC §5), typed. Same origin: the session cookie rides along.

import type { Locale } from './messages';

export const FOLDERS = ['open', 'answered', 'snoozed', 'closed', 'spam', 'deleted'] as const;
export type Folder = (typeof FOLDERS)[number];

export const SCOPES = ['mine', 'unassigned', 'all'] as const;
export type Scope = (typeof SCOPES)[number];

export type InboxKind = 'chat' | 'in_app' | 'email' | 'form';

export interface Account {
  id: number;
  name: string;
  created_at: string;
}

export interface Agent {
  id: number;
  account_id: number;
  name: string;
  email: string;
  role: 'admin' | 'agent';
  /** The UI language the agent chose (null: their browser's). */
  locale: Locale | null;
  created_at: string;
}

export interface Session {
  agent: Agent;
  account: Account;
}

export interface Contact {
  id: number;
  name: string | null;
  email: string | null;
  phone: string | null;
  company: string | null;
  external_id?: string | null;
  /** Free-form attributes set by the site or by agents. */
  custom_attributes?: Record<string, unknown>;
  /** What the widget saw: browser, OS, location, current page … */
  browser?: Record<string, unknown>;
  spam: boolean;
  first_seen_at?: string;
  last_seen_at?: string;
}

/** A contact with their conversations, newest first (the profile panel). */
export interface ContactProfile extends Contact {
  conversations: Conversation[];
}

/** The fields of a contact an agent edits; `null` clears one. */
export interface ContactPatch {
  name?: string | null;
  email?: string | null;
  phone?: string | null;
  company?: string | null;
  custom_attributes?: Record<string, unknown>;
}

export interface Inbox {
  id: number;
  name: string;
  kind: InboxKind;
}

export const INBOX_KINDS = ['chat', 'in_app', 'email', 'form'] as const;

export const SORTS = ['last_activity', 'oldest_waiting', 'created'] as const;
export type Sort = (typeof SORTS)[number];

/** The inbox list's quick filters (SPEC §3), as the list API names them. */
export interface Filters {
  inbox_id?: number;
  channel?: InboxKind;
  assignee_id?: number;
  tag?: string;
  unread?: boolean;
  waiting?: boolean;
  created_after?: string;
  created_before?: string;
  activity_after?: string;
  activity_before?: string;
  contact_id?: number;
}

export const FILTER_KEYS = [
  'inbox_id',
  'channel',
  'assignee_id',
  'tag',
  'unread',
  'waiting',
  'created_after',
  'created_before',
  'activity_after',
  'activity_before',
  'contact_id',
] as const satisfies readonly (keyof Filters)[];

/** What the list shows: a folder and scope, filters, a search, an order. */
export interface ListQuery {
  folder: Folder;
  scope: Scope;
  filters: Filters;
  /** Full-text search; results are ranked and carry a snippet. */
  q: string;
  sort: Sort;
}

export interface Conversation {
  id: number;
  account_id: number;
  number: number;
  inbox_id: number;
  inbox_kind: InboxKind;
  contact_id: number;
  folder: Folder;
  assignee_id: number | null;
  tags: string[];
  subject: string | null;
  snoozed_until: string | null;
  unread_count: number;
  waiting_since: string | null;
  last_activity_at: string;
  created_at: string;
  /** The last message, shortened (the list's preview line). */
  last_message_preview?: string | null;
  /** Search results: the matching text, HTML-escaped, with `<mark>` around matches. */
  snippet?: string;
}

export interface Message {
  id: number;
  conversation_id: number;
  sender_type: 'contact' | 'agent' | 'system';
  sender_id: number | null;
  body: string;
  full_body: string | null;
  private: boolean;
  /** For a reply that leaves by e-mail: whether the relay has taken it. */
  delivery?: Delivery;
  /** The files attached to the message (absent when none). */
  attachments?: Attachment[];
  created_at: string;
}

export type Delivery = 'pending' | 'delivered' | 'failed';

/** A file attached to a message; download it from `AccountApi.attachmentUrl(id)`. */
export interface Attachment {
  id: number;
  filename: string;
  content_type: string;
  size: number;
}

export type FolderCounts = Record<Folder, number>;

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export type FolderAction = 'close' | 'reopen' | 'snooze' | 'delete' | 'restore' | 'spam' | 'not_spam';

/** An error answered by the API (`{"error":{"code","message"}}`) or the network. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The list's query parameters (scope, filters, search, sort); the folder is the caller's. */
export function listParams(query: Omit<ListQuery, 'folder'>): URLSearchParams {
  const params = new URLSearchParams();
  if (query.scope !== 'all') params.set('scope', query.scope);
  for (const key of FILTER_KEYS) {
    const value = query.filters[key];
    if (value !== undefined && value !== false) params.set(key, String(value));
  }
  if (query.q.trim()) params.set('q', query.q.trim());
  if (query.sort !== 'last_activity') params.set('sort', query.sort);
  return params;
}

export async function request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: {
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'network error');
  }
  return answer<T>(response);
}

/** The JSON of an answer, or its error as an `ApiError`. */
async function answer<T>(response: Response): Promise<T> {
  if (response.status === 204) return undefined as T;
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    const error = payload?.error ?? {};
    throw new ApiError(response.status, error.code ?? 'http_' + response.status, error.message ?? response.statusText, error.field);
  }
  return payload as T;
}

/** A random key, so a retried send is not posted twice (works outside secure contexts too). */
export function idempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export const api = {
  setupStatus: () => request<{ needs_setup: boolean }>('GET', '/api/v1/setup'),
  setup: (input: { account_name: string; name: string; email: string; password: string }) =>
    request<Session>('POST', '/api/v1/setup', input),
  login: (email: string, password: string) => request<Session>('POST', '/api/v1/auth/login', { email, password }),
  logout: () => request<void>('POST', '/api/v1/auth/logout'),
  me: () => request<Session>('GET', '/api/v1/auth/me'),
};

/** The routes of one account. */
export class AccountApi {
  constructor(readonly accountId: number) {}

  private path(rest: string): string {
    return `/api/v1/accounts/${this.accountId}${rest}`;
  }

  conversations(query: ListQuery & { cursor?: string | null; limit?: number }): Promise<Page<Conversation>> {
    const params = listParams(query);
    params.set('folder', query.folder);
    params.set('limit', String(query.limit ?? 25));
    if (query.cursor) params.set('cursor', query.cursor);
    return request('GET', this.path(`/conversations?${params}`));
  }

  counts(scope: Scope): Promise<FolderCounts> {
    return request('GET', this.path(`/conversations/counts?scope=${scope}`));
  }

  conversation(id: number): Promise<Conversation> {
    return request('GET', this.path(`/conversations/${id}`));
  }

  /** The whole history, oldest first (follows the pages). */
  async messages(id: number): Promise<Message[]> {
    const all: Message[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=100&cursor=${encodeURIComponent(cursor)}` : '?limit=100';
      const page: Page<Message> = await request('GET', this.path(`/conversations/${id}/messages${query}`));
      all.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return all;
  }

  postMessage(
    id: number,
    body: string,
    isPrivate: boolean,
    key: string,
    attachmentIds: number[] = [],
  ): Promise<{ message: Message; conversation: Conversation }> {
    const input = { body, private: isPrivate, ...(attachmentIds.length ? { attachment_ids: attachmentIds } : {}) };
    return request('POST', this.path(`/conversations/${id}/messages`), input, { 'Idempotency-Key': key });
  }

  /** Stores a file in the conversation, ready for a message's `attachment_ids`. */
  async upload(id: number, file: File): Promise<Attachment> {
    const form = new FormData();
    form.append('file', file, file.name);
    let response: Response;
    try {
      response = await fetch(this.path(`/conversations/${id}/attachments`), {
        method: 'POST',
        credentials: 'same-origin',
        headers: { Accept: 'application/json' },
        body: form,
      });
    } catch {
      throw new ApiError(0, 'network', 'network error');
    }
    return answer<Attachment>(response);
  }

  /** Where an attachment is downloaded (or shown, for pictures). */
  attachmentUrl(id: number): string {
    return this.path(`/attachments/${id}`);
  }

  /** Sends a failed e-mail reply again. */
  retryDelivery(conversationId: number, messageId: number): Promise<Message> {
    return request('POST', this.path(`/conversations/${conversationId}/messages/${messageId}/retry`));
  }

  act(id: number, action: FolderAction, minutes?: number): Promise<Conversation> {
    return request('POST', this.path(`/conversations/${id}/${action}`), action === 'snooze' ? { minutes } : undefined);
  }

  markRead(id: number): Promise<Conversation> {
    return request('POST', this.path(`/conversations/${id}/read`));
  }

  assign(id: number, agentId: number | null): Promise<Conversation> {
    return request('POST', this.path(`/conversations/${id}/assign`), { agent_id: agentId });
  }

  setTags(id: number, tags: string[]): Promise<Conversation> {
    return request('PUT', this.path(`/conversations/${id}/tags`), { tags });
  }

  /** Remembers the UI language for this agent (any browser they sign in from). */
  setLocale(agentId: number, locale: Locale): Promise<Agent> {
    return request('PATCH', this.path(`/agents/${agentId}`), { locale });
  }

  /** The account's tags in use (suggestions). */
  tags(): Promise<{ items: { name: string; conversations: number }[] }> {
    return request('GET', this.path('/tags'));
  }

  agents(): Promise<{ items: Agent[] }> {
    return request('GET', this.path('/agents'));
  }

  inboxes(): Promise<{ items: Inbox[] }> {
    return request('GET', this.path('/inboxes'));
  }

  /** A contact's profile with their conversations. */
  contact(id: number): Promise<ContactProfile> {
    return request('GET', this.path(`/contacts/${id}`));
  }

  contacts(q: string): Promise<Page<Contact>> {
    return request('GET', this.path(`/contacts?limit=10&q=${encodeURIComponent(q)}`));
  }

  updateContact(id: number, patch: ContactPatch): Promise<Contact> {
    return request('PATCH', this.path(`/contacts/${id}`), patch);
  }

  /** The URL of the live event stream (a WebSocket). */
  eventsUrl(since: number | null): string {
    const url = new URL(this.path('/events'), location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (since !== null) url.searchParams.set('since', String(since));
    return url.toString();
  }
}
