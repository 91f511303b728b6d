// The visitor's side of the conversation, without any DOM: the session
// (kept in localStorage), the messages, the offline queue and the live
// stream. The UI renders whatever this holds after each `changed()`.

import { visitorFacts } from './visitor';

export interface Attachment {
  id: number;
  filename: string;
  content_type: string;
  size: number;
}

export interface Message {
  id: number;
  conversation_id?: number;
  sender_type: 'contact' | 'agent' | 'system';
  sender_id: number | null;
  body: string;
  /** Agent replies: their Markdown as HTML the server made safe. */
  body_html?: string;
  created_at: string;
  attachments?: Attachment[];
}

/** A message the visitor wrote that the server has not acknowledged yet. */
export interface Queued {
  /** The Idempotency-Key: the server stores it once however often it is sent. */
  key: string;
  body: string;
  at: string;
  attachment?: { id: number; filename: string };
  failed?: boolean;
}

export interface Face {
  name: string;
  kind: string;
  identity_required: boolean;
  online: boolean;
  team: { id: number; name: string }[];
  widget: {
    color?: string | null;
    position: 'right' | 'left';
    pre_chat: 'off' | 'optional' | 'required';
    texts: Record<string, Record<string, string>>;
  };
}

export interface User {
  id: string;
  hash: string;
  name?: string;
  email?: string;
}

interface Saved {
  token?: string;
  contactId?: number;
  externalId?: string;
  email?: string;
  lastSeq?: number;
  queue: Queued[];
  unread: number;
  sound: boolean;
  preChatDone?: boolean;
}

export type Problem = 'identity' | 'error' | null;

