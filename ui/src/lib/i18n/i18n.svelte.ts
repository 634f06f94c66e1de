// Message lookup in the active language, plus locale-aware dates and numbers.
// The active locale is reactive state: every `t(...)` in a template re-renders when it changes.
import { en, type Catalogue, type MessageKey } from "./en";
import { es } from "./es";

export type { MessageKey } from "./en";
export type Params = Record<string, string | number>;

export const LOCALES = ["en", "es"] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = "en";

export const catalogues: Record<Locale, Catalogue> = { en, es };

/**
 * `locale`: the language in use. `system`: the one the OS asks for (navigator.language).
 * `override`: the manual choice stored by the app (`null` = follow the OS).
 * `systemTag`: the full BCP 47 tag from the OS ("es-MX"), used for Intl formats when it
 * is the same language as `locale`.
 */
export const i18n = $state<{ locale: Locale; system: Locale; override: Locale | null; systemTag: string }>({
  locale: DEFAULT_LOCALE,
  system: DEFAULT_LOCALE,
  override: null,
  systemTag: DEFAULT_LOCALE,
});

/** Map a BCP 47 tag ("es-MX", "en_US", "ES") to a supported locale, or null. */
export function resolveLocale(tag: string | null | undefined): Locale | null {
  if (!tag) return null;
  const lang = tag.trim().toLowerCase().split(/[-_]/)[0];
  return (LOCALES as readonly string[]).includes(lang) ? (lang as Locale) : null;
}

/** The first supported language among the OS/browser preferences. */
export function detectSystemLocale(
  nav: { language?: string; languages?: readonly string[] } | undefined = typeof navigator !== "undefined" ? navigator : undefined,
): { locale: Locale; tag: string } {
  const tags = [...(nav?.languages ?? []), ...(nav?.language ? [nav.language] : [])];
  for (const tag of tags) {
    const l = resolveLocale(tag);
    if (l) return { locale: l, tag };
  }
  return { locale: DEFAULT_LOCALE, tag: DEFAULT_LOCALE };
}

/** Recompute the active locale from the system language and the override; update <html lang>. */
export function applyLocale(): Locale {
  i18n.locale = i18n.override ?? i18n.system;
  if (typeof document !== "undefined") document.documentElement.lang = i18n.locale;
  return i18n.locale;
}

/** Tag for Intl formatters: the OS's regional tag when it matches the active language. */
export function intlLocale(): string {
  return resolveLocale(i18n.systemTag) === i18n.locale ? i18n.systemTag : i18n.locale;
}

/** Look up a message in the active language and fill `{name}` placeholders. */
export function t(key: MessageKey, params?: Params): string {
  const template: string = catalogues[i18n.locale]?.[key] || en[key] || key;
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (m, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : m,
  );
}

/** Plural helper: `<base>.one` when count is 1, else `<base>.other`; `{count}` is localised. */
export function tn(base: string, count: number, params?: Params): string {
  const key = (count === 1 ? `${base}.one` : `${base}.other`) as MessageKey;
  return t(key, { count: formatNumber(count), ...params });
}

/** True when the catalogue has this key (used for keys built from wire values). */
export function has(key: string): key is MessageKey {
  return Object.prototype.hasOwnProperty.call(en, key);
}

/** A number in the active locale ("1,234" / "1234" / "1.234,5"). */
export function formatNumber(n: number, opts?: Intl.NumberFormatOptions): string {
  try {
    return new Intl.NumberFormat(intlLocale(), opts).format(n);
  } catch {
    return String(n);
  }
}

/** Intl.DateTimeFormat in the active locale. */
export function formatDate(d: Date, opts: Intl.DateTimeFormatOptions): string {
  try {
    return new Intl.DateTimeFormat(intlLocale(), opts).format(d);
  } catch {
    return d.toISOString();
  }
}
