// Desktop notifications and a sound for what needs this agent: new
// conversations and contact messages that are theirs or unassigned. A
// per-agent setting (kept in this browser under the agent's id), off until
// the agent turns it on (the browser asks for permission then).

import type { Conversation, Message } from './api';
import type { EventFrame } from './stream';
import { t } from './i18n.svelte';

export interface NotifySettings {
  desktop: boolean;
  sound: boolean;
}

export class Notifier {
  settings = $state<NotifySettings>({ desktop: false, sound: false });
  /** What the last notification said (for the UI and tests). */
  last = $state<string | null>(null);
  private readonly key: string;
  /** When each conversation was last announced: its first message is not announced again. */
  private announced = new Map<number, number>();

  constructor(
    agentId: number,
    private readonly contactName: (id: number) => string,
    /** Whether the agent is looking at this conversation right now. */
    private readonly watching: (conversationId: number) => boolean,
  ) {
    this.key = `confab.notify.${agentId}`;
    try {
      const saved = localStorage.getItem(this.key);
      if (saved) this.settings = { ...this.settings, ...JSON.parse(saved) };
    } catch {
      // Storage disabled: defaults.
    }
  }

  async setDesktop(on: boolean): Promise<void> {
    if (on && 'Notification' in window && Notification.permission !== 'granted') {
      on = (await Notification.requestPermission()) === 'granted';
    }
    this.settings.desktop = on;
    this.save();
  }

  setSound(on: boolean): void {
    this.settings.sound = on;
    this.save();
  }

  private save(): void {
    try {
      localStorage.setItem(this.key, JSON.stringify(this.settings));
    } catch {
      // Not remembered.
    }
  }

  onFrame(frame: EventFrame, me: number): void {
    if (frame.seq === null) return;
    const conversation: Conversation | undefined = frame.data?.conversation;
    if (!conversation || (conversation.assignee_id !== null && conversation.assignee_id !== me)) return;
    if (conversation.folder === 'spam' || conversation.folder === 'deleted') return;
    let text: string | null = null;
    if (frame.type === 'conversation.created') {
      text = t('notify.newConversation', { name: this.contactName(conversation.contact_id) });
    } else if (frame.type === 'message.created') {
      const message: Message | undefined = frame.data.message;
      if (message?.sender_type !== 'contact') return;
      if (this.watching(conversation.id) && document.visibilityState === 'visible') return;
      if (Date.now() - (this.announced.get(conversation.id) ?? 0) < 3000) return;
      text = `${this.contactName(conversation.contact_id)}: ${message.body.slice(0, 140)}`;
    }
    if (text) this.notify(text, conversation.id);
  }

  private notify(text: string, conversationId: number): void {
    if (!this.settings.desktop && !this.settings.sound) return;
    this.announced.set(conversationId, Date.now());
    this.last = text;
    if (this.settings.desktop && 'Notification' in window && Notification.permission === 'granted') {
      try {
        const note = new Notification(t('app.name'), { body: text, tag: `conversation-${conversationId}` });
        note.onclick = () => {
          window.focus();
          note.close();
        };
      } catch {
        // Some browsers only notify from a service worker: the sound still plays.
      }
    }
    if (this.settings.sound) chime();
  }
}

function chime(): void {
  try {
    const audio = new AudioContext();
    const gain = audio.createGain();
    gain.gain.setValueAtTime(0.06, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.4);
    gain.connect(audio.destination);
    for (const [frequency, start] of [[660, 0], [880, 0.12]] as const) {
      const tone = audio.createOscillator();
      tone.frequency.value = frequency;
      tone.connect(gain);
      tone.start(audio.currentTime + start);
      tone.stop(audio.currentTime + start + 0.25);
    }
  } catch {
    // No audio until the agent interacted with the page.
  }
}
