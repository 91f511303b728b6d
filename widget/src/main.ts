// Confab's chat widget. A site installs it with one tag:
//   <script src="https://help.example.com/widget.js" data-inbox="INBOX_TOKEN" async></script>
// and may identify its signed-in users:
//   Confab.identify({ id: 'user-42', name: 'Ana', email: 'ana@example.com', hash: HMAC_FROM_BACKEND });
// Options: data-lang="pt-BR" (else the browser's language), or
// window.confabSettings = { inbox, language, user } before the tag.

import type { User } from './client';
import { pickLanguage } from './texts';
import { Widget } from './ui';

interface Settings {
  inbox?: string;
  language?: string;
  user?: User;
}

interface Api {
  identify(user: User): Promise<void>;
  open(): void;
  close(): void;
  toggle(): void;
  reset(): void;
  setLanguage(language: string): void;
}

declare global {
  interface Window {
    Confab?: Api;
    confabSettings?: Settings;
  }
}

// Only while this file first runs does the browser say which tag loaded it.
const current = document.currentScript as HTMLScriptElement | null;

function boot(): void {
  if (window.Confab) return;
  const script =
    current ??
    document.querySelector<HTMLScriptElement>('script[data-inbox][src*="widget.js"]');
  const settings = window.confabSettings ?? {};
  const inbox = settings.inbox ?? script?.dataset.inbox;
  if (!script || !inbox) {
    console.error('Confab: add data-inbox="INBOX_TOKEN" to the widget.js script tag');
    return;
  }
  const base = new URL('.', script.src).href.replace(/\/$/, '');
  const language = pickLanguage(settings.language ?? script.dataset.lang ?? navigator.language);
  const host = document.createElement('confab-widget');
  document.body.append(host);
  const widget = new Widget(host, base, inbox, language);
  window.Confab = {
    identify: (user) => widget.chat.identify(user),
    open: () => widget.toggle(true),
    close: () => widget.toggle(false),
    toggle: () => widget.toggle(),
    reset: () => widget.chat.reset(),
    setLanguage: (tag) => widget.setLanguage(pickLanguage(tag)),
  };
  const started = settings.user ? widget.chat.identify(settings.user) : Promise.resolve();
  started.finally(() => widget.chat.start());
}

if (document.body) boot();
else addEventListener('DOMContentLoaded', boot);