function randomKey(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

class HttpError extends Error {
  constructor(
    public status: number,
    public code: string,
  ) {
    super(code);
  }
}

export class Chat {
  face: Face | null = null;
  messages: Message[] = [];
  saved: Saved;
  connected = false;
  /** The conversation as the visitor sees it: open, or closed by the team. */
  state: 'open' | 'closed' = 'open';
  typingAgent: number | null = null;
  problem: Problem = null;
  private socket: WebSocket | null = null;
  private retry = 1000;
  private retryTimer = 0;
  private typingTimer = 0;
  private flushing = false;
  private user: User | null = null;
  private readonly storageKey: string;
  private readonly api: string;

  constructor(
    base: string,
    inbox: string,
    private readonly changed: () => void,
    /** Called for each new agent message (sound, unread badge). */
    private readonly onAgentMessage: (message: Message) => void,
  ) {
    this.storageKey = `confab:${inbox}`;
    this.api = `${base}/api/v1/public/inboxes/${encodeURIComponent(inbox)}`;
    this.saved = this.load();
    addEventListener('online', () => this.flush());
    addEventListener('storage', (event) => {
      if (event.key === this.storageKey) this.saved = this.load();
    });
  }

  private load(): Saved {
    try {
      const text = localStorage.getItem(this.storageKey);
      if (text) return { queue: [], unread: 0, sound: true, ...JSON.parse(text) };
    } catch {
      // Storage blocked or corrupt: start afresh.
    }
    return { queue: [], unread: 0, sound: true };
  }

  save(): void {
    try {
      localStorage.setItem(this.storageKey, JSON.stringify(this.saved));
    } catch {
      // Private mode without storage: the chat still works for this page.
    }
  }

  private async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const all: Record<string, string> = { ...headers };
    if (body !== undefined && !(body instanceof FormData)) all['Content-Type'] = 'application/json';
    if (this.saved.token) all['X-Contact-Token'] = this.saved.token;
    const response = await fetch(this.api + path, {
      method,
      headers: all,
      body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) {
      let code = 'error';
      try {
        code = JSON.parse(text).error.code;
      } catch {
        // Not our JSON error (a proxy's page): keep the generic code.
      }
      throw new HttpError(response.status, code);
    }
    return (text ? JSON.parse(text) : null) as T;
  }

  async start(): Promise<void> {
    try {
      this.face = await this.call<Face>('GET', '');
    } catch (error) {
      if (error instanceof HttpError && error.status === 404) {
        console.warn('Confab: no inbox has the token in data-inbox');
        return;
      }
      this.retryLater(() => this.start());
      return;
    }
    this.changed();
    if (this.saved.token) {
      // A returning visitor on a new page: the team sees where they are now.
      this.call('PATCH', '/contact', { browser: visitorFacts() }).catch(() => undefined);
      this.connect();
    }
    this.flush();
  }

  /** A signed-in user of the site: the same id is the same contact everywhere. */
  async identify(user: User): Promise<void> {
    this.user = user;
    if (this.saved.token && this.saved.externalId === user.id) {
      const patch: Record<string, string> = {};
      if (user.name) patch.name = user.name;
      if (user.email) patch.email = user.email;
      if (patch.name || patch.email) await this.call('PATCH', '/contact', patch).catch(() => undefined);
      return;
    }
    // Someone else (or nobody) was chatting in this browser: a new session.
    this.reset(false);
    await this.ensureSession().catch(() => undefined);
    this.changed();
  }

  /** Forgets the visitor in this browser (the site's sign-out). */
  reset(notify = true): void {
    this.socket?.close(1000);
    this.socket = null;
    this.messages = [];
    this.saved = { queue: [], unread: 0, sound: this.saved.sound };
    this.save();
    if (notify) this.changed();
  }

  private starting: Promise<void> | null = null;

  /** Makes sure there is a session, starting one at most once at a time. */
  private ensureSession(preChat?: { name?: string; email?: string }): Promise<void> {
    if (this.saved.token) return Promise.resolve();
    this.starting ??= this.startSession(preChat).finally(() => (this.starting = null));
    return this.starting;
  }

  private async startSession(preChat?: { name?: string; email?: string }): Promise<void> {
    const request: Record<string, unknown> = { browser: visitorFacts(), ...preChat };
    if (this.user) {
      request.external_id = this.user.id;
      request.identity_hash = this.user.hash;
      if (this.user.name) request.name = this.user.name;
      if (this.user.email) request.email = this.user.email;
    }
    try {
      const session = await this.call<{ contact_id: number; token: string }>('POST', '/contacts', request);
      this.problem = null;
      this.saved.token = session.token;
      this.saved.contactId = session.contact_id;
      this.saved.externalId = this.user?.id;
      this.saved.email = (request.email as string | undefined) ?? this.saved.email;
      this.save();
      this.connect();
    } catch (error) {
      if (error instanceof HttpError && (error.code === 'identity_required' || error.code === 'identity_invalid')) {
        this.problem = 'identity';
        this.changed();
      }
      throw error;
    }
  }

  /** The pre-chat form's answers. */
  async introduce(name: string, email: string): Promise<void> {
    this.saved.preChatDone = true;
    this.save();
    const answers: { name?: string; email?: string } = {};
    if (name) answers.name = name;
    if (email) answers.email = email;
    if (this.saved.token) {
      if (answers.name || answers.email) await this.call('PATCH', '/contact', answers);
      if (email) this.saved.email = email;
      this.save();
    } else {
      await this.ensureSession(answers);
    }
    this.changed();
  }

  /** An e-mail address for replies after the visitor left. */
  async leaveEmail(email: string): Promise<void> {
    await this.ensureSession();
    await this.call('PATCH', '/contact', { email });
    this.saved.email = email;
    this.save();
    this.changed();
  }

  send(body: string, attachment?: { id: number; filename: string }): void {
    this.saved.queue.push({ key: randomKey(), body, at: new Date().toISOString(), attachment });
    this.save();
    this.typing(false);
    this.changed();
    this.flush();
  }

  /** Uploads a file; answers what `send` takes as its attachment. */
  async upload(file: File): Promise<{ id: number; filename: string }> {
    await this.ensureSession();
    const form = new FormData();
    form.append('file', file, file.name);
    return this.call<{ id: number; filename: string }>('POST', '/attachments', form);
  }

  attachmentUrl(id: number): string {
    return `${this.api}/attachments/${id}?contact_token=${encodeURIComponent(this.saved.token ?? '')}`;
  }

  /** Sends the queue in order, each message once (its key makes retries safe). */
  async flush(): Promise<void> {
    if (this.flushing || !this.face) return;
    this.flushing = true;
    try {
      while (this.saved.queue.some((q) => !q.failed)) {
        const item = this.saved.queue.find((q) => !q.failed)!;
        try {
          await this.ensureSession();
          const request: Record<string, unknown> = { body: item.body };
          if (item.attachment) request.attachment_ids = [item.attachment.id];
          const posted = await this.call<{ conversation_id: number; message: Message }>('POST', '/messages', request, {
            'Idempotency-Key': item.key,
          });
          this.state = 'open';
          this.retry = 1000;
          this.merge([posted.message]);
          this.saved.queue = this.saved.queue.filter((q) => q.key !== item.key);
        } catch (error) {
          if (!(error instanceof HttpError)) {
            // Offline or the server is unreachable: keep the queue, try later.
            this.retryLater(() => this.flush());
            return;
          }
          if (error.status === 401 && error.code === 'unauthorized' && this.saved.token) {
            // The server forgot this session: start a new one and go on.
            this.saved.token = undefined;
            continue;
          }
          if (error.status === 429 || error.status >= 500) {
            this.retryLater(() => this.flush());
            return;
          }
          // Refused (a 4xx): sending it again would be refused again. It
          // stays, marked, until the visitor removes it (`discard`).
          item.failed = true;
        } finally {
          this.save();
          this.changed();
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Forgets a message the server refused (the visitor removed it). */
  discard(key: string): void {
    this.saved.queue = this.saved.queue.filter((q) => q.key !== key);
    this.save();
    this.changed();
  }

  private retryLater(again: () => void): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(again, this.retry);
    this.retry = Math.min(this.retry * 2, 30_000);
  }

  private acked = 0;
  /** Tells the server the newest agent reply reached this page (no e-mail copy needed). */
  private ack(): void {
    const newest = this.messages.reduce((max, m) => (m.sender_type === 'agent' && m.id > max ? m.id : max), 0);
    if (newest <= this.acked || this.socket?.readyState !== WebSocket.OPEN) return;
    this.acked = newest;
    this.socket.send(JSON.stringify({ type: 'received', message_id: newest }));
  }

  private merge(incoming: Message[]): void {
    const byId = new Map(this.messages.map((m) => [m.id, m]));
    for (const message of incoming) byId.set(message.id, message);
    this.messages = [...byId.values()].sort((a, b) => a.id - b.id);
  }

  private async refetch(): Promise<void> {
    try {
      const page = await this.call<{ items: Message[] }>('GET', '/messages');
      this.merge(page.items);
      this.ack();
      this.changed();
    } catch (error) {
      if (error instanceof HttpError && error.status === 401) {
        // The session is gone on the server: the next message starts a new one.
        this.socket?.close(1000);
        this.saved.token = undefined;
        this.save();
      }
    }
  }

  private connect(): void {
    if (!this.saved.token || this.socket) return;
    const since = this.saved.lastSeq === undefined ? '' : `&since=${this.saved.lastSeq}`;
    const url = `${this.api.replace(/^http/, 'ws')}/ws?contact_token=${encodeURIComponent(this.saved.token)}${since}`;
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      this.connected = true;
      this.retry = 1000;
      this.refetch();
      this.flush();
    };
    socket.onmessage = (event) => this.receive(JSON.parse(event.data as string));
    socket.onclose = () => {
      const wasOpen = this.connected;
      this.connected = false;
      if (this.socket !== socket) return;
      this.socket = null;
      this.changed();
      if (!wasOpen) this.refetch();
      this.retryLater(() => this.connect());
    };
  }

  private receive(frame: { seq: number | null; type: string; data: any }): void {
    if (frame.seq !== null) {
      this.saved.lastSeq = frame.seq;
      this.save();
    }
    const data = frame.data;
    switch (frame.type) {
      case 'message.created': {
        const message: Message = { ...data.message, conversation_id: data.conversation_id };
        const isNew = !this.messages.some((m) => m.id === message.id);
        this.merge([message]);
        if (message.sender_type === 'agent') {
          this.typingAgent = null;
          this.state = 'open';
          if (isNew) this.onAgentMessage(message);
          this.ack();
        }
        break;
      }
      case 'conversation.state':
        this.state = data.state;
        break;
      case 'typing':
        clearTimeout(this.typingTimer);
        this.typingAgent = data.typing ? data.agent_id : null;
        if (data.typing) this.typingTimer = window.setTimeout(() => ((this.typingAgent = null), this.changed()), 6000);
        break;
      case 'availability':
        if (this.face) this.face.online = data.online;
        break;
    }
    this.changed();
  }

  private lastTyping = 0;
  /** Tells the team the visitor is typing (at most every 2 s) or stopped. */
  typing(on: boolean): void {
    const now = Date.now();
    if (on && now - this.lastTyping < 2000) return;
    this.lastTyping = on ? now : 0;
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify({ type: 'typing', typing: on }));
  }

  agentName(id: number | null): string {
    return this.face?.team.find((member) => member.id === id)?.name ?? '';
  }
}
