import { CATEGORIES, type Category } from "./bindings";

export type Route =
  | { view: "report"; category?: Category }
  | { view: "tickets" }
  | { view: "ticket"; clientId: string }
  | { view: "setup" }
  | { view: "help" }
  | { view: "about" }
  | { view: "unknown" };

function asCategory(v: string | null): Category | null {
  return v && (CATEGORIES as readonly string[]).includes(v) ? (v as Category) : null;
}

/**
 * The Tauri shell opens one window per view: `index.html#/report`, `#/tickets`,
 * `#/tickets/<client_id>`, `#/setup`, `#/help`, `#/about`. A query form is accepted too:
 * `?view=report`, `?view=tickets&ticket=<id>`, `?view=setup`.
 * The report form can be prefilled: `#/report?category=wifi` (or `?view=report&category=wifi`).
 */
export function parseRoute(hash: string, search: string): Route {
  let path = hash.replace(/^#/, "");
  let query = new URLSearchParams(search);
  const qi = path.indexOf("?");
  if (qi !== -1) {
    query = new URLSearchParams(path.slice(qi + 1));
    path = path.slice(0, qi);
  }
  if (!path || path === "/") {
    const view = query.get("view");
    const ticket = query.get("ticket");
    if (view === "tickets" && ticket) return { view: "ticket", clientId: ticket };
    path = view ? `/${view}` : "/report";
  }
  const parts = path.replace(/^\/+/, "").replace(/\/+$/, "").split("/");
  const head = parts[0];
  switch (head) {
    case "":
    case "report": {
      if (parts.length !== 1) return { view: "unknown" };
      const category = asCategory(query.get("category"));
      return category ? { view: "report", category } : { view: "report" };
    }
    case "tickets":
      if (parts.length === 1) return { view: "tickets" };
      if (parts.length === 2 && parts[1]) return { view: "ticket", clientId: decodeURIComponent(parts[1]) };
      return { view: "unknown" };
    case "setup":
    case "help":
    case "about":
      return parts.length === 1 ? { view: head } : { view: "unknown" };
    default:
      return { view: "unknown" };
  }
}

export function ticketHref(clientId: string): string {
  return `#/tickets/${encodeURIComponent(clientId)}`;
}

/** The report form with a category already chosen. */
export function reportHref(category: Category | null): string {
  return category ? `#/report?category=${encodeURIComponent(category)}` : "#/report";
}
