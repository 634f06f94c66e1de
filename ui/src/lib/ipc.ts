// The tray app's transport: typed wrappers around the Tauri commands and events (see bindings.ts).
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type {
  AppStatus,
  Article,
  ArticleHit,
  Category,
  ConnectionReport,
  EventPayloads,
  FactItem,
  LocalMessage,
  LocalTicket,
  ReportInput,
  ScreenshotPreview,
} from "./bindings";
import { toIpcError, type Transport } from "./transport";

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (err) {
    throw toIpcError(err);
  }
}

export const ipc: Transport = {
  kind: "app",
  getState: () => call<AppStatus>("get_state"),
  setup: (a: { serverUrl: string; enrollmentCode: string; teacherName: string; room: string; email?: string | null }) =>
    call<AppStatus>("setup", a),
  setEmail: (email: string | null) => call<AppStatus>("set_email", { email }),
  searchHelp: (query: string, category: Category | null) =>
    call<ArticleHit[]>("search_help", { query, category }),
  getArticle: (slug: string) => call<Article>("get_article", { slug }),
  recordDeflection: (slug: string) => call<null>("record_deflection", { slug }),
  getFacts: () => call<FactItem[]>("get_facts"),
  getScreenshot: () => call<ScreenshotPreview | null>("get_screenshot"),
  submitReport: (input: ReportInput) => call<LocalTicket>("submit_report", { input }),
  listTickets: () => call<LocalTicket[]>("list_tickets"),
  getTicket: (clientId: string) => call<LocalTicket>("get_ticket", { clientId }),
  sendMessage: (clientId: string, body: string) => call<LocalMessage>("send_message", { clientId, body }),
  markRead: (clientId: string) => call<null>("mark_read", { clientId }),
  confirmFixed: (clientId: string, fixed: boolean) => call<LocalTicket>("confirm_fixed", { clientId, fixed }),
  rateTicket: (clientId: string, rating: number) => call<LocalTicket>("rate_ticket", { clientId, rating }),
  syncNow: () => call<null>("sync_now"),
  closeWindow: () => call<null>("close_window"),
  uiReady: (view: string) => call<null>("ui_ready", { view }),
  /** Browse the cached knowledge base by category (`null` = every category). */
  listArticles: (category: Category | null) => call<ArticleHit[]>("list_articles", { category }),
  /** DNS, gateway, district server and internet probes (only when the teacher asks). */
  checkConnection: () => call<ConnectionReport>("check_connection"),
  /** "Me too — add my room": count this teacher against an announcement (queued offline). */
  meToo: (a: { announcementId: number; room: string | null }) => call<null>("me_too", a),
  /** The stored manual language override (`null` = follow the OS). */
  getLocale: () => call<string | null>("get_locale"),
  setLocale: (locale: string | null) => call<null>("set_locale", { locale }),
  /** Put plain text on the clipboard. */
  copyText: (text: string) => call<null>("copy_text", { text }),
  on,
};

/**
 * Subscribe to a backend event. Returns a synchronous unsubscribe function so it can be
 * returned from a Svelte effect/onMount; it is safe to call before `listen` resolves.
 */
function on<E extends keyof EventPayloads>(
  event: E,
  handler: (payload: EventPayloads[E]) => void,
): () => void {
  let stopped = false;
  let unlisten: UnlistenFn | null = null;
  listen<EventPayloads[E]>(event, (e) => {
    if (!stopped) handler(e.payload);
  })
    .then((fn) => {
      if (stopped) fn();
      else unlisten = fn;
    })
    .catch(() => {
      /* not running inside Tauri (e.g. plain browser): no events */
    });
  return () => {
    stopped = true;
    if (unlisten) unlisten();
  };
}
