// The web report page's transport: the same calls as the tray app's IPC, over HTTP to the
// district server's `/report/api/` as the signed-in district account (a device of its own
// on the server). Reports go through the IndexedDB outbox (outbox.ts) so one made offline
// is sent when the connection returns; replies arrive through the updates long-poll.
import type {
  Announcement,
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
  TicketStatus,
} from "../bindings";
import type { Transport } from "../transport";
import { factItems, readBrowserFacts, snapshot, type BrowserFacts } from "./facts";
import { outbox, type OutboxItem } from "./outbox";
import { uuidv7 } from "./uuid";

const API = "api/";
/** Long-poll wait, in seconds (the server holds it at most 30). */
const WAIT_SECS = 25;

/** Who is signed in (`GET /report/api/me`). */
export interface Me {
  email: string;
  name: string | null;
  csrf_token: string;
  school: string | null;
  building: string | null;
  announcements: Announcement[];
  server_time: string;
}

interface WireMessage {
  id: string;
  author: "teacher" | "technician";
  author_name?: string | null;
  body: string;
  at: string;
}
interface MyTicket {
  client_id: string;
  number: number;
  status: TicketStatus;
  category: Category;
  summary: string;
  assignee?: string | null;
  messages: WireMessage[];
  details: string | null;
  created_at: string;
}

/** An HTTP answer that is not 2xx. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What the page keeps in localStorage (small things only; reports are in IndexedDB). */
const stored = {
  get<T>(key: string, fallback: T): T {
    try {
      const v = localStorage.getItem(`handraise.${key}`);
      return v === null ? fallback : (JSON.parse(v) as T);
    } catch {
      return fallback;
    }
  },
  set(key: string, value: unknown) {
    try {
      localStorage.setItem(`handraise.${key}`, JSON.stringify(value));
    } catch {
      /* private mode: kept for this page only */
    }
  },
};

export class HttpTransport implements Transport {
  readonly kind = "web" as const;
  private me: Me | null = null;
  private online = navigator.onLine;
  private offlineSince: string | null = null;
  private queued = 0;
  private signedOut = false;
  private facts: BrowserFacts | null = null;
  private shot: { file: File; preview: ScreenshotPreview } | null = null;
  private listeners = new Map<string, Set<(p: unknown) => void>>();
  private flushing: Promise<void> | null = null;
  private polling = false;

  constructor(me: Me | null) {
    this.me = me;
    if (!me) this.signedOut = true;
  }

  /** Starts what runs in the background: the outbox on reconnection, and the updates feed. */
  start(): void {
    window.addEventListener("online", () => {
      this.online = true;
      this.offlineSince = null;
      this.changed();
      void this.flush();
    });
    window.addEventListener("offline", () => this.wentOffline());
    navigator.serviceWorker?.addEventListener("message", (e) => {
      if ((e.data as { type?: string } | null)?.type === "flush") void this.flush();
    });
    void this.flush();
    void this.poll();
  }

  private wentOffline() {
    if (this.online) this.offlineSince = new Date().toISOString();
    this.online = false;
    this.changed();
  }

  private emit<E extends keyof EventPayloads>(event: E, payload: EventPayloads[E]) {
    for (const h of [...(this.listeners.get(event) ?? [])]) h(payload);
  }

  private async changed() {
    this.queued = (await outbox.all().catch(() => [])).filter((i) => i.state === "queued").length;
    this.emit("status-changed", this.status());
  }

