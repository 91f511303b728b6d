// The agent event stream (docs/realtime.md): one WebSocket that reconnects by
// itself and resumes with `since=<last seq>`, so nothing is missed or doubled.

export type ConnectionState = 'connecting' | 'live' | 'reconnecting';

export interface EventFrame {
  /** Null for ephemeral frames (typing, presence), which are never replayed. */
  seq: number | null;
  type: string;
  at: string;
  // The payload's shape depends on `type`; the inbox narrows it.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data: any;
}

export interface StreamHandlers {
  frame(frame: EventFrame): void;
  state(state: ConnectionState): void;
  /** Connected without a position to resume from: re-fetch what is shown. */
  resync(): void;
  /** Several attempts in a row failed (maybe the session ended). */
  failing(): void;
}

const MAX_DELAY_MS = 15_000;
/** Close code meaning "too slow: reconnect with since=N". */
const TOO_SLOW = 4000;

export class EventStream {
  private socket: WebSocket | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  private stopped = false;
  private wasLive = false;
  /** The last sequence number received; the stream resumes after it. */
  lastSeq: number | null = null;

  constructor(
    private readonly url: (since: number | null) => string,
    private readonly handlers: StreamHandlers,
  ) {}

  start(): void {
    this.stopped = false;
    window.addEventListener('online', this.reconnectNow);
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener('online', this.reconnectNow);
    if (this.timer) clearTimeout(this.timer);
    this.socket?.close(1000);
    this.socket = null;
  }

  /** Sends a client frame (typing, viewing, presence) when connected. */
  send(frame: object): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  private readonly reconnectNow = (): void => {
    if (this.stopped || this.socket?.readyState === WebSocket.OPEN) return;
    if (this.timer) clearTimeout(this.timer);
    this.connect();
  };

  private connect(): void {
    this.timer = null;
    this.handlers.state(this.wasLive ? 'reconnecting' : 'connecting');
    const socket = new WebSocket(this.url(this.lastSeq));
    this.socket = socket;
    socket.onopen = () => {
      this.failures = 0;
      this.wasLive = true;
      this.handlers.state('live');
      // Without a position the server starts "now": what happened before
      // this moment comes from a fresh fetch instead.
      if (this.lastSeq === null) this.handlers.resync();
    };
    socket.onmessage = (message) => {
      let frame: EventFrame;
      try {
        frame = JSON.parse(String(message.data));
      } catch {
        return;
      }
      if (frame.seq !== null && frame.seq !== undefined) {
        if (this.lastSeq !== null && frame.seq <= this.lastSeq) return;
        this.lastSeq = frame.seq;
      }
      this.handlers.frame(frame);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      this.handlers.state('reconnecting');
      this.wasLive = true;
      this.failures += 1;
      if (this.failures >= 2) this.handlers.failing();
      const delay =
        event.code === TOO_SLOW || this.failures === 1
          ? 250
          : Math.min(MAX_DELAY_MS, 500 * 2 ** Math.min(this.failures, 6)) * (0.75 + Math.random() / 2);
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }
}
