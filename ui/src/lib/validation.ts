import { TEXT_LIMITS, type Category, type TextField } from "./bindings";
import { formatNumber, t } from "./i18n/i18n.svelte";

/**
 * The length of `s` as the agent and the server count it: Unicode scalar values (code
 * points), not UTF-16 units, so an emoji counts as one character.
 */
export function charCount(s: string): number {
  return [...s].length;
}

/** `s` is longer than `field` accepts (after trimming), by the limits generated from Rust. */
export function tooLong(field: TextField, s: string): boolean {
  return charCount(s.trim()) > TEXT_LIMITS[field].maxChars;
}

function limit(field: TextField): string {
  return formatNumber(TEXT_LIMITS[field].maxChars);
}

export interface ReportDraft {
  category: Category | null;
  summary: string;
  details: string;
  room: string;
}

export type ReportField = "category" | "summary" | "details" | "room";
/** Errors keyed by field, in the order the fields appear on screen. */
export type FieldErrors = Partial<Record<ReportField, string>>;
export const FIELD_ORDER: ReportField[] = ["category", "summary", "details", "room"];

export function validateReport(d: ReportDraft): FieldErrors {
  const errors: FieldErrors = {};
  if (!d.category) errors.category = t("error.category.required");
  const summary = d.summary.trim();
  if (summary.length === 0) errors.summary = t("error.summary.required");
  else if (tooLong("summary", summary))
    errors.summary = t("error.summary.tooLong", { max: limit("summary"), count: formatNumber(charCount(summary)) });
  if (tooLong("details", d.details)) errors.details = t("error.details.tooLong", { max: limit("details") });
  if (tooLong("room", d.room)) errors.room = t("error.room.tooLong", { max: limit("room") });
  return errors;
}

/** The error to show for a reply, or `null` when it can be sent. */
export function validateMessage(body: string): string | null {
  if (!body.trim()) return t("ticket.reply.required");
  if (tooLong("message", body)) return t("ticket.reply.tooLong", { max: limit("message") });
  return null;
}

export function firstErrorField(errors: FieldErrors): ReportField | null {
  return FIELD_ORDER.find((f) => errors[f]) ?? null;
}

export interface SetupDraft {
  serverUrl: string;
  enrollmentCode: string;
  teacherName: string;
  room: string;
  /** Optional; the agent checks it (`invalid_email`). */
  email: string;
}
export type SetupField = keyof SetupDraft;
export type SetupErrors = Partial<Record<SetupField, string>>;
export const SETUP_FIELD_ORDER: SetupField[] = ["serverUrl", "enrollmentCode", "teacherName", "room", "email"];

export function validateSetup(d: SetupDraft): SetupErrors {
  const errors: SetupErrors = {};
  const url = d.serverUrl.trim();
  if (!url) errors.serverUrl = t("setup.error.serverRequired");
  else {
    let ok = false;
    try {
      const u = new URL(url);
      ok = (u.protocol === "https:" || u.protocol === "http:") && u.hostname.length > 0;
    } catch {
      ok = false;
    }
    if (!ok) errors.serverUrl = t("setup.error.serverInvalid");
  }
  if (!d.enrollmentCode.trim()) errors.enrollmentCode = t("setup.error.codeRequired");
  if (!d.teacherName.trim()) errors.teacherName = t("setup.error.nameRequired");
  return errors;
}
