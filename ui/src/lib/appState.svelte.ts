import type { AppStatus } from "./bindings";
import { api, on } from "./api";

/** Shared app status (from get_state / status-changed). */
export const appState = $state<{ status: AppStatus | null; loaded: boolean }>({ status: null, loaded: false });

let started = false;

export async function refreshStatus(): Promise<AppStatus | null> {
  try {
    const s = await api.getState();
    appState.status = s;
    return s;
  } catch {
    return appState.status;
  } finally {
    appState.loaded = true;
  }
}

/** Load status once and follow `status-changed` events. */
export function startStatus(): () => void {
  if (started) return () => {};
  started = true;
  void refreshStatus();
  const stop = on("status-changed", (s) => {
    appState.status = s;
  });
  return () => {
    started = false;
    stop();
  };
}
