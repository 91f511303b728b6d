// The inbox's state: the folder and scope shown, the list, the counts, the
// open conversation and its messages, kept current by the event stream.

import {
  AccountApi,
  ApiError,
  FOLDERS,
  SCOPES,
  type Agent,
  type Contact,
  type Conversation,
  type Folder,
  type FolderAction,
  type FolderCounts,
  type Message,
  type Scope,
  type Session,
} from './api';
import { EventStream, type ConnectionState, type EventFrame } from './stream';
import { Live } from './live.svelte';
import { Notifier } from './notify.svelte';
import { t } from './i18n.svelte';

export interface Toast {
  id: number;
  /** Rendered when shown, so a language switch re-translates it. */
  text: () => string;
  tone: 'info' | 'error';
}

/** Toasts on screen at once; the oldest goes first. */
const MAX_TOASTS = 3;

/** Where the inbox is, as the address bar says: /inbox/{folder}[/{id}]?scope=… */
interface Location {
  folder: Folder;
  scope: Scope;
  conversationId: number | null;
}

function readLocation(): Location {
  const parts = window.location.pathname.split('/').filter(Boolean);
  const folder = (FOLDERS as readonly string[]).includes(parts[1] ?? '') ? (parts[1] as Folder) : 'open';
  const id = Number(parts[2]);
  const scopeParam = new URLSearchParams(window.location.search).get('scope') ?? '';
  const scope = (SCOPES as readonly string[]).includes(scopeParam) ? (scopeParam as Scope) : 'all';
  return { folder, scope, conversationId: Number.isInteger(id) && id > 0 ? id : null };
}

function newestFirst(a: Conversation, b: Conversation): number {
  return b.last_activity_at.localeCompare(a.last_activity_at) || b.id - a.id;
}

/** A short reason for a failed request, in the UI's language. */
export function reason(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return t('error.network');
    if (error.status === 409) return t('error.conflict');
  }
  return t('error.generic');
}

export class Inbox {
  readonly api: AccountApi;
  readonly me: Agent;

  folder = $state<Folder>('open');
  scope = $state<Scope>('all');
  items = $state<Conversation[]>([]);
  nextCursor = $state<string | null>(null);
  listLoading = $state(true);
  listFailed = $state(false);
  loadingMore = $state(false);
  counts = $state<FolderCounts | null>(null);

  selectedId = $state<number | null>(null);
  selected = $state<Conversation | null>(null);
  messages = $state<Message[]>([]);
  conversationLoading = $state(false);
  conversationError = $state<string | null>(null);

  contacts = $state<Record<number, Contact>>({});
  agents = $state<Record<number, Agent>>({});
  connection = $state<ConnectionState>('connecting');
  toasts = $state<Toast[]>([]);
  /** Last message of each listed conversation seen live (the list has no preview yet). */
  previews = $state<Record<number, string>>({});

  /** Typing and presence, live from the stream. */
  readonly live: Live;
  /** Desktop notifications and sound for new work. */
  readonly notifier: Notifier;

  private stream: EventStream;
  private lastTypingSent = 0;
  private listGeneration = 0;
  /** Conversations changed by events while a list fetch was in flight. */
  private changedDuringLoad: Conversation[] | null = null;
  private countsTimer: ReturnType<typeof setTimeout> | null = null;
  private readTimer: ReturnType<typeof setTimeout> | null = null;
  private contactsWanted = new Set<number>();
  private toastSeq = 0;

  constructor(
    session: Session,
    private readonly onSignedOut: () => void,
  ) {
    this.api = new AccountApi(session.account.id);
    this.me = session.agent;
    this.agents[session.agent.id] = session.agent;
    this.live = new Live(session.agent.id);
    this.notifier = new Notifier(
      session.agent.id,
      (id) => this.contactName(id),
      (id) => this.selectedId === id,
    );
    this.stream = new EventStream((since) => this.api.eventsUrl(since), {
      frame: (frame) => this.onFrame(frame),
      state: (state) => {
        this.connection = state;
        // A new connection knows nothing of what this agent looks at.
        if (state === 'live' && this.selectedId) this.stream.send({ type: 'viewing', conversation_id: this.selectedId });
      },
      resync: () => this.refresh(),
      failing: () => this.checkSession(),
    });
  }

