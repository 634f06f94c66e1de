import { formatDate, t } from "./i18n/i18n.svelte";

/**
 * A short, local, human time in the active language: "10:42 AM" today, otherwise
 * "Mon, Mar 3, 10:42 AM" ("lun, 3 mar, 10:42" in Spanish).
 */
export function formatTime(iso: string | null | undefined, now: Date = new Date()): string {
  if (!iso) return t("time.unknown");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return t("time.unknown");
  const sameDay =
    d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  const time = formatDate(d, { hour: "numeric", minute: "2-digit" });
  if (sameDay) return time;
  const date = formatDate(d, {
    weekday: "short",
    month: "short",
    day: "numeric",
    ...(d.getFullYear() !== now.getFullYear() ? { year: "numeric" } : {}),
  });
  return `${date}, ${time}`;
}

/** Date and time in full, for text a technician will read later ("March 3, 2026, 10:42 AM"). */
export function formatDateTime(d: Date): string {
  return formatDate(d, { dateStyle: "long", timeStyle: "short" });
}
