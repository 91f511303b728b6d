// The launcher and the chat window, drawn into a shadow root so the
// host page and the widget never touch each other's styles.

import { Chat, type Message } from './client';
import { css } from './styles';
import { fill, type Texts, textsFor } from './texts';

const BUBBLE =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 3C6.5 3 2 6.9 2 11.7c0 2.4 1.1 4.6 3 6.2L4 22l4.6-2.4c1.1.3 2.2.5 3.4.5 5.5 0 10-3.9 10-8.7S17.5 3 12 3z"/></svg>';

const CLIP =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z"/></svg>';
const BELL =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 22a2 2 0 0 0 2-2h-4a2 2 0 0 0 2 2zm6-6V11a6 6 0 0 0-5-5.9V4a1 1 0 0 0-2 0v1.1A6 6 0 0 0 6 11v5l-2 2v1h16v-1z"/></svg>';
const MUTED =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 22a2 2 0 0 0 2-2h-4a2 2 0 0 0 2 2zm6-6V11a6 6 0 0 0-5-5.9V4a1 1 0 0 0-2 0v1.1c-.7.1-1.3.4-1.9.8L18 14.8zM3.3 3.3 2 4.6l4.3 4.3C6.1 9.6 6 10.3 6 11v5l-2 2v1h13.4l2 2 1.3-1.3z"/></svg>';

type Attrs = Record<string, string | boolean | undefined>;

/** A DOM element; text children are always text nodes (never parsed as HTML). */
function h(tag: string, attrs: Attrs = {}, ...children: (Node | string | null | false)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === undefined) continue;
    el.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) if (child) el.append(child);
  return el;
}

/** Text with its web links made clickable. */
function linkified(text: string): Node[] {
  const parts: Node[] = [];
  let last = 0;
  for (const match of text.matchAll(/https?:\/\/[^\s<>"]+[^\s<>".,;:!?)]/g)) {
    parts.push(document.createTextNode(text.slice(last, match.index)));
    parts.push(h('a', { href: match[0], target: '_blank', rel: 'noopener noreferrer nofollow' }, match[0]));
    last = match.index! + match[0].length;
  }
  parts.push(document.createTextNode(text.slice(last)));
  return parts;
}

/**
 * An agent's reply as the server rendered it from Markdown (raw HTML
 * escaped, only http(s) and mailto links there); links open a new tab.
 */
function rendered(html: string): HTMLElement {
  const box = h('div', { class: 'md' });
  box.innerHTML = html;
  for (const link of box.querySelectorAll('a')) {
    link.target = '_blank';
    link.rel = 'noopener noreferrer nofollow';
  }
  return box;
}

/** A round avatar with a person's initials. */
function avatar(name: string): HTMLElement {
  const initials = name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0]!.toUpperCase())
    .join('');
  return h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials || '?');
}

