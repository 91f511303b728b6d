// The inbox's state: the folder and scope shown, the list, the counts, the
// open conversation and its messages, kept current by the event stream.

import {
  AccountApi,
  ApiError,
  FILTER_KEYS,
  FOLDERS,
  INBOX_KINDS,
  listParams,
  SCOPES,
  SORTS,
  type Agent,
  type Contact,
  type ContactPatch,
  type ContactProfile,
  type Conversation,
  type Filters,
  type Folder,
  type FolderAction,
  type FolderCounts,
  type Inbox as InboxInfo,
  type InboxKind,
  type ListQuery,
  type Message,
  type Scope,
  type Session,
  type Sort,
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
  /** Takes the change back (close → reopen, delete → restore, spam → not spam). */
  undo?: () => void;
}

/** The action that takes a folder action back, for the undo toast. */
const UNDO: Partial<Record<FolderAction, FolderAction>> = {
  close: 'reopen',
  delete: 'restore',
  spam: 'not_spam',
};

/** Which composer mode a shortcut asked for, and a counter so asking twice still focuses. */
export interface ComposeRequest {
  mode: 'reply' | 'note';
  seq: number;
}

/** Toasts on screen at once; the oldest goes first. */
const MAX_TOASTS = 3;

/** Where the inbox is, as the address bar says: /inbox/{folder}[/{id}]?scope=…&tag=…&q=…&sort=… */
interface Location extends ListQuery {
  conversationId: number | null;
}

function positiveInt(text: string | null): number | undefined {
  const n = Number(text);
  return text && Number.isInteger(n) && n > 0 ? n : undefined;
}

function isoDate(text: string | null): string | undefined {
  return text && !Number.isNaN(Date.parse(text)) ? text : undefined;
}

/** The filters named in a query string; unknown or malformed values are left out. */
export function readFilters(params: URLSearchParams): Filters {
  const filters: Filters = {};
  const channel = params.get('channel');
  filters.inbox_id = positiveInt(params.get('inbox_id'));
  filters.channel = (INBOX_KINDS as readonly string[]).includes(channel ?? '') ? (channel as InboxKind) : undefined;
  filters.assignee_id = positiveInt(params.get('assignee_id'));
  filters.tag = params.get('tag')?.trim().toLowerCase() || undefined;
  filters.unread = params.get('unread') === 'true' || undefined;
  filters.waiting = params.get('waiting') === 'true' || undefined;
  filters.created_after = isoDate(params.get('created_after'));
  filters.created_before = isoDate(params.get('created_before'));
  filters.activity_after = isoDate(params.get('activity_after'));
  filters.activity_before = isoDate(params.get('activity_before'));
  filters.contact_id = positiveInt(params.get('contact_id'));
  for (const key of FILTER_KEYS) if (filters[key] === undefined) delete filters[key];
  return filters;
}

function readLocation(): Location {
  const parts = window.location.pathname.split('/').filter(Boolean);
  const folder = (FOLDERS as readonly string[]).includes(parts[1] ?? '') ? (parts[1] as Folder) : 'open';
  const id = Number(parts[2]);
  const params = new URLSearchParams(window.location.search);
  const scopeParam = params.get('scope') ?? '';
  const scope = (SCOPES as readonly string[]).includes(scopeParam) ? (scopeParam as Scope) : 'all';
  const sortParam = params.get('sort') ?? '';
  const sort = (SORTS as readonly string[]).includes(sortParam) ? (sortParam as Sort) : 'last_activity';
  return {
    folder,
    scope,
    filters: readFilters(params),
    q: params.get('q') ?? '',
    sort,
    conversationId: Number.isInteger(id) && id > 0 ? id : null,
  };
}

/** The query string of a list (without the folder, which is in the path). */
export function listSearch(query: Omit<ListQuery, 'folder'>): string {
  const text = listParams(query).toString();
  return text ? `?${text}` : '';
}

