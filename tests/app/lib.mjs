// Shared helpers of the app tests. run.mjs provides the environment (HR_* variables).

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { sleep, techClient } from "../js/harness.mjs";

export { sleep, waitFor } from "../js/harness.mjs";

/** The facts run.mjs passes; throws a clear error when a test file is run on its own. */
export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run these tests through run.mjs (npm --prefix tests/app test)`);
  return v;
}

/** Runs a short command (bounded); returns { status, stdout, stderr }. */
export function sh(cmd, args, { timeout = 10_000, env: e = process.env } = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout, env: e });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? (r.error ? r.error.message : "") };
}

export function resultsPath(name) {
  const dir = env("HR_RESULTS_DIR");
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}

/** Screenshot of the whole (virtual) screen with imagemagick's `import`. */
export function screenshotRoot(name) {
  const importBin = fs.existsSync("/usr/bin/import") ? "/usr/bin/import" : "import";
  const r = sh(importBin, ["-window", "root", resultsPath(name)], { timeout: 15_000 });
  if (r.status !== 0) console.warn(`screenshot ${name} failed: ${r.stderr}`);
}

/** The technician API of the test server. */
export function tech(method, p, body) {
  return techClient(env("HR_SERVER_URL"), env("HR_TECH_TOKEN"))(method, p, body);
}

/** Every ticket on the server, from `handraise-server tickets list --json`. */
export function serverTickets() {
  const r = sh(env("HR_SERVER_BIN"), ["tickets", "list", "--data-dir", env("HR_SERVER_DATA"), "--json"], { timeout: 20_000 });
  if (r.status !== 0) throw new Error(`tickets list failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/**
 * Starts a process in its own process group, its output in test-results/<name>.log, and
 * records the group in HR_PIDS_FILE so run.mjs kills it even if the test dies.
 */
export function startGroup(name, cmd, args, procEnv) {
  const out = fs.openSync(resultsPath(`${name}.log`), "w");
  const child = spawn(cmd, args, { env: procEnv, detached: true, stdio: ["ignore", out, out] });
  fs.appendFileSync(env("HR_PIDS_FILE"), `${child.pid}\n`);
  child.exited = false;
  child.on("exit", () => (child.exited = true));
  child.on("error", () => (child.exited = true));
  return child;
}

/** SIGTERM to a process group, SIGKILL after `graceMs`. */
export async function stopGroup(child, graceMs = 3000) {
  if (!child) return;
  const alive = () => {
    try {
      process.kill(-child.pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    return;
  }
  const end = Date.now() + graceMs;
  while (Date.now() < end && alive()) await sleep(100);
  if (alive()) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

/** Top-level windows the window manager knows (`wmctrl -l`): [{ id, title }]. */
export function managedWindows() {
  const r = sh("wmctrl", ["-l"]);
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const m = line.match(/^(0x[0-9a-f]+)\s+\S+\s+\S+\s+(.*)$/i);
      return m ? { id: m[1], title: m[2] } : { id: "", title: line };
    });
}
