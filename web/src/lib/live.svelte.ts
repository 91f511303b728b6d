// What is happening right now, from the stream's ephemeral frames: who is
// typing in which conversation (contacts and agents), and each agent's
// status and the conversation they are looking at. Never logged, never
// replayed: a typing mark fades by itself if its "stopped" frame is lost.

import type { EventFrame } from './stream';

export type Status = 'online' | 'away' | 'offline';

export interface AgentPresence {
  status: Status;
  viewing: number | null;
}

/** Someone typing in a conversation: the contact, or an agent by id. */
export interface Typist {
  contact: boolean;
  agentId: number | null;
}

/** A typing mark without news for this long is dropped. */
const TYPING_FADES_MS = 6_000;

export class Live {
  /** Agents by id, as the server last told. */
  presence = $state<Record<number, AgentPresence>>({});
  /** Conversation id → who types there now. */
  typing = $state<Record<number, Typist[]>>({});
  private timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly me: number) {}

  onFrame(frame: EventFrame): void {
    const data = frame.data ?? {};
    if (frame.type === 'presence' && typeof data.agent_id === 'number') {
      this.presence[data.agent_id] = { status: data.status, viewing: data.viewing ?? null };
    } else if (frame.type === 'typing' && typeof data.conversation_id === 'number') {
      const typist: Typist =
        typeof data.agent_id === 'number' ? { contact: false, agentId: data.agent_id } : { contact: true, agentId: null };
      if (typist.agentId === this.me) return;
      this.mark(data.conversation_id, typist, data.typing === true);
    }
  }

  /** Someone who wrote stops typing (their message arrived). */
  stopped(conversationId: number, typist: Typist): void {
    this.mark(conversationId, typist, false);
  }

  /** Other agents looking at a conversation now. */
  viewers(conversationId: number): number[] {
    return Object.entries(this.presence)
      .filter(([id, p]) => Number(id) !== this.me && p.viewing === conversationId && p.status !== 'offline')
      .map(([id]) => Number(id));
  }

  private mark(conversationId: number, typist: Typist, on: boolean): void {
    const key = `${conversationId}:${typist.contact ? 'c' : typist.agentId}`;
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    const others = (this.typing[conversationId] ?? []).filter(
      (t) => t.contact !== typist.contact || t.agentId !== typist.agentId,
    );
    this.typing[conversationId] = on ? [...others, typist] : others;
    if (on) this.timers.set(key, setTimeout(() => this.mark(conversationId, typist, false), TYPING_FADES_MS));
  }
}
