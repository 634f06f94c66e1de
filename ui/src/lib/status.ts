// Plain-words wording for ticket state and for the header's connection status.
import type { AppStatus, LocalTicket } from "./bindings";
import { t, tn } from "./i18n/i18n.svelte";
import { formatTime } from "./format";

type TicketLike = Pick<LocalTicket, "state" | "status" | "number" | "assignee" | "reject_reason">;

/** What a ticket's state means to the teacher, in one line. */
export function ticketStateText(tk: TicketLike): string {
  if (tk.state === "queued") return t("ticketState.queued");
  if (tk.state === "rejected") {
    return tk.reject_reason ? t("ticketState.rejected", { reason: tk.reject_reason }) : t("ticketState.rejectedNoReason");
  }
  switch (tk.status) {
    case "assigned":
      return tk.assignee ? t("ticketState.assigned", { name: tk.assignee }) : t("ticketState.assignedNoName");
    case "in_progress":
      return t("ticketState.in_progress");
    case "waiting_on_teacher":
      return t("ticketState.waiting_on_teacher");
    case "resolved":
      return t("ticketState.resolved");
    case "closed":
      return t("ticketState.closed");
    case "new":
    default:
      return tk.number != null ? t("ticketState.new", { number: tk.number }) : t("ticketState.newNoNumber");
  }
}

/** A coarse tone for styling the state badge. */
export function ticketTone(tk: TicketLike): "waiting" | "problem" | "active" | "attention" | "done" {
  if (tk.state === "queued") return "waiting";
  if (tk.state === "rejected") return "problem";
  if (tk.status === "waiting_on_teacher") return "attention";
  if (tk.status === "resolved" || tk.status === "closed") return "done";
  return "active";
}

export interface HeaderStatus {
  tone: "ok" | "offline" | "paused" | "setup";
  lines: string[];
  canRetry: boolean;
}

/** Honest status for the header. */
export function headerStatus(s: AppStatus): HeaderStatus {
  if (s.paused_reason) {
    const lines = [t("status.paused")];
    if (s.queued_count > 0) lines.push(tn("status.waiting", s.queued_count));
    return { tone: "paused", lines, canRetry: false };
  }
  if (!s.enrolled) {
    const lines = [t("status.notEnrolled")];
    if (s.queued_count > 0) lines.push(tn("status.waiting", s.queued_count));
    return { tone: "setup", lines, canRetry: false };
  }
  const lines: string[] = [];
  if (!s.online) {
    lines.push(s.offline_since ? t("status.offlineSince", { time: formatTime(s.offline_since) }) : t("status.offline"));
  } else {
    lines.push(t("status.online"));
  }
  if (s.queued_count > 0) lines.push(tn("status.waiting", s.queued_count));
  return { tone: s.online ? "ok" : "offline", lines, canRetry: !s.online || s.queued_count > 0 };
}
