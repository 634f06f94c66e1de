// What the views import: the current transport (IPC in the tray app unless an entry point
// chose another before mounting, as the web report page does with HTTP).
import type { EventPayloads } from "./bindings";
import { ipc } from "./ipc";
import type { Transport } from "./transport";

export { toIpcError } from "./transport";
export type { Transport } from "./transport";

let current: Transport = ipc;

/** Chooses the transport; call before mounting the app. */
export function setTransport(t: Transport): void {
  current = t;
}

/** The current transport's calls (read at each call, so setTransport applies everywhere). */
export const api: Transport = new Proxy({} as Transport, {
  get: (_, key) => {
    const v = (current as unknown as Record<string | symbol, unknown>)[key];
    return typeof v === "function" ? v.bind(current) : v;
  },
});

/** Subscribe to an event of the current transport; returns a synchronous unsubscribe. */
export function on<E extends keyof EventPayloads>(event: E, handler: (payload: EventPayloads[E]) => void): () => void {
  return current.on(event, handler);
}