  start(): void {
    const here = readLocation();
    this.folder = here.folder;
    this.scope = here.scope;
    this.writeLocation(true, here.conversationId);
    window.addEventListener('popstate', this.onPopState);
    document.addEventListener('visibilitychange', this.onVisible);
    this.stream.start();
    void this.loadList();
    void this.loadCounts();
    void this.loadAgents();
    if (here.conversationId) void this.open(here.conversationId, false);
  }

  stop(): void {
    window.removeEventListener('popstate', this.onPopState);
    document.removeEventListener('visibilitychange', this.onVisible);
    this.stream.stop();
    if (this.countsTimer) clearTimeout(this.countsTimer);
    if (this.readTimer) clearTimeout(this.readTimer);
  }

  private readonly onPopState = (): void => {
    const here = readLocation();
    const listChanged = here.folder !== this.folder || here.scope !== this.scope;
    const scopeChanged = here.scope !== this.scope;
    this.folder = here.folder;
    this.scope = here.scope;
    if (listChanged) void this.loadList();
    if (scopeChanged) void this.loadCounts();
    if (here.conversationId !== this.selectedId) {
      if (here.conversationId) void this.open(here.conversationId, false);
      else this.closeView(false);
    }
  };

  /** Back on the tab: what arrived meanwhile in the open conversation is read now. */
  private readonly onVisible = (): void => {
    if (this.selected && this.selected.unread_count > 0) this.readSoon();
  };

