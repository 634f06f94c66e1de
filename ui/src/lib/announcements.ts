import type { Announcement, AppStatus, Category } from "./bindings";

const norm = (s: string | null | undefined) => (s ?? "").trim().toLowerCase();

/** Active now: started, and not yet ended. Unparseable dates do not hide an announcement. */
export function isActive(a: Announcement, now: Date = new Date()): boolean {
  const start = Date.parse(a.starts_at);
  if (!Number.isNaN(start) && start > now.getTime()) return false;
  if (a.ends_at) {
    const end = Date.parse(a.ends_at);
    if (!Number.isNaN(end) && end <= now.getTime()) return false;
  }
  return true;
}

/**
 * Announcements that concern this teacher: active, for their school and building (an
 * announcement that names none is for everyone; one that names a school the computer does not
 * know is not shown), and for the chosen category when the announcement names one.
 * Outages come first.
 */
export function matchingAnnouncements(
  status: Pick<AppStatus, "announcements" | "school" | "building"> | null | undefined,
  category: Category | null,
  now: Date = new Date(),
): Announcement[] {
  if (!status) return [];
  return (status.announcements ?? [])
    .filter((a) => isActive(a, now))
    .filter((a) => !a.school || norm(a.school) === norm(status.school))
    .filter((a) => !a.building || norm(a.building) === norm(status.building))
    .filter((a) => a.category == null || a.category === category)
    .sort((x, y) => (x.kind === y.kind ? 0 : x.kind === "outage" ? -1 : 1));
}