/** The list's order, as the server sorts it (ties: newer id first, or older for oldest-waiting). */
function comparator(sort: Sort): (a: Conversation, b: Conversation) => number {
  switch (sort) {
    case 'created':
      return (a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id;
    case 'oldest_waiting':
      // Not waiting sorts last, as the server's sentinel does (ISO times compare as text).
      return (a, b) => {
        const x = a.waiting_since ?? '9999';
        const y = b.waiting_since ?? '9999';
        return x < y ? -1 : x > y ? 1 : a.id - b.id;
      };
    default:
      return (a, b) => b.last_activity_at.localeCompare(a.last_activity_at) || b.id - a.id;
  }
}

function sameFilters(a: Filters, b: Filters): boolean {
  return FILTER_KEYS.every((key) => a[key] === b[key]);
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
  filters = $state<Filters>({});
  /** The search the list shows (empty: no search). */
  search = $state('');
  sort = $state<Sort>('last_activity');
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
  inboxes = $state<Record<number, InboxInfo>>({});
  /** The open conversation's contact with their conversations (the contact panel). */
  profile = $state<ContactProfile | null>(null);
  profileFailed = $state(false);
  /** The account's tags (and any seen on loaded conversations): suggestions for the tag editor. */
  knownTags = $state<string[]>([]);
  composeRequest = $state<ComposeRequest>({ mode: 'reply', seq: 0 });
  /** Bumped by the `s` shortcut: the snooze menu opens. */
  snoozeRequest = $state(0);
  connection = $state<ConnectionState>('connecting');
  toasts = $state<Toast[]>([]);

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
    this.filters = here.filters;
    this.search = here.q;
    this.sort = here.sort;
    this.writeLocation(true, here.conversationId);
    window.addEventListener('popstate', this.onPopState);
    document.addEventListener('visibilitychange', this.onVisible);
    this.stream.start();
    void this.loadList();
    void this.loadCounts();
    void this.loadAgents();
    void this.loadInboxes();
    void this.loadTags();
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
    const scopeChanged = here.scope !== this.scope;
    const listChanged =
      here.folder !== this.folder ||
      scopeChanged ||
      here.q !== this.search ||
      here.sort !== this.sort ||
      !sameFilters(here.filters, this.filters);
    this.folder = here.folder;
    this.scope = here.scope;
    this.filters = here.filters;
    this.search = here.q;
    this.sort = here.sort;
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
    const url = path + this.listSearch();
    if (url === window.location.pathname + window.location.search) return;
    if (replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
  }

  // ——— the list ———

  /** The list's query string (scope, filters, search, sort), for links and the address bar. */
  listSearch(): string {
    return listSearch({ scope: this.scope, filters: this.filters, q: this.search, sort: this.sort });
  }

  /** Whether the list shows search results (ranked, across every folder). */
  get searching(): boolean {
    return this.search.trim() !== '';
  }

  /** The number of quick filters set. */
  get filterCount(): number {
    return FILTER_KEYS.filter((key) => this.filters[key] !== undefined).length;
  }

  showFolder(folder: Folder): void {
    // A folder tab ends a search: the list is that folder again.
    if (folder === this.folder && !this.searching) return;
    // One pane at a time on narrow screens: a folder shows its list.
    if (this.selectedId !== null && window.matchMedia('(max-width: 700px)').matches) this.closeView(false);
    this.folder = folder;
    this.search = '';
    this.writeLocation(false);
    void this.loadList();
  }

  /** Searches (across every folder); an empty text ends the search. */
  setSearch(text: string): void {
    if (text.trim() === this.search.trim()) return;
    this.search = text.trim();
    this.writeLocation(false);
    void this.loadList();
  }

  /** Sets (or, with `undefined`, removes) quick filters; the rest stay. */
  setFilters(change: Partial<Filters>): void {
    const next: Filters = { ...this.filters, ...change };
    for (const key of FILTER_KEYS) if (next[key] === undefined || next[key] === false || next[key] === '') delete next[key];
    if (sameFilters(next, this.filters)) return;
    this.filters = next;
    this.writeLocation(false);
    void this.loadList();
  }

  clearFilters(): void {
    if (this.filterCount === 0) return;
    this.filters = {};
    this.writeLocation(false);
    void this.loadList();
  }

  setSort(sort: Sort): void {
    if (sort === this.sort) return;
    this.sort = sort;
    this.writeLocation(false);
    void this.loadList();
  }

  private listQuery(): ListQuery {
    return { folder: this.folder, scope: this.scope, filters: this.filters, q: this.search, sort: this.sort };
  }

  private apiQuery(cursor?: string | null) {
    // Search looks in every folder (`any`): the folder tab is where it returns to.
    const query = this.listQuery();
    return { ...query, folder: (this.searching ? 'any' : query.folder) as Folder, cursor, limit: 50 };
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
      const page = await this.api.conversations(this.apiQuery());
      if (generation !== this.listGeneration) return;
      this.items = page.items;
      this.nextCursor = page.next_cursor;
      for (const conversation of this.changedDuringLoad ?? []) this.placeInList(conversation);
      this.learnTags(page.items);
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
      const page = await this.api.conversations(this.apiQuery(this.nextCursor));
      if (generation !== this.listGeneration) return;
      const known = new Set(this.items.map((c) => c.id));
      this.items = [...this.items, ...page.items.filter((c) => !known.has(c.id))];
      this.nextCursor = page.next_cursor;
      this.learnTags(page.items);
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

  private agentsTimer: ReturnType<typeof setTimeout> | null = null;

  /** Reloads the team's names once, shortly (a burst of frames asks once). */
  private agentsSoon(): void {
    if (this.agentsTimer) return;
    this.agentsTimer = setTimeout(() => {
      void this.loadAgents().finally(() => (this.agentsTimer = null));
    }, 200);
  }

  private async loadAgents(): Promise<void> {
    try {
      const { items } = await this.api.agents();
      for (const agent of items) this.agents[agent.id] = agent;
    } catch {
      // Names fall back to "Agent N".
    }
  }

  private async loadInboxes(): Promise<void> {
    try {
      const { items } = await this.api.inboxes();
      for (const inbox of items) this.inboxes[inbox.id] = inbox;
    } catch {
      // The inbox filter then offers only what the list shows.
    }
  }

  private wantContacts(conversations: Conversation[]): void {
    for (const { contact_id: id } of conversations) this.wantContact(id);
  }

  /**
   * Fetches a contact (for its name in a row or a chip), once. The list asks
   * only for the rows it renders, so paging through thousands of
   * conversations fetches only the contacts the agent actually sees.
   */
  wantContact(id: number): void {
    if (this.contactsWanted.has(id)) return;
    this.contactsWanted.add(id);
    this.api.contact(id).then(
      ({ conversations: _, ...contact }) => (this.contacts[id] = contact),
      () => this.contactsWanted.delete(id),
    );
  }

  /** The account's tags from the server (again after settings renamed some). */
  async loadTags(): Promise<void> {
    try {
      const { items } = await this.api.tags();
      this.knownTags = items.map((tag) => tag.name);
      this.learnTags(this.items);
    } catch {
      // Suggestions come from the loaded conversations only.
    }
  }

  private learnTags(conversations: Conversation[]): void {
    const known = new Set(this.knownTags);
    const before = known.size;
    for (const conversation of conversations) for (const tag of conversation.tags) known.add(tag);
    if (known.size !== before) this.knownTags = [...known].sort();
  }

  /** Whether a conversation belongs in the list shown now (the filters, checked here too). */
  private inView(conversation: Conversation): boolean {
    if (!this.searching && conversation.folder !== this.folder) return false;
    if (this.scope === 'mine' && conversation.assignee_id !== this.me.id) return false;
    if (this.scope === 'unassigned' && conversation.assignee_id !== null) return false;
    const f = this.filters;
    if (f.inbox_id !== undefined && conversation.inbox_id !== f.inbox_id) return false;
    if (f.channel !== undefined && conversation.inbox_kind !== f.channel) return false;
    if (f.assignee_id !== undefined && conversation.assignee_id !== f.assignee_id) return false;
    if (f.tag !== undefined && !conversation.tags.includes(f.tag)) return false;
    if (f.unread && conversation.unread_count === 0) return false;
    if (f.waiting && conversation.waiting_since === null) return false;
    if (f.contact_id !== undefined && conversation.contact_id !== f.contact_id) return false;
    const at = (iso: string) => Date.parse(iso);
    if (f.created_after && at(conversation.created_at) < at(f.created_after)) return false;
    if (f.created_before && at(conversation.created_at) >= at(f.created_before)) return false;
    if (f.activity_after && at(conversation.last_activity_at) < at(f.activity_after)) return false;
    if (f.activity_before && at(conversation.last_activity_at) >= at(f.activity_before)) return false;
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
      // Search results keep their ranked order.
      if (this.searching) return;
    } else {
      // Only the server knows whether new text matches a search.
      if (this.searching) return;
      // Past the loaded page it arrives with "load more" instead.
      const last = this.items.at(-1);
      if (this.nextCursor && last && comparator(this.sort)(conversation, last) > 0) return;
      this.items.push(conversation);
    }
    this.items.sort(comparator(this.sort));
  }

  private applyConversation(conversation: Conversation): void {
    if (this.selected?.id === conversation.id) this.selected = conversation;
    if (this.profile?.id === conversation.contact_id) {
      const others = this.profile.conversations;
      const index = others.findIndex((c) => c.id === conversation.id);
      if (index >= 0) others[index] = conversation;
      else others.unshift(conversation);
    }
    this.changedDuringLoad?.push(conversation);
    this.placeInList(conversation);
    this.wantContacts([conversation]);
    this.learnTags([conversation]);
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
          if (message.sender_type === 'agent' && message.sender_id !== null && !this.agents[message.sender_id]) this.agentsSoon();
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
      case 'message.updated': {
        // An e-mail reply's delivery changed (sent, failed, retried).
        const message: Message | undefined = data.message;
        if (message && message.conversation_id === this.selectedId) this.replaceMessage(message);
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
        if (data.contact) {
          this.contacts[data.contact.id] = data.contact;
          const profile = this.profile;
          if (profile && profile.id === data.contact.id) this.profile = { ...data.contact, conversations: profile.conversations };
        }
        break;
      case 'typing':
      case 'presence':
        this.live.onFrame(frame);
        // A teammate added since this page loaded: learn their name.
        if (typeof data.agent_id === 'number' && !this.agents[data.agent_id]) this.agentsSoon();
        break;
    }
  }

  private addMessage(message: Message): void {
    if (this.messages.some((m) => m.id === message.id)) return;
    this.messages.push(message);
    this.messages.sort((a, b) => a.id - b.id);
  }

  private replaceMessage(message: Message): void {
    const index = this.messages.findIndex((m) => m.id === message.id);
    if (index >= 0) this.messages[index] = message;
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
      if (this.profile && this.profile.id !== this.selected?.contact_id) this.profile = null;
      this.messages = [];
      this.conversationError = null;
    }
    if (!quiet) this.conversationLoading = true;
    try {
      const [conversation, messages] = await Promise.all([this.api.conversation(id), this.api.messages(id)]);
      if (this.selectedId !== id) return;
      this.selected = conversation;
      if (this.profile?.id !== conversation.contact_id) void this.loadProfile(conversation.contact_id);
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
    this.profile = null;
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
  async send(body: string, isPrivate: boolean, key: string, attachmentIds: number[] = []): Promise<void> {
    const id = this.selectedId;
    if (!id) return;
    const posted = await this.api.postMessage(id, body, isPrivate, key, attachmentIds);
    if (this.selectedId === id) this.addMessage(posted.message);
    this.applyConversation(posted.conversation);
  }

  /** Sends a failed e-mail reply again; throws so the caller can say why not. */
  async retryDelivery(message: Message): Promise<void> {
    const updated = await this.api.retryDelivery(message.conversation_id, message.id);
    // The outbox may already have sent it (a live message.updated): never step back to pending.
    const shown = this.messages.find((m) => m.id === updated.id);
    if (shown?.delivery === 'failed') this.replaceMessage(updated);
  }

  /** Tells the contact and the team this agent types (at most every 2 s) or stopped. */
  typing(on: boolean): void {
    const id = this.selectedId;
    const now = Date.now();
    if (!id || (on && now - this.lastTypingSent < 2000)) return;
    this.lastTypingSent = on ? now : 0;
    this.stream.send({ type: 'typing', conversation_id: id, typing: on });
  }

  /**
   * A folder action; the conversation moves at once. Close, delete and spam
   * offer an undo in their toast.
   */
  async act(action: FolderAction, minutes?: number, conversation = this.selected): Promise<void> {
    if (!conversation) return;
    try {
      const changed = await this.api.act(conversation.id, action, minutes);
      this.applyConversation(changed);
      const reverse = UNDO[action];
      this.toast(
        () => t('action.moved', { number: changed.number, folder: t(`folder.${changed.folder}`) }),
        'info',
        reverse ? () => void this.act(reverse, undefined, changed) : undefined,
      );
    } catch (error) {
      if (this.signedOut(error)) return;
      this.toast(() => t('action.failed', { reason: reason(error) }), 'error');
      if (this.selectedId === conversation.id) void this.open(conversation.id, false, true);
    }
  }

  /** Assigns the open conversation to an agent, or unassigns it (null). */
  async assign(agentId: number | null): Promise<void> {
    const conversation = this.selected;
    if (!conversation || conversation.assignee_id === agentId) return;
    try {
      const changed = await this.api.assign(conversation.id, agentId);
      this.applyConversation(changed);
      this.toast(
        () =>
          changed.assignee_id === null
            ? t('assign.unassigned', { number: changed.number })
            : t('assign.assigned', { number: changed.number, name: this.agentName(changed.assignee_id) }),
        'info',
      );
    } catch (error) {
      if (!this.signedOut(error)) this.toast(() => t('action.failed', { reason: reason(error) }), 'error');
    }
  }

  /** Replaces the open conversation's tags; throws so the editor keeps the text. */
  async setTags(tags: string[]): Promise<void> {
    const conversation = this.selected;
    if (!conversation) return;
    const changed = await this.api.setTags(conversation.id, tags);
    this.applyConversation(changed);
  }

  /** Opens the next (1) or previous (-1) conversation of the list. */
  step(direction: 1 | -1): void {
    if (this.items.length === 0) return;
    const index = this.items.findIndex((c) => c.id === this.selectedId);
    const next = index < 0 ? (direction === 1 ? 0 : this.items.length - 1) : index + direction;
    const target = this.items[Math.max(0, Math.min(this.items.length - 1, next))];
    if (target && target.id !== this.selectedId) void this.open(target.id);
    // Near the end of what is loaded: the next page comes.
    if (next >= this.items.length - 5) void this.loadMore();
  }

  /** Asks the composer for a mode and the focus (the `r` and `n` shortcuts). */
  compose(mode: ComposeRequest['mode']): void {
    this.composeRequest = { mode, seq: this.composeRequest.seq + 1 };
  }

  // ——— the contact panel ———

  async loadProfile(contactId: number): Promise<void> {
    this.profileFailed = false;
    try {
      const profile = await this.api.contact(contactId);
      if (this.selected?.contact_id !== contactId) return;
      this.profile = profile;
      const { conversations: _, ...contact } = profile;
      this.contacts[contactId] = contact;
    } catch (error) {
      if (!this.signedOut(error) && this.selected?.contact_id === contactId) this.profileFailed = true;
    }
  }

  /** Saves edited contact fields; throws so the panel shows the error by the field. */
  async updateContact(patch: ContactPatch): Promise<void> {
    const profile = this.profile;
    if (!profile) return;
    const contact = await this.api.updateContact(profile.id, patch);
    this.contacts[contact.id] = contact;
    const current = this.profile;
    if (current?.id === contact.id) this.profile = { ...contact, conversations: current.conversations };
  }

  /** Shows every conversation of the open conversation's contact (the contact filter). */
  filterByContact(contactId: number): void {
    this.setFilters({ contact_id: contactId });
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

  toast(text: () => string, tone: Toast['tone'], undo?: () => void): void {
    const id = ++this.toastSeq;
    this.toasts = [...this.toasts, { id, text, tone, undo }].slice(-MAX_TOASTS);
    // An undo needs time to be noticed and reached.
    setTimeout(() => this.dismiss(id), tone === 'error' || undo ? 8000 : 4000);
  }

  /** Runs a toast's undo once and takes the toast away. */
  undo(toast: Toast): void {
    this.dismiss(toast.id);
    toast.undo?.();
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
