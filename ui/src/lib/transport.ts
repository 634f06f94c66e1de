// The one interface the views talk to, with two implementations: Tauri IPC in the tray app
// (ipc.ts) and HTTP in the browser, for the district server's web report page (web/http.ts).
import type {
  AppStatus,
  Article,
  ArticleHit,
  Category,
  ConnectionReport,
  EventPayloads,
  FactItem,
  IpcError,
  LocalMessage,
  LocalTicket,
  ReportInput,
  ScreenshotPreview,
} from "./bindings";

export interface Transport {
  /** `app`: the tray app's window; `web`: the report page of the district server. */
  readonly kind: "app" | "web";
  getState(): Promise<AppStatus>;
  setup(a: { serverUrl: string; enrollmentCode: string; teacherName: string; room: string; email?: string | null }): Promise<AppStatus>;
  /** The email the help desk answers to (`null` forgets it); refused when policy sets it. */
  setEmail(email: string | null): Promise<AppStatus>;
  searchHelp(query: string, category: Category | null): Promise<ArticleHit[]>;
  getArticle(slug: string): Promise<Article>;
  recordDeflection(slug: string): Promise<null>;
  getFacts(): Promise<FactItem[]>;
  getScreenshot(): Promise<ScreenshotPreview | null>;
  /** The web page's screenshot, chosen from a file (the app takes its own). */
  chooseScreenshot?(file: File): Promise<ScreenshotPreview>;
  /** The web page's account: end its session on the server. */
  signOut?(): Promise<null>;
  submitReport(input: ReportInput): Promise<LocalTicket>;
  listTickets(): Promise<LocalTicket[]>;
  getTicket(clientId: string): Promise<LocalTicket>;
  sendMessage(clientId: string, body: string): Promise<LocalMessage>;
  markRead(clientId: string): Promise<null>;
  confirmFixed(clientId: string, fixed: boolean): Promise<LocalTicket>;
  rateTicket(clientId: string, rating: number): Promise<LocalTicket>;
  syncNow(): Promise<null>;
  closeWindow(): Promise<null>;
  uiReady(view: string): Promise<null>;
  /** Browse the knowledge base by category (`null` = every category). */
  listArticles(category: Category | null): Promise<ArticleHit[]>;
  /** DNS, gateway, district server and internet probes (only when the teacher asks). */
  checkConnection(): Promise<ConnectionReport>;
  /** "Me too — add my room": count this teacher against an announcement. */
  meToo(a: { announcementId: number; room: string | null }): Promise<null>;
  /** The stored manual language override (`null` = follow the OS). */
  getLocale(): Promise<string | null>;
  setLocale(locale: string | null): Promise<null>;
  /** Put plain text on the clipboard. */
  copyText(text: string): Promise<null>;
  /** Subscribe to an event; returns a synchronous unsubscribe function. */
  on<E extends keyof EventPayloads>(event: E, handler: (payload: EventPayloads[E]) => void): () => void;
}

/** Normalise anything a call rejects with into an IpcError. */
export function toIpcError(err: unknown): IpcError {
  if (err && typeof err === "object" && "code" in err && typeof (err as IpcError).code === "string") {
    const e = err as IpcError;
    return { code: e.code, message: typeof e.message === "string" ? e.message : "" };
  }
  return { code: "unknown", message: err instanceof Error ? err.message : String(err) };
}
