import type { Category } from "./bindings";
import { t } from "./i18n/i18n.svelte";

export const SUMMARY_MAX = 200;
export const DETAILS_MAX = 5000;
export const ROOM_MAX = 100;

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
  else if (summary.length > SUMMARY_MAX)
    errors.summary = t("error.summary.tooLong", { max: SUMMARY_MAX, count: summary.length });
  if (d.details.trim().length > DETAILS_MAX) errors.details = t("error.details.tooLong", { max: DETAILS_MAX });
  if (d.room.trim().length > ROOM_MAX) errors.room = t("error.room.tooLong", { max: ROOM_MAX });
  return errors;
}

export function firstErrorField(errors: FieldErrors): ReportField | null {
  return FIELD_ORDER.find((f) => errors[f]) ?? null;
}

export interface SetupDraft {
  serverUrl: string;
  enrollmentCode: string;
  teacherName: string;
  room: string;
}
export type SetupField = keyof SetupDraft;
export type SetupErrors = Partial<Record<SetupField, string>>;
export const SETUP_FIELD_ORDER: SetupField[] = ["serverUrl", "enrollmentCode", "teacherName", "room"];

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
