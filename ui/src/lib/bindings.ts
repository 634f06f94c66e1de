// IPC types shared with the Tauri shell.
// Hand-written for now; `cargo xtask codegen` will later generate this exact file
// from the Rust types. Keep it to type declarations only, with these names.

export type Category =
  | "display"
  | "sound"
  | "printer"
  | "wifi"
  | "sign-in"
  | "app"
  | "computer"
  | "other";

export type Urgency = "now" | "soon" | "whenever";

export type Scope = "me" | "room" | "building" | "district";

export type TicketStatus =
  | "new"
  | "assigned"
  | "in_progress"
  | "waiting_on_teacher"
  | "resolved"
  | "closed";

export interface IpcError {
  code: string;
  message: string;
}

export interface Announcement {
  id: number;
  kind: "outage" | "notice";
  title: string;
  message: string;
  school?: string | null;
  building?: string | null;
  category?: Category | null;
  starts_at: string;
  ends_at?: string | null;
}

export interface AppStatus {
  enrolled: boolean;
  server_url: string | null;
  online: boolean;
  /** RFC 3339 */
  offline_since: string | null;
  queued_count: number;
  unread_count: number;
  paused_reason: string | null;
  teacher_name: string | null;
  room: string | null;
  school: string | null;
  building: string | null;
  announcements: Announcement[];
}

export interface ArticleHit {
  slug: string;
  title: string;
  snippet: string;
  categories: Category[];
}

export interface Article {
  slug: string;
  title: string;
  /** Markdown */
  body: string;
  categories: Category[];
  keywords: string[];
  published: boolean;
  version: number;
}

export interface FactItem {
  key: string;
  label: string;
  value: string;
}

export interface ScreenshotPreview {
  png_base64: string;
  width: number;
  height: number;
}

export interface SelfHelpAttempt {
  article_slug: string;
  outcome: "still_broken" | "shown";
}

export interface ReportInput {
  category: Category;
  summary: string;
  details: string | null;
  urgency: Urgency;
  scope: Scope;
  room: string | null;
  tried: SelfHelpAttempt[];
  omit_facts: string[];
  include_screenshot: boolean;
  announcement_id: number | null;
}

export interface LocalMessage {
  id: string;
  author: "teacher" | "technician";
  author_name: string | null;
  body: string;
  at: string;
  state: "queued" | "sent" | "rejected" | "received";
}

export interface LocalTicket {
  client_id: string;
  state: "queued" | "sent" | "rejected";
  number: number | null;
  status: TicketStatus | null;
  category: Category;
  summary: string;
  details: string | null;
  created_at: string;
  assignee: string | null;
  unread: boolean;
  reject_reason: string | null;
  messages: LocalMessage[];
  fixed: boolean | null;
  rating: number | null;
}

/** Event names and their payloads. */
export interface EventPayloads {
  "tickets-changed": null;
  "status-changed": AppStatus;
  "ticket-updated": LocalTicket;
}
