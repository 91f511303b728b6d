// The chosen language, translation and date formatting. `t()` reads the
// reactive locale, so every template that calls it re-renders on a switch.

import { catalogue, LOCALES, type Locale, type MessageKey, type Plural } from './messages';

const STORAGE_KEY = 'confab.locale';

function initialLocale(): Locale {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored && (LOCALES as string[]).includes(stored)) return stored as Locale;
  } catch {
    // Storage may be disabled; fall back to the browser's language.
  }
  const preferred = navigator.languages ?? [navigator.language];
  return preferred.some((tag) => tag.toLowerCase().startsWith('pt')) ? 'pt-BR' : 'en';
}

const state = $state({ locale: initialLocale() });

/** The language the UI speaks now. */
export function locale(): Locale {
  return state.locale;
}

/** Switches the language and remembers it in this browser. */
export function setLocale(next: Locale): void {
  state.locale = next;
  document.documentElement.lang = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Not remembered; the switch still applies to this page.
  }
}

export type Params = Record<string, string | number>;

/** The text of `key` in the current language, with `{name}` placeholders filled. */
export function t(key: MessageKey, params: Params = {}): string {
  const entry = catalogue[state.locale][key] ?? catalogue.en[key];
  const text = typeof entry === 'string' ? entry : pluralForm(entry, Number(params.n ?? 0));
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

const pluralRules = new Map<Locale, Intl.PluralRules>();

function pluralForm(entry: Plural, n: number): string {
  if (n === 0 && entry.zero) return entry.zero;
  let rules = pluralRules.get(state.locale);
  if (!rules) {
    rules = new Intl.PluralRules(state.locale);
    pluralRules.set(state.locale, rules);
  }
  return rules.select(n) === 'one' ? entry.one : entry.other;
}

function sameDay(a: Date, b: Date): boolean {
  return (
    a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate()
  );
}

/** A short time for lists: the hour today, the day and month otherwise. */
export function shortTime(iso: string, now = new Date()): string {
  const date = new Date(iso);
  if (now.getTime() - date.getTime() < 60_000 && now.getTime() >= date.getTime()) return t('time.now');
  const options: Intl.DateTimeFormatOptions = sameDay(date, now)
    ? { hour: 'numeric', minute: '2-digit' }
    : date.getFullYear() === now.getFullYear()
      ? { day: 'numeric', month: 'short' }
      : { day: 'numeric', month: 'short', year: 'numeric' };
  return new Intl.DateTimeFormat(state.locale, options).format(date);
}

/**
 * How long ago, briefly ("now", "5 min", "3 h", "2 d"); older than a week,
 * the date. Units are the locale's (Intl.NumberFormat unit style).
 */
export function relativeTime(iso: string, now = new Date()): string {
  const date = new Date(iso);
  const seconds = (now.getTime() - date.getTime()) / 1000;
  if (seconds < 60) return t('time.now');
  const unit = (value: number, name: 'minute' | 'hour' | 'day') =>
    new Intl.NumberFormat(state.locale, { style: 'unit', unit: name, unitDisplay: 'narrow' }).format(Math.floor(value));
  if (seconds < 3600) return unit(seconds / 60, 'minute');
  if (seconds < 86_400) return unit(seconds / 3600, 'hour');
  if (seconds < 7 * 86_400) return unit(seconds / 86_400, 'day');
  return shortTime(iso, now);
}

/** A calendar date (filter chips). */
export function shortDate(iso: string): string {
  return new Intl.DateTimeFormat(state.locale, { day: 'numeric', month: 'short', year: 'numeric' }).format(new Date(iso));
}

/** A whole number in the locale's digits and grouping. */
export function formatNumber(n: number): string {
  return new Intl.NumberFormat(state.locale).format(n);
}

/** A file size in the locale's digits: "820 B", "48.2 kB", "3.1 MB". */
export function fileSize(bytes: number): string {
  if (bytes < 1000) return `${formatNumber(bytes)} B`;
  const [value, unit] = bytes < 1_000_000 ? [bytes / 1000, 'kilobyte'] : [bytes / 1_000_000, 'megabyte'];
  return new Intl.NumberFormat(state.locale, { style: 'unit', unit, unitDisplay: 'short', maximumFractionDigits: 1 }).format(value);
}

/** Date and time in full, for message headers and tooltips. */
export function fullTime(iso: string): string {
  return new Intl.DateTimeFormat(state.locale, { dateStyle: 'medium', timeStyle: 'short' }).format(
    new Date(iso),
  );
}

/** Time of day only (messages of today), else date and time. */
export function messageTime(iso: string, now = new Date()): string {
  const date = new Date(iso);
  return sameDay(date, now)
    ? new Intl.DateTimeFormat(state.locale, { hour: 'numeric', minute: '2-digit' }).format(date)
    : fullTime(iso);
}