  on<E extends keyof EventPayloads>(event: E, handler: (payload: EventPayloads[E]) => void): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(handler as (p: unknown) => void);
    this.listeners.set(event, set);
    return () => set.delete(handler as (p: unknown) => void);
  }

  /** One call to the server; a network failure marks the page offline. */
  private async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (init.method && init.method !== "GET" && this.me) headers.set("X-CSRF-Token", this.me.csrf_token);
    let res: Response;
    try {
      res = await fetch(API + path, { ...init, headers, credentials: "same-origin" });
    } catch (e) {
      this.wentOffline();
      throw { code: "offline", message: e instanceof Error ? e.message : String(e) };
    }
    if (!this.online) {
      this.online = true;
      this.offlineSince = null;
      void this.changed();
    }
    if (res.status === 401) {
      this.signedOut = true;
      void this.changed();
    }
    if (!res.ok) {
      let body: { code?: string; message?: string } = {};
      try {
        body = await res.json();
      } catch {
        /* not JSON */
      }
      throw new HttpError(res.status, body.code ?? "http", body.message ?? res.statusText);
    }
    return res;
  }

  private async json<T>(path: string, init: RequestInit = {}, body?: unknown): Promise<T> {
    const opts = body === undefined ? init : { ...init, body: JSON.stringify(body), headers: { "Content-Type": "application/json" } };
    const res = await this.fetch(path, opts);
    return res.status === 204 ? (null as T) : ((await res.json()) as T);
  }

  status(): AppStatus {
    const me = this.me;
    return {
      enrolled: true,
      server_url: location.origin,
      online: this.online,
      offline_since: this.offlineSince,
      queued_count: this.queued,
      unread_count: stored.get<string[]>("unread", []).length,
      paused_reason: this.signedOut ? "signed_out" : null,
      teacher_name: me?.name ?? me?.email ?? null,
      room: stored.get<string | null>("room", null),
      school: me?.school ?? null,
      building: me?.building ?? null,
      announcements: me?.announcements ?? [],
      me_too: stored.get<number[]>("meToo", []),
      locale: stored.get<string | null>("locale", null),
      // The district account is the reporter: its email comes from the verified sign-in,
      // so the page shows it and offers no way to change it (as a policy email in the app).
      reporter_account: me?.email ?? null,
      reporter_email: me?.email ?? null,
      email_from_policy: true,
    };
  }

  async getState(): Promise<AppStatus> {
    await this.changed();
    return this.status();
  }

  setup(): Promise<AppStatus> {
    return Promise.reject({ code: "unsupported", message: "the web page needs no setup" });
  }

  setEmail(): Promise<AppStatus> {
    return Promise.reject({ code: "unsupported", message: "the email is the district account's" });
  }

  async searchHelp(query: string, category: Category | null): Promise<ArticleHit[]> {
    const q = new URLSearchParams({ q: query });
    if (category) q.set("category", category);
    return this.json<ArticleHit[]>(`kb/search?${q}`);
  }

  listArticles(category: Category | null): Promise<ArticleHit[]> {
    return this.json<ArticleHit[]>(category ? `kb?category=${encodeURIComponent(category)}` : "kb");
  }

  getArticle(slug: string): Promise<Article> {
    return this.json<Article>(`kb/${encodeURIComponent(slug)}`);
  }

  async recordDeflection(slug: string): Promise<null> {
    await this.json(`kb/${encodeURIComponent(slug)}/fixed`, { method: "POST" }, { client_id: uuidv7(), created_at: new Date().toISOString() });
    return null;
  }

  async getFacts(): Promise<FactItem[]> {
    this.facts = await readBrowserFacts();
    return factItems(this.facts);
  }

  async getScreenshot(): Promise<ScreenshotPreview | null> {
    return this.shot?.preview ?? null;
  }

  async chooseScreenshot(file: File): Promise<ScreenshotPreview> {
    if (!["image/png", "image/jpeg"].includes(file.type)) throw { code: "invalid", message: "PNG or JPEG only" };
    const bytes = new Uint8Array(await file.arrayBuffer());
    let bin = "";
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    const dims = await new Promise<{ width: number; height: number }>((resolve) => {
      const img = new Image();
      img.onload = () => resolve({ width: img.naturalWidth, height: img.naturalHeight });
      img.onerror = () => resolve({ width: 0, height: 0 });
      img.src = URL.createObjectURL(file);
    });
    const preview = { png_base64: btoa(bin), width: dims.width, height: dims.height };
    this.shot = { file, preview };
    return preview;
  }

  async submitReport(input: ReportInput): Promise<LocalTicket> {
    const facts = this.facts ?? (await readBrowserFacts());
    const clientId = uuidv7();
    const item: OutboxItem = {
      client_id: clientId,
      ticket: {
        client_id: clientId,
        created_at: new Date().toISOString(),
        category: input.category,
        summary: input.summary,
        details: input.details,
        urgency: input.urgency,
        scope: input.scope,
        room: input.room,
        snapshot: snapshot(facts, input.omit_facts),
        self_help: input.tried,
        offline_at_submit: !navigator.onLine,
        announcement_id: input.announcement_id,
      },
      screenshot: input.include_screenshot && this.shot ? this.shot.file : null,
      state: "queued",
      reject_reason: null,
      number: null,
    };
    if (input.room) stored.set("room", input.room);
    // Durable before anything is sent: a closed tab or a lost connection keeps it.
    await outbox.put(item);
    this.shot = null;
    await this.changed();
    if (!navigator.onLine) {
      // Background Sync, where the browser has it, wakes the service worker when the
      // connection returns; the page's own `online` handler sends it too.
      const reg = (await navigator.serviceWorker?.getRegistration()) as
        | (ServiceWorkerRegistration & { sync?: { register(tag: string): Promise<void> } })
        | undefined;
      await reg?.sync?.register("handraise-outbox").catch(() => {});
    }
    await this.flush();
    return this.getTicket(clientId);
  }

  /**
   * Sends what the outbox holds, oldest first, one page at a time across tabs (a Web Lock).
   * A report leaves the outbox once the server stored it (and its screenshot); a network
   * failure stops the pass and keeps everything.
   */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    const pass = async () => {
      for (const item of await outbox.all()) {
        if (item.state !== "queued") continue;
        try {
          let number = item.number;
          if (number === null) {
            const receipt = await this.json<{ number: number }>("tickets", { method: "POST" }, item.ticket);
            number = receipt.number;
            if (item.screenshot) await outbox.put({ ...item, number });
          }
          if (item.screenshot) {
            await this.fetch(`tickets/${item.client_id}/screenshot`, {
              method: "PUT",
              headers: { "Content-Type": item.screenshot.type || "image/png" },
              body: item.screenshot,
            });
          }
          await outbox.remove(item.client_id);
          this.emit("tickets-changed", null);
        } catch (e) {
          if (e instanceof HttpError && e.status >= 400 && e.status < 500 && ![401, 403, 408, 429].includes(e.status)) {
            // Refused for good (invalid, too large): kept, with the reason, for the teacher.
            await outbox.put({ ...item, state: "rejected", reject_reason: e.message });
            this.emit("tickets-changed", null);
            continue;
          }
          break;
        }
      }
      await this.changed();
    };
    const locked = navigator.locks ? () => navigator.locks.request("handraise-outbox", pass) : pass;
    this.flushing = (async () => {
      try {
        await locked();
      } catch {
        /* the outbox keeps everything; the next pass retries */
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  /** The updates feed: a reply or a change marks the ticket unread and refreshes the views. */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    for (;;) {
      if (this.signedOut) break;
      if (!this.online) {
        await new Promise((r) => window.addEventListener("online", r, { once: true }));
        continue;
      }
      const began = Date.now();
      try {
        const cursor = stored.get<number>("cursor", 0);
        const page = await this.json<{ cursor: number; updates: { ticket_client_id: string; type: string }[] }>(
          `updates?cursor=${cursor}&wait=${WAIT_SECS}`,
        );
        if (page.updates.length) {
          const unread = new Set(stored.get<string[]>("unread", []));
          for (const u of page.updates) unread.add(u.ticket_client_id);
          stored.set("unread", [...unread]);
          stored.set("cursor", page.cursor);
          this.emit("tickets-changed", null);
          void this.changed();
        } else if (Date.now() - began < (WAIT_SECS * 1000) / 2) {
          // Answered early with nothing: another tab of this account took the long-poll
          // over (one per device). Wait before asking again, so two tabs do not ping-pong.
          await new Promise((r) => setTimeout(r, 5000));
        }
      } catch {
        // Offline or a server error: wait a moment (the online event wakes an offline page).
        await new Promise((r) => setTimeout(r, 5000));
      }
    }
    this.polling = false;
  }

  private fromOutbox(i: OutboxItem): LocalTicket {
    return {
      client_id: i.client_id,
      state: i.state,
      number: i.number,
      status: null,
      category: i.ticket.category as Category,
      summary: i.ticket.summary,
      details: i.ticket.details ?? null,
      created_at: i.ticket.created_at,
      assignee: null,
      unread: false,
      reject_reason: i.reject_reason,
      messages: [],
      fixed: null,
      rating: null,
    };
  }

  private fromServer(t: MyTicket): LocalTicket {
    const feedback = stored.get<Record<string, { fixed?: boolean; rating?: number }>>("feedback", {})[t.client_id] ?? {};
    return {
      client_id: t.client_id,
      state: "sent",
      number: t.number,
      status: t.status,
      category: t.category,
      summary: t.summary,
      details: t.details,
      created_at: t.created_at,
      assignee: t.assignee ?? null,
      unread: stored.get<string[]>("unread", []).includes(t.client_id),
      reject_reason: null,
      messages: t.messages.map(
        (m): LocalMessage => ({
          id: m.id,
          author: m.author,
          author_name: m.author_name ?? null,
          body: m.body,
          at: m.at,
          state: m.author === "teacher" ? "sent" : "received",
        }),
      ),
      fixed: feedback.fixed ?? null,
      rating: feedback.rating ?? null,
    };
  }

  async listTickets(): Promise<LocalTicket[]> {
    const waiting = (await outbox.all()).map((i) => this.fromOutbox(i)).reverse();
    let sent: LocalTicket[] = [];
    try {
      sent = (await this.json<MyTicket[]>("tickets")).map((t) => this.fromServer(t));
    } catch (e) {
      if (waiting.length === 0) throw e;
    }
    return [...waiting, ...sent];
  }

  async getTicket(clientId: string): Promise<LocalTicket> {
    const waiting = await outbox.get(clientId);
    if (waiting) return this.fromOutbox(waiting);
    return this.fromServer(await this.json<MyTicket>(`tickets/${encodeURIComponent(clientId)}`));
  }

  async sendMessage(clientId: string, body: string): Promise<LocalMessage> {
    const id = uuidv7();
    const at = new Date().toISOString();
    await this.json(`tickets/${encodeURIComponent(clientId)}/messages`, { method: "POST" }, { client_id: id, created_at: at, body });
    return { id, author: "teacher", author_name: null, body, at, state: "sent" };
  }

  async markRead(clientId: string): Promise<null> {
    stored.set(
      "unread",
      stored.get<string[]>("unread", []).filter((id) => id !== clientId),
    );
    void this.changed();
    return null;
  }

  private remember(clientId: string, f: { fixed?: boolean; rating?: number }) {
    const all = stored.get<Record<string, { fixed?: boolean; rating?: number }>>("feedback", {});
    all[clientId] = { ...all[clientId], ...f };
    stored.set("feedback", all);
  }

  // The same words the app sends the technician (crates/handraise-agent/src/app/tickets.rs).
  async confirmFixed(clientId: string, fixed: boolean): Promise<LocalTicket> {
    await this.sendMessage(clientId, fixed ? "It's fixed — thank you!" : "It's still broken.");
    this.remember(clientId, { fixed });
    return this.getTicket(clientId);
  }

  async rateTicket(clientId: string, rating: number): Promise<LocalTicket> {
    if (!(rating >= 1 && rating <= 5)) throw { code: "invalid", message: "a rating is 1 to 5 stars" };
    await this.sendMessage(clientId, `Rated the help ${rating} out of 5.`);
    this.remember(clientId, { rating });
    return this.getTicket(clientId);
  }

  async signOut(): Promise<null> {
    await this.json("sign-out", { method: "POST" });
    return null;
  }

  async syncNow(): Promise<null> {
    await this.flush();
    return null;
  }

  async closeWindow(): Promise<null> {
    // A page is not closed by its script: start again with an empty form.
    location.hash = "#/tickets";
    return null;
  }

  async uiReady(): Promise<null> {
    return null;
  }

  checkConnection(): Promise<ConnectionReport> {
    return Promise.reject({ code: "unsupported", message: "not in a browser" });
  }

  async meToo(a: { announcementId: number; room: string | null }): Promise<null> {
    await this.json(`announcements/${a.announcementId}/me-too`, { method: "POST" }, {
      client_id: uuidv7(),
      created_at: new Date().toISOString(),
      room: a.room,
    });
    stored.set("meToo", [...new Set([...stored.get<number[]>("meToo", []), a.announcementId])]);
    void this.changed();
    return null;
  }

  async getLocale(): Promise<string | null> {
    return stored.get<string | null>("locale", null);
  }

  async setLocale(locale: string | null): Promise<null> {
    stored.set("locale", locale);
    return null;
  }

  async copyText(text: string): Promise<null> {
    await navigator.clipboard.writeText(text);
    return null;
  }
}