/** Black or white, whichever reads better on a `#rrggbb` background (WCAG luminance). */
function textOn(color: string): string {
  const channels = [1, 3, 5].map((i) => {
    const c = parseInt(color.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const luminance = 0.2126 * channels[0]! + 0.7152 * channels[1]! + 0.0722 * channels[2]!;
  return (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) ? '#111' : '#fff';
}

function beep(): void {
  try {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.08, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.25);
  } catch {
    // No audio before the visitor interacted with the page: stay silent.
  }
}

export class Widget {
  readonly chat: Chat;
  private readonly root: HTMLElement;
  private readonly launcher: HTMLElement;
  private readonly badge: HTMLElement;
  private readonly panel: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly team: HTMLElement;
  private readonly status: HTMLElement;
  private readonly soundButton: HTMLElement;
  private readonly closeButton: HTMLElement;
  private readonly log: HTMLElement;
  private readonly notice: HTMLElement;
  private readonly preChat: HTMLFormElement;
  private readonly composer: HTMLFormElement;
  private readonly input: HTMLTextAreaElement;
  private readonly fileInput: HTMLInputElement;
  private readonly time: Intl.DateTimeFormat;
  private emailSaved = false;
  isOpen = false;

  constructor(host: HTMLElement, base: string, inbox: string, private language: string) {
    this.time = new Intl.DateTimeFormat(language, { hour: 'numeric', minute: '2-digit' });
    const shadow = host.attachShadow({ mode: 'open' });
    shadow.append(h('style', {}, css));
    this.chat = new Chat(base, inbox, () => this.render(), (message) => this.agentMessage(message));

    this.badge = h('span', { class: 'badge', hidden: true });
    this.launcher = h('button', { class: 'launcher', type: 'button', 'aria-expanded': 'false' });
    this.launcher.innerHTML = BUBBLE;
    this.launcher.append(this.badge);
    this.launcher.onclick = () => this.toggle();

    this.heading = h('strong');
    this.team = h('span', { class: 'team' });
    this.status = h('small');
    this.soundButton = h('button', { type: 'button', class: 'sound' });
    this.soundButton.onclick = () => {
      this.chat.saved.sound = !this.chat.saved.sound;
      this.chat.save();
      this.render();
    };
    const closeButton = h('button', { type: 'button', class: 'x' }, '×');
    this.closeButton = closeButton;
    closeButton.onclick = () => this.toggle(false);
    this.log = h('div', { class: 'log', role: 'log', 'aria-live': 'polite' });
    this.notice = h('div', { class: 'notice', hidden: true });
    this.preChat = h('form', { class: 'prechat', hidden: true }) as HTMLFormElement;
    // The server's limit for a message body (MAX_BODY_CHARS): longer is refused.
    this.input = h('textarea', { rows: '1', name: 'message', maxlength: '65536' }) as HTMLTextAreaElement;
    this.fileInput = h('input', { type: 'file', class: 'sr', tabindex: '-1', 'aria-hidden': 'true' }) as HTMLInputElement;
    const attach = h('button', { type: 'button', class: 'attach' });
    attach.innerHTML = CLIP;
    attach.onclick = () => this.fileInput.click();
    this.fileInput.onchange = () => this.sendFile();
    this.composer = h(
      'form',
      { class: 'composer' },
      attach,
      this.fileInput,
      this.input,
      h('button', { type: 'submit', class: 'primary send' }),
    ) as HTMLFormElement;
    this.composer.onsubmit = (event) => {
      event.preventDefault();
      this.sendTyped();
    };
    this.input.onkeydown = (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.sendTyped();
      }
    };
    this.input.oninput = () => {
      this.input.style.height = 'auto';
      this.input.style.height = `${this.input.scrollHeight}px`;
      this.chat.typing(this.input.value.trim() !== '');
    };
    this.panel = h(
      'section',
      { class: 'panel', role: 'dialog', hidden: true },
      h('header', {}, this.team, h('div', { class: 'who' }, this.heading, this.status), this.soundButton, closeButton),
      this.log,
      this.notice,
      this.preChat,
      this.composer,
    );
    this.root = h('div', { class: 'root' }, this.panel, this.launcher);
    shadow.append(this.root);
    this.render();
  }

  setLanguage(language: string): void {
    this.language = language;
    this.render();
  }

  toggle(open = !this.isOpen): void {
    this.isOpen = open;
    if (open) {
      this.chat.saved.unread = 0;
      this.chat.save();
    }
    this.render();
    if (open) this.input.focus();
    else this.launcher.focus();
  }

  private agentMessage(message: Message): void {
    if (!this.isOpen || document.hidden) {
      this.chat.saved.unread += 1;
      this.chat.save();
    }
    if (this.chat.saved.sound && message.sender_type === 'agent') beep();
  }

  private sendTyped(): void {
    const body = this.input.value.trim();
    if (!body) return;
    this.input.value = '';
    this.input.style.height = 'auto';
    this.chat.send(body);
  }

  private async sendFile(): Promise<void> {
    const file = this.fileInput.files?.[0];
    this.fileInput.value = '';
    if (!file) return;
    try {
      const uploaded = await this.chat.upload(file);
      this.chat.send(this.input.value.trim(), uploaded);
      this.input.value = '';
    } catch {
      this.chat.problem = 'error';
      this.render();
    }
  }

  private render(): void {
    const { chat } = this;
    const face = chat.face;
    const t = textsFor(this.language, face?.widget.texts);
    const accent = face?.widget.color ?? '#1f6feb';
    this.root.style.setProperty('--accent', accent);
    this.root.style.setProperty('--on-accent', textOn(accent));
    this.root.classList.toggle('left', face?.widget.position === 'left');
    this.root.hidden = !face;
    this.panel.hidden = !this.isOpen;
    // On a phone the open panel fills the screen: the launcher would sit on
    // its Send button (the panel's own × closes it there).
    this.root.classList.toggle('open', this.isOpen);
    this.panel.setAttribute('aria-label', t.title);
    this.launcher.setAttribute('aria-label', this.isOpen ? t.close : t.open);
    this.launcher.setAttribute('aria-expanded', String(this.isOpen));
    const unread = chat.saved.unread;
    this.badge.hidden = unread === 0;
    this.badge.textContent = String(unread);
    this.badge.setAttribute('aria-label', fill(t.unread, { n: unread }));
    this.heading.textContent = t.title;
    this.team.replaceChildren(...(face?.team ?? []).slice(0, 3).map((member) => avatar(member.name)));
    this.closeButton.setAttribute('aria-label', t.close);
    const online = face?.online ?? false;
    this.status.replaceChildren(h('i', { class: online ? 'dot on' : 'dot' }), online ? t.subtitle : t.away);
    this.soundButton.innerHTML = chat.saved.sound ? BELL : MUTED;
    this.soundButton.setAttribute('aria-label', chat.saved.sound ? t.soundOn : t.soundOff);
    this.soundButton.setAttribute('aria-pressed', String(chat.saved.sound));
    this.panel.querySelector('.attach')!.setAttribute('aria-label', t.attach);
    this.fileInput.setAttribute('aria-label', t.attach);
    this.composer.querySelector('.send')!.textContent = t.send;
    this.input.placeholder = t.placeholder;
    this.input.setAttribute('aria-label', t.placeholder);

    this.renderLog(t);
    this.renderNotice(t, online);
    this.renderPreChat(t);
  }

  private renderLog(t: Texts): void {
    const { chat } = this;
    const atBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
    const items: Node[] = [h('div', { class: 'msg agent' }, t.greeting)];
    for (const message of chat.messages) {
      const by = message.sender_type === 'agent' ? chat.agentName(message.sender_id) || t.team : '';
      const files = (message.attachments ?? []).map((file) => {
        const url = chat.attachmentUrl(file.id);
        return file.content_type.startsWith('image/')
          ? h('a', { href: url, target: '_blank', rel: 'noopener' }, h('img', { src: url, alt: file.filename }))
          : h('a', { href: url, target: '_blank', rel: 'noopener', class: 'file' }, file.filename);
      });
      items.push(
        h(
          'div',
          { class: `msg ${message.sender_type}`, 'data-id': String(message.id) },
          by && h('span', { class: 'by' }, avatar(by), by),
          ...(message.body_html ? [rendered(message.body_html)] : linkified(message.body)),
          ...files,
          h('time', { datetime: message.created_at }, this.time.format(new Date(message.created_at))),
        ),
      );
    }
    for (const queued of chat.saved.queue) {
      const state = queued.failed ? t.failed : navigator.onLine ? t.sending : t.queued;
      let remove: HTMLElement | null = null;
      if (queued.failed) {
        remove = h('button', { type: 'button', class: 'remove' }, t.remove);
        remove.onclick = () => chat.discard(queued.key);
      }
      items.push(
        h(
          'div',
          { class: `msg contact ${queued.failed ? 'failed' : 'pending'}` },
          queued.body,
          queued.attachment ? h('span', { class: 'file' }, queued.attachment.filename) : null,
          h('span', { class: 'state' }, state, remove),
        ),
      );
    }
    if (chat.typingAgent !== null) {
      items.push(h('div', { class: 'typing' }, fill(t.typing, { name: chat.agentName(chat.typingAgent) || t.team })));
    }
    this.log.replaceChildren(...items);
    if (atBottom || chat.saved.queue.length) this.log.scrollTop = this.log.scrollHeight;
  }

  private renderNotice(t: Texts, online: boolean): void {
    const { chat } = this;
    const parts: Node[] = [];
    if (chat.problem === 'identity') parts.push(document.createTextNode(t.identityNeeded));
    else if (chat.problem === 'error') parts.push(document.createTextNode(t.error));
    else if (chat.saved.queue.some((q) => q.failed)) parts.push(document.createTextNode(t.refused));
    else if (chat.state === 'closed') parts.push(document.createTextNode(t.closed));
    else if (!online) parts.push(document.createTextNode(t.offline));
    const wroteSomething = chat.messages.some((m) => m.sender_type === 'contact');
    if (this.emailSaved) {
      parts.push(h('div', {}, t.saved));
    } else if (wroteSomething && !chat.saved.email) {
      const email = h('input', { type: 'email', name: 'email', autocomplete: 'email', 'aria-label': t.email, placeholder: 'ana@example.com' }) as HTMLInputElement;
      const form = h('form', {}, email, h('button', { type: 'submit', class: 'primary' }, t.save));
      form.onsubmit = async (event) => {
        event.preventDefault();
        try {
          await chat.leaveEmail(email.value.trim());
          this.emailSaved = true;
        } catch {
          email.setCustomValidity(t.badEmail);
          email.reportValidity();
          return;
        }
        this.render();
      };
      parts.push(h('div', {}, t.askEmail, form));
    }
    // Keep a form being typed into: re-render the notice only when it has none in use.
    if (this.notice.contains(this.notice.ownerDocument.activeElement) || this.notice.querySelector('input:focus')) return;
    this.notice.hidden = parts.length === 0;
    this.notice.replaceChildren(...parts);
  }

  private renderPreChat(t: Texts): void {
    const { chat } = this;
    const mode = chat.face?.widget.pre_chat ?? 'off';
    const wanted = mode !== 'off' && !chat.saved.token && !chat.saved.preChatDone && !chat.problem;
    this.composer.hidden = wanted;
    if (!wanted) {
      this.preChat.hidden = true;
      return;
    }
    if (!this.preChat.hidden) return;
    const required = mode === 'required';
    const name = h('input', { name: 'name', autocomplete: 'name', required }) as HTMLInputElement;
    const email = h('input', { name: 'email', type: 'email', autocomplete: 'email', required }) as HTMLInputElement;
    const skip = required ? null : h('button', { type: 'button', class: 'secondary' }, t.skip);
    if (skip) skip.onclick = () => chat.introduce('', '');
    this.preChat.replaceChildren(
      h('p', {}, t.preChatIntro),
      h('label', {}, t.name, name),
      h('label', {}, t.email, email),
      h('div', { class: 'row' }, skip, h('button', { type: 'submit', class: 'primary' }, t.start)),
    );
    this.preChat.onsubmit = async (event) => {
      event.preventDefault();
      try {
        await chat.introduce(name.value.trim(), email.value.trim());
      } catch {
        chat.problem = 'error';
        this.render();
      }
    };
    this.preChat.hidden = false;
  }
}