  private writeLocation(replace: boolean, conversationId = this.selectedId): void {
    const path = `/inbox/${this.folder}${conversationId ? `/${conversationId}` : ''}`;
    const query = this.scope === 'all' ? '' : `?scope=${this.scope}`;
    const url = path + query;
    if (url === window.location.pathname + window.location.search) return;
    if (replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
  }

  // ——— the list ———

  showFolder(folder: Folder): void {
    if (folder === this.folder) return;
    // One pane at a time on narrow screens: a folder shows its list.
    if (this.selectedId !== null && window.matchMedia('(max-width: 700px)').matches) this.closeView(false);
    this.folder = folder;
    this.writeLocation(false);
    void this.loadList();
  }

  showScope(scope: Scope): void {
    if (scope === this.scope) return;
    this.scope = scope;
    this.writeLocation(false);
    void this.loadList();
    void this.loadCounts();
  }

  /** Re-fetches the list, the counts and the open conversation. */
  refresh(): void {
    void this.loadList();
    void this.loadCounts();
    if (this.selectedId) void this.open(this.selectedId, false, true);
  }

  async loadList(): Promise<void> {
    const generation = ++this.listGeneration;
    this.listLoading = true;
    this.listFailed = false;
    this.changedDuringLoad = [];
    try {
      const page = await this.api.conversations({ folder: this.folder, scope: this.scope });
      if (generation !== this.listGeneration) return;
      this.items = page.items;
      this.nextCursor = page.next_cursor;
      for (const conversation of this.changedDuringLoad ?? []) this.placeInList(conversation);
      this.wantContacts(page.items);
    } catch (error) {
      if (generation !== this.listGeneration) return;
      if (this.signedOut(error)) return;
      this.items = [];
      this.nextCursor = null;
      this.listFailed = true;
    } finally {
      if (generation === this.listGeneration) {
        this.listLoading = false;
        this.changedDuringLoad = null;
      }
    }
  }

  async loadMore(): Promise<void> {
    if (!this.nextCursor || this.loadingMore) return;
    const generation = this.listGeneration;
    this.loadingMore = true;
    try {
      const page = await this.api.conversations({ folder: this.folder, scope: this.scope, cursor: this.nextCursor });
      if (generation !== this.listGeneration) return;
      const known = new Set(this.items.map((c) => c.id));
      this.items = [...this.items, ...page.items.filter((c) => !known.has(c.id))];
      this.nextCursor = page.next_cursor;
      this.wantContacts(page.items);
    } catch (error) {
      if (!this.signedOut(error)) this.toast(() => t('action.failed', { reason: reason(error) }), 'error');
    } finally {
      this.loadingMore = false;
    }
  }

  async loadCounts(): Promise<void> {
    const scope = this.scope;
    try {
      const counts = await this.api.counts(scope);
      if (scope === this.scope) this.counts = counts;
    } catch (error) {
      this.signedOut(error);
    }
  }

  /** Counts change with almost every event: fetch them once per burst. */
  private countsSoon(): void {
    if (this.countsTimer) return;
    this.countsTimer = setTimeout(() => {
      this.countsTimer = null;
      void this.loadCounts();
    }, 150);
  }

  private async loadAgents(): Promise<void> {
    try {
      const { items } = await this.api.agents();
      for (const agent of items) this.agents[agent.id] = agent;
    } catch {
      // Names fall back to "Agent N".
    }
  }

  private wantContacts(conversations: Conversation[]): void {
    for (const { contact_id: id } of conversations) {
      if (this.contactsWanted.has(id)) continue;
      this.contactsWanted.add(id);
      this.api.contact(id).then(
        (contact) => (this.contacts[id] = contact),
        () => this.contactsWanted.delete(id),
      );
    }
  }

  /** Whether a conversation belongs in the list shown now. */
  private inView(conversation: Conversation): boolean {
    if (conversation.folder !== this.folder) return false;
    if (this.scope === 'mine') return conversation.assignee_id === this.me.id;
    if (this.scope === 'unassigned') return conversation.assignee_id === null;
    return true;
  }

  /** Puts a changed conversation where it now belongs: in the list, out of it, or moved up. */
  private placeInList(conversation: Conversation): void {
    const index = this.items.findIndex((c) => c.id === conversation.id);
    if (!this.inView(conversation)) {
      if (index >= 0) this.items.splice(index, 1);
      return;
    }
    if (index >= 0) {
      this.items[index] = { ...conversation, snippet: this.items[index].snippet };
    } else {
      // Past the loaded page it arrives with "load more" instead.
      const last = this.items.at(-1);
      if (this.nextCursor && last && newestFirst(conversation, last) > 0) return;
      this.items.push(conversation);
    }
    this.items.sort(newestFirst);
  }

  private applyConversation(conversation: Conversation): void {
    if (this.selected?.id === conversation.id) this.selected = conversation;
    this.changedDuringLoad?.push(conversation);
    this.placeInList(conversation);
    this.wantContacts([conversation]);
    this.countsSoon();
  }

  // ——— live events ———

  private onFrame(frame: EventFrame): void {
    const data = frame.data ?? {};
    this.notifier.onFrame(frame, this.me.id);
    switch (frame.type) {
      case 'conversation.created':
      case 'conversation.updated':
        if (data.conversation) this.applyConversation(data.conversation);
        break;
      case 'message.created': {
        const message: Message | undefined = data.message;
        if (data.conversation) this.applyConversation(data.conversation);
        if (message) {
          this.previews[message.conversation_id] = message.body;
          this.live.stopped(message.conversation_id, {
            contact: message.sender_type === 'contact',
            agentId: message.sender_type === 'agent' ? message.sender_id : null,
          });
          if (message.conversation_id === this.selectedId) {
            this.addMessage(message);
            if (message.sender_type === 'contact') this.readSoon();
          }
        }
        break;
      }
      case 'conversation.purged': {
        const id = data.conversation_id;
        this.items = this.items.filter((c) => c.id !== id);
        if (this.selectedId === id) this.closeView(true);
        this.countsSoon();
        break;
      }
      case 'contact.created':
      case 'contact.updated':
        if (data.contact) this.contacts[data.contact.id] = data.contact;
        break;
      case 'typing':
      case 'presence':
        this.live.onFrame(frame);
        break;
    }
  }

  private addMessage(message: Message): void {
    if (this.messages.some((m) => m.id === message.id)) return;
    this.messages.push(message);
    this.messages.sort((a, b) => a.id - b.id);
  }

  /** The agent is looking at the conversation: what arrives is read. */
  private readSoon(): void {
    if (document.visibilityState !== 'visible') return;
    if (this.readTimer) clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => {
      this.readTimer = null;
      const id = this.selectedId;
      if (id && this.selected && this.selected.unread_count > 0) {
        this.api.markRead(id).then((c) => this.applyConversation(c), () => {});
      }
    }, 300);
  }

