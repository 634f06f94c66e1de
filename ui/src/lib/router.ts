export type Route =
  | { view: "report" }
  | { view: "tickets" }
  | { view: "ticket"; clientId: string }
  | { view: "setup" }
  | { view: "unknown" };

/**
 * The Tauri shell opens one window per view: `index.html#/report`, `#/tickets`,
 * `#/tickets/<client_id>`, `#/setup`. A query form is accepted too:
 * `?view=report`, `?view=tickets&ticket=<id>`, `?view=setup`.
 */
export function parseRoute(hash: string, search: string): Route {
  let path = hash.replace(/^#/, "");
  if (!path || path === "/") {
    const q = new URLSearchParams(search);
    const view = q.get("view");
    const ticket = q.get("ticket");
    if (view === "tickets" && ticket) return { view: "ticket", clientId: ticket };
    path = view ? `/${view}` : "/report";
  }
  const parts = path.replace(/^\/+/, "").replace(/\/+$/, "").split("/");
  switch (parts[0]) {
    case "":
    case "report":
      return parts.length === 1 ? { view: "report" } : { view: "unknown" };
    case "tickets":
      if (parts.length === 1) return { view: "tickets" };
      if (parts.length === 2 && parts[1]) return { view: "ticket", clientId: decodeURIComponent(parts[1]) };
      return { view: "unknown" };
    case "setup":
      return parts.length === 1 ? { view: "setup" } : { view: "unknown" };
    default:
      return { view: "unknown" };
  }
}

export function ticketHref(clientId: string): string {
  return `#/tickets/${encodeURIComponent(clientId)}`;
}
