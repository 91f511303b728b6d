// The agent API (SPEC §5), typed. Same origin: the session cookie rides along.

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
  spam: boolean;
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
  created_at: string;
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

  conversations(query: { folder: Folder; scope: Scope; cursor?: string | null; limit?: number }): Promise<Page<Conversation>> {
    const params = new URLSearchParams({ folder: query.folder, scope: query.scope, limit: String(query.limit ?? 25) });
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

  postMessage(id: number, body: string, isPrivate: boolean, key: string): Promise<{ message: Message; conversation: Conversation }> {
    return request('POST', this.path(`/conversations/${id}/messages`), { body, private: isPrivate }, { 'Idempotency-Key': key });
  }

  act(id: number, action: FolderAction, minutes?: number): Promise<Conversation> {
    return request('POST', this.path(`/conversations/${id}/${action}`), action === 'snooze' ? { minutes } : undefined);
  }

  markRead(id: number): Promise<Conversation> {
    return request('POST', this.path(`/conversations/${id}/read`));
  }

  agents(): Promise<{ items: Agent[] }> {
    return request('GET', this.path('/agents'));
  }

  contact(id: number): Promise<Contact> {
    return request('GET', this.path(`/contacts/${id}`));
  }

  /** The URL of the live event stream (a WebSocket). */
  eventsUrl(since: number | null): string {
    const url = new URL(this.path('/events'), location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (since !== null) url.searchParams.set('since', String(since));
    return url.toString();
  }
}
