// The web report page's service worker (scope /report/). It keeps the page and its assets so
// the page opens without a connection, and, when the connection returns (Background Sync, or
// the page's own `online` handler), asks the open pages to send their outbox. The outbox
// itself (IndexedDB) is sent by the page, which holds the session's CSRF token; the server
// answers a repeat of a report's client id with the first receipt, so a report is stored once.
const CACHE = "handraise-report-v1";

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      const res = await fetch("./", { credentials: "same-origin" });
      if (!res.ok) return;
      const html = await res.clone().text();
      await cache.put("./", res);
      // The hashed scripts and styles the page names.
      const assets = [...html.matchAll(/(?:src|href)="(\.\/)?(assets\/[^"]+)"/g)].map((m) => `./${m[2]}`);
      await cache.addAll([...new Set([...assets, "./manifest.webmanifest"])]).catch(() => {});
    })(),
  );
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  const scope = new URL(self.registration.scope);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  // The API is never cached: the page keeps what it must (the outbox) itself.
  if (url.pathname.startsWith(`${scope.pathname}api/`) || url.pathname.endsWith("/sign-in")) return;
  if (req.mode === "navigate") {
    // The page: the network first (a new version), the kept copy offline.
    event.respondWith(
      (async () => {
        try {
          const res = await fetch(req);
          if (res.ok) (await caches.open(CACHE)).put("./", res.clone());
          return res;
        } catch {
          return (await caches.match("./")) ?? Response.error();
        }
      })(),
    );
    return;
  }
  if (url.pathname.startsWith(`${scope.pathname}assets/`)) {
    // Hashed names never change: the kept copy first.
    event.respondWith(
      (async () => {
        const hit = await caches.match(req);
        if (hit) return hit;
        const res = await fetch(req);
        if (res.ok) (await caches.open(CACHE)).put(req, res.clone());
        return res;
      })(),
    );
  }
});

async function askPagesToSend() {
  for (const client of await self.clients.matchAll({ type: "window" })) client.postMessage({ type: "flush" });
}

self.addEventListener("sync", (event) => {
  if (event.tag === "handraise-outbox") event.waitUntil(askPagesToSend());
});
