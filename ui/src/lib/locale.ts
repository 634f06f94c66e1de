// Which language the app speaks: the OS language (navigator.language) unless the teacher
// picked one in the app (stored by the shell through get_locale / set_locale).
import { api } from "./api";
import { applyLocale, detectSystemLocale, i18n, resolveLocale, type Locale } from "./i18n/i18n.svelte";

/** Follow the OS at once (no flash of the wrong language), then apply the stored override. */
export async function initLocale(): Promise<void> {
  const sys = detectSystemLocale();
  i18n.system = sys.locale;
  i18n.systemTag = sys.tag;
  applyLocale();
  try {
    i18n.override = resolveLocale(await api.getLocale());
  } catch {
    i18n.override = null;
  }
  applyLocale();
}

/** The teacher's choice: a locale, or null to follow the OS. Throws if it could not be stored. */
export async function chooseLocale(choice: Locale | null): Promise<void> {
  i18n.override = choice;
  applyLocale();
  await api.setLocale(choice);
}

/** Apply the override carried by AppStatus.locale (`undefined`: status not known yet). */
export function followStatusLocale(locale: string | null | undefined): void {
  if (locale === undefined) return;
  const next = resolveLocale(locale);
  if (next !== i18n.override) {
    i18n.override = next;
    applyLocale();
  }
}
