// A stand-in for the Tauri shell, injected into the page with page.addInitScript before any
// app code runs. It mirrors what `mockIPC(..., { shouldMockEvents: true })` from
// @tauri-apps/api/mocks installs (window.__TAURI_INTERNALS__.invoke / transformCallback /
// unregisterCallback and the event plugin), plus a small in-memory backend that follows the
// IPC contract in src/lib/bindings.ts. Every command call is recorded in window.__calls.
//
// This function is serialised by Playwright: it must not reference anything outside itself.
export function installTauriMock(scenario) {
  const state = JSON.parse(JSON.stringify(scenario));
  // The stored language choice is reported both by get_locale and in AppStatus.locale.
  if (state.status && state.locale !== undefined) state.status.locale = state.locale;
  const calls = [];
  const listeners = new Map(); // event -> [callback id]
  const callbacks = new Map(); // callback id -> fn
  let nextCallback = 1;
  let nextMessage = 1;

  function emit(event, payload) {
    for (const id of [...(listeners.get(event) || [])]) {
      const cb = callbacks.get(id);
      if (cb) cb({ event, id, payload });
    }
  }
  const clone = (v) => (v === undefined ? v : JSON.parse(JSON.stringify(v)));
  const fail = (code, message) => {
    throw { code, message: message || code };
  };
  const findTicket = (id) => state.tickets.find((t) => t.client_id === id) || fail("not_found", "no such ticket");

  async function handle(cmd, a) {
    switch (cmd) {
      case "get_state":
        return state.status;
      case "setup":
        if (state.setupError) fail(state.setupError.code, state.setupError.message);
        state.status = {
          ...state.status,
          enrolled: true,
          server_url: a.serverUrl,
          teacher_name: a.teacherName,
          room: a.room || null,
          reporter_email: state.status.email_from_policy ? state.status.reporter_email : a.email || null,
        };
        return state.status;
      case "set_email": {
        // The agent's check, in short: one @ and a dotted domain, no spaces.
        if (a.email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(a.email.trim())) fail("invalid_email", "not an email");
        state.status = { ...state.status, reporter_email: a.email ? a.email.trim() : null };
        return state.status;
      }
      case "search_help": {
        const words = String(a.query || "").toLowerCase().split(/\W+/).filter((w) => w.length > 2);
        return state.articles
          .filter((x) => !a.category || x.categories.includes(a.category))
          .filter((x) => words.length === 0 || words.some((w) => (x.title + " " + x.keywords.join(" ")).toLowerCase().includes(w)))
          .map((x) => ({ slug: x.slug, title: x.title, snippet: x.snippet, categories: x.categories }));
      }
      case "list_articles":
        if (state.articlesError) fail("storage", "cache unreadable");
        return state.articles
          .filter((x) => !a.category || x.categories.includes(a.category))
          .map((x) => ({ slug: x.slug, title: x.title, snippet: x.snippet, categories: x.categories }));
      case "check_connection": {
        if (state.connectionError) fail("internal", "probe failed");
        await new Promise((r) => setTimeout(r, state.connectionDelayMs ?? 300));
        return state.connection;
      }
      case "me_too":
        if (state.meTooError) fail(state.meTooError.code, state.meTooError.message);
        state.meToo = [...(state.meToo || []), { announcementId: a.announcementId, room: a.room }];
        return null;
      case "get_locale":
        return state.locale ?? null;
      case "set_locale":
        if (state.setLocaleError) fail("storage", "cannot save");
        state.locale = a.locale;
        state.status = { ...state.status, locale: a.locale };
        return null;
      case "copy_text":
        if (state.copyError) fail("internal", "no clipboard");
        state.clipboard = a.text;
        return null;
      case "get_article": {
        const x = state.articles.find((y) => y.slug === a.slug) || fail("not_found");
        return { slug: x.slug, title: x.title, body: x.body, html: x.html, categories: x.categories, keywords: x.keywords, published: true, version: 1 };
      }
      case "record_deflection":
        return null;
      case "get_facts":
        return state.facts;
      case "get_screenshot":
        return state.screenshot;
      case "submit_report": {
        if (state.submitError) fail(state.submitError.code, state.submitError.message);
        const i = a.input;
        const tk = {
          ...clone(state.newTicket),
          category: i.category,
          summary: i.summary,
          details: i.details,
          created_at: new Date().toISOString(),
        };
        state.tickets.unshift(tk);
        const outcome = state.submitOutcome || "queued";
        if (outcome !== "queued") {
          setTimeout(() => {
            if (outcome === "sent") Object.assign(tk, { state: "sent", number: 1234, status: "new" });
            else Object.assign(tk, { state: "rejected", reject_reason: state.rejectReason || "Rejected" });
            if (state.emitEvents !== false) emit("ticket-updated", clone(tk));
          }, state.sendDelayMs ?? 400);
        }
        return clone(tk);
      }
      case "list_tickets":
        return state.tickets;
      case "get_ticket":
        return findTicket(a.clientId);
      case "send_message": {
        const tk = findTicket(a.clientId);
        const m = { id: "m-new-" + nextMessage++, author: "teacher", author_name: null, body: a.body, at: new Date().toISOString(), state: "queued" };
        tk.messages.push(m);
        return m;
      }
      case "mark_read": {
        const tk = findTicket(a.clientId);
        if (tk.unread) state.status = { ...state.status, unread_count: Math.max(0, state.status.unread_count - 1) };
        tk.unread = false;
        return null;
      }
      case "confirm_fixed": {
        const tk = findTicket(a.clientId);
        tk.fixed = a.fixed;
        return tk;
      }
      case "rate_ticket": {
        const tk = findTicket(a.clientId);
        tk.rating = a.rating;
        return tk;
      }
      case "sync_now":
      case "close_window":
      case "ui_ready":
        return null;
      default:
        fail("unknown", "no mock for " + cmd);
    }
  }

  window.__calls = calls;
  window.__mock = { emit, state };
  window.__TAURI_INTERNALS__ = {
    metadata: { currentWindow: { label: "main" }, currentWebview: { windowLabel: "main", label: "main" } },
    callbacks,
    async invoke(cmd, args) {
      if (cmd === "plugin:event|listen") {
        if (!listeners.has(args.event)) listeners.set(args.event, []);
        listeners.get(args.event).push(args.handler);
        return args.handler;
      }
      if (cmd === "plugin:event|unlisten") {
        const l = listeners.get(args.event) || [];
        const i = l.indexOf(args.eventId);
        if (i !== -1) l.splice(i, 1);
        return null;
      }
      if (cmd === "plugin:event|emit") {
        emit(args.event, args.payload);
        return null;
      }
      calls.push({ cmd, args: clone(args ?? {}) });
      // Results are cloned like a real IPC round trip, so the page never shares objects with the mock.
      return clone(await handle(cmd, args ?? {}));
    },
    transformCallback(cb, once = false) {
      const id = nextCallback++;
      callbacks.set(id, (data) => {
        if (once) callbacks.delete(id);
        return cb && cb(data);
      });
      return id;
    },
    unregisterCallback(id) {
      callbacks.delete(id);
    },
    runCallback(id, data) {
      const cb = callbacks.get(id);
      if (cb) cb(data);
    },
  };
  window.__TAURI_EVENT_PLUGIN_INTERNALS__ = {
    unregisterListener(_event, id) {
      callbacks.delete(id);
    },
  };
}