  // ——— one conversation ———

  async open(id: number, push = true, quiet = false): Promise<void> {
    const switching = id !== this.selectedId;
    this.selectedId = id;
    if (push) this.writeLocation(false, id);
    this.stream.send({ type: 'viewing', conversation_id: id });
    if (switching) {
      this.selected = this.items.find((c) => c.id === id) ?? null;
      this.messages = [];
      this.conversationError = null;
    }
    if (!quiet) this.conversationLoading = true;
    try {
      const [conversation, messages] = await Promise.all([this.api.conversation(id), this.api.messages(id)]);
      if (this.selectedId !== id) return;
      this.selected = conversation;
      const live = this.messages.filter((m) => !messages.some((loaded) => loaded.id === m.id));
      this.messages = [...messages, ...live].sort((a, b) => a.id - b.id);
      this.wantContacts([conversation]);
      if (conversation.unread_count > 0) this.readSoon();
    } catch (error) {
      if (this.selectedId !== id || this.signedOut(error)) return;
      this.conversationError =
        error instanceof ApiError && error.status === 404 ? t('conversation.notFound') : t('conversation.loadFailed');
    } finally {
      if (this.selectedId === id) this.conversationLoading = false;
    }
  }

  closeView(push = true): void {
    this.selectedId = null;
    this.selected = null;
    this.messages = [];
    this.conversationError = null;
    this.stream.send({ type: 'viewing', conversation_id: null });
    if (push) this.writeLocation(false, null);
  }

  /**
   * Sends a reply or a private note; throws so the composer keeps the text.
   * The composer keeps `key` until a send succeeds, so a retry after a lost
   * answer is not posted twice.
   */
  async send(body: string, isPrivate: boolean, key: string): Promise<void> {
    const id = this.selectedId;
    if (!id) return;
    const posted = await this.api.postMessage(id, body, isPrivate, key);
    if (this.selectedId === id) this.addMessage(posted.message);
    this.previews[id] = posted.message.body;
    this.applyConversation(posted.conversation);
  }

  /** Tells the contact and the team this agent types (at most every 2 s) or stopped. */
  typing(on: boolean): void {
    const id = this.selectedId;
    const now = Date.now();
    if (!id || (on && now - this.lastTypingSent < 2000)) return;
    this.lastTypingSent = on ? now : 0;
    this.stream.send({ type: 'typing', conversation_id: id, typing: on });
  }

  /** A folder action; the conversation moves at once. */
  async act(action: FolderAction, minutes?: number): Promise<void> {
    const conversation = this.selected;
    if (!conversation) return;
    try {
      const changed = await this.api.act(conversation.id, action, minutes);
      this.applyConversation(changed);
      this.toast(() => t('action.moved', { number: changed.number, folder: t(`folder.${changed.folder}`) }), 'info');
    } catch (error) {
      if (this.signedOut(error)) return;
      this.toast(() => t('action.failed', { reason: reason(error) }), 'error');
      void this.open(conversation.id, false, true);
    }
  }

  // ——— names ———

  contactName(id: number): string {
    const contact = this.contacts[id];
    return contact?.name || contact?.email || contact?.phone || t('contact.anonymous', { id });
  }

  agentName(id: number | null): string {
    if (id === null) return t('message.agent', { id: '?' });
    if (id === this.me.id) return t('message.you');
    return this.agents[id]?.name ?? t('message.agent', { id });
  }

  // ——— toasts and session ———

  toast(text: () => string, tone: Toast['tone']): void {
    const id = ++this.toastSeq;
    this.toasts = [...this.toasts, { id, text, tone }].slice(-MAX_TOASTS);
    setTimeout(() => this.dismiss(id), tone === 'error' ? 8000 : 4000);
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((toast) => toast.id !== id);
  }

  /** A 401 means the session ended: back to the sign-in screen. */
  private signedOut(error: unknown): boolean {
    if (error instanceof ApiError && error.status === 401) {
      this.stop();
      this.onSignedOut();
      return true;
    }
    return false;
  }

  private async checkSession(): Promise<void> {
    try {
      await this.api.counts(this.scope);
    } catch (error) {
      this.signedOut(error);
    }
  }
}
