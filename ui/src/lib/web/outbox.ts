// The browser's outbox: reports made on the web page are kept in IndexedDB, with their
// client UUID v7, until the server has answered them, so a report made offline survives a
// closed tab and is sent when the connection returns. Sending one twice is harmless: the
// server answers a repeat of a client id with the first receipt.

/** A new ticket as the server's `POST /report/api/tickets` takes it (wire `NewTicket`). */
export interface NewTicket {
  client_id: string;
  created_at: string;
  category: string;
  summary: string;
  details?: string | null;
  urgency: string;
  scope: string;
  room?: string | null;
  snapshot?: Record<string, unknown> | null;
  self_help: { article_slug: string; outcome: string }[];
  offline_at_submit: boolean;
  announcement_id?: number | null;
}

export interface OutboxItem {
  client_id: string;
  ticket: NewTicket;
  screenshot: Blob | null;
  /** `queued` until answered; `rejected` when the server refused it (kept to show why). */
  state: "queued" | "rejected";
  reject_reason: string | null;
  /** The ticket was stored; only its screenshot is still to send. */
  number: number | null;
}

const DB = "handraise-report";
const STORE = "outbox";

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "client_id" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = f(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

export const outbox = {
  put: (item: OutboxItem) => run("readwrite", (s) => s.put(item)).then(() => undefined),
  get: (clientId: string) => run<OutboxItem | undefined>("readonly", (s) => s.get(clientId)),
  all: async (): Promise<OutboxItem[]> => {
    const items = await run<OutboxItem[]>("readonly", (s) => s.getAll());
    // Oldest first: UUID v7 sorts by time.
    return items.sort((a, b) => (a.client_id < b.client_id ? -1 : 1));
  },
  remove: (clientId: string) => run("readwrite", (s) => s.delete(clientId)).then(() => undefined),
};
