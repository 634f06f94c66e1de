import { t } from "./i18n/en";

/** A short, local, human time: "10:42 AM" today, otherwise "Mon, Mar 3, 10:42 AM". */
export function formatTime(iso: string | null | undefined, now: Date = new Date()): string {
  if (!iso) return t("time.unknown");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return t("time.unknown");
  const sameDay =
    d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  const time = d.toLocaleTimeString(undefined, { hour: "numeric", minute: "2-digit" });
  if (sameDay) return time;
  const date = d.toLocaleDateString(undefined, {
    weekday: "short",
    month: "short",
    day: "numeric",
    ...(d.getFullYear() !== now.getFullYear() ? { year: "numeric" } : {}),
  });
  return `${date}, ${time}`;
}
