// What the JavaScript tests share (tests/console: the technician console in Chromium;
// tests/app: the tray app under Xvfb): where the binaries are, the real handraise-server
// started on 127.0.0.1 port 0 in a temporary data directory, its CLI, the HTTP API, Chromium's
// launch options, and waiting for a condition instead of for a time.
//
// Node built-ins only: each test package imports it by path and keeps its own npm packages.
//
// Env: HANDRAISE_BIN_DIR names the directory holding handraise-server, handraise-agent and
// handraise (default: target/debug of this repository); CHROMIUM overrides /usr/bin/chromium.

import { execFile, spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const BIN_DIR = path.resolve(REPO, process.env.HANDRAISE_BIN_DIR || "target/debug");

/** A binary of BIN_DIR (handraise-server, handraise-agent, handraise). */
export const bin = (name) => path.join(BIN_DIR, name);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The last line of a command's output, trimmed (the CLI prints a new token there). */
export function lastLine(out) {
  const lines = String(out).trim().split("\n");
  return lines[lines.length - 1].trim();
}

/**
 * Polls `fn` until it returns a truthy value (returned) or `timeout` ms pass (then throws,
 * naming `what` and the last error). An error with `fatal: true` ends the wait at once.
 */
export async function waitFor(what, fn, { timeout = 10_000, interval = 100 } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = undefined;
    } catch (e) {
      if (e.fatal) throw e;
      last = e;
    }
    if (Date.now() >= end) break;
    await sleep(interval);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ""}`);
}

/** An error that ends a `waitFor` at once (e.g. the process it waits for has exited). */
export function fatal(msg) {
  return Object.assign(new Error(msg), { fatal: true });
}

/** Runs a command to completion (bounded); its stdout, or throws with its stderr. */
export function runSync(cmd, args, { timeout = 60_000, env = process.env } = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout, env });
  if (r.error) throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A UUIDv7 (time-ordered), as devices make client ids. */
export function uuidv7() {
  const bytes = Buffer.from(randomUUID().replace(/-/g, ""), "hex");
  const ms = BigInt(Date.now());
  for (let i = 0; i < 6; i++) bytes[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const h = bytes.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Headless Chromium for playwright-core's `chromium.launch`. */
export function chromiumOptions() {
  return {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  };
}

/**
 * `fetch` against `baseUrl`: `{ token }` as a bearer credential, `{ body }` as JSON or
 * `{ raw, type }` as-is. Resolves to `{ status, json (or null), text }`.
 */
export async function request(baseUrl, method, url, { token, body, raw, type } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  if (raw !== undefined) headers["content-type"] = type;
  const res = await fetch(baseUrl + url, {
    method,
    headers,
    body: body !== undefined ? JSON.stringify(body) : raw,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, json, text };
}

/** A technician API caller: `(method, path, body)` resolves to the JSON answer; throws on a
 * status outside 2xx. */
export function techClient(baseUrl, token) {
  return async (method, p, body) => {
    const r = await request(baseUrl, method, p, { token, body });
    if (r.status < 200 || r.status > 299) throw new Error(`${method} ${p}: ${r.status} ${r.text}`);
    return r.json;
  };
}

/** `BIN ARGS --data-dir DIR`, quiet logs; its trimmed stdout (rejects with stderr). */
async function onDataDir(binary, dataDir, args) {
  const { stdout } = await execFileAsync(binary, [...args, "--data-dir", dataDir], {
    env: { ...process.env, RUST_LOG: "warn", RUST_BACKTRACE: "0" },
  });
  return stdout.trim();
}

/** A CLI (handraise-server or handraise-agent) on one data directory. */
class Cli {
  constructor(binary, dataDir) {
    this.bin = binary;
    this.dataDir = dataDir;
  }

  /** `BIN ARGS --data-dir DIR`; its trimmed stdout (rejects with stderr). */
  run(...args) {
    return onDataDir(this.bin, this.dataDir, args);
  }
}

/** The handraise-server CLI on one data directory. */
export class ServerCli extends Cli {
  constructor(dataDir, serverBin = bin("handraise-server")) {
    super(serverBin, dataDir);
  }

  /** A CLI command reading `input` (a password) from stdin. */
  runWithInput(args, input) {
    return new Promise((resolve, reject) => {
      const child = spawn(this.bin, [...args, "--data-dir", this.dataDir], { stdio: ["pipe", "pipe", "pipe"] });
      let err = "";
      child.stderr.on("data", (d) => (err += d));
      child.on("error", reject);
      child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(" ")}: ${err}`))));
      child.stdin.end(input + "\n");
    });
  }

  async init() {
    return this.run("init");
  }

  async enrollToken(label) {
    return lastLine(await this.run("enroll-token", "create", "--label", label));
  }

  /** A technician API token for the script user `name` (no password, no console). */
  async techToken(name) {
    return lastLine(await this.run("tech-token", "create", "--name", name));
  }

  /** A technician API token of the console user `email`, carrying that user's role. */
  async techTokenOf(email) {
    return lastLine(await this.run("tech-token", "create", "--email", email));
  }

  /** A console user (`user add`), its password on stdin. */
  async addUser({ email, name, password, role }) {
    const named = name === undefined ? [] : ["--name", name];
    await this.runWithInput(["user", "add", "--email", email, "--role", role, ...named], password);
  }
}

/**
 * Waits for the `listening on URL` line on `child`'s stdout (a `serve` process); rejects
 * when it exits first or `timeout` ms pass.
 */
export function listeningUrl(child, { timeout = 30_000, what = "handraise-server" } = {}) {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${what} did not print its address in ${timeout / 1000} s`)), timeout);
    const onData = (d) => {
      out += d;
      const m = out.match(/listening on (https?:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        child.stdout.off("data", onData);
        resolve(m[1]);
      }
    };
    child.stdout.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited early (${code})`));
    });
  });
}

/** `handraise-server serve` arguments on `dataDir`, 127.0.0.1 port 0. */
export const serveArgs = (dataDir) => ["serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0"];

/**
 * A real server: a fresh temporary data directory, `init`, `beforeServe(cli)` (e.g. to edit
 * its config.toml), then `serve` on 127.0.0.1 port 0 with `env` and its stderr passed through.
 * Resolves to `{ url, dataDir, cli, api, stop }` once it listens; `stop()` ends it and removes
 * the directory.
 */
export async function startServer({ prefix = "hr-server-", env = {}, beforeServe } = {}) {
  const dataDir = await mkdtemp(path.join(tmpdir(), prefix));
  const cli = new ServerCli(dataDir);
  const initOutput = await cli.init();
  if (beforeServe) await beforeServe(cli);
  const child = spawn(cli.bin, serveArgs(dataDir), {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: "warn", ...env },
  });
  child.stderr.on("data", (d) => process.stderr.write(d));
  const url = await listeningUrl(child);
  // Keep draining stdout so the server never blocks on a full pipe.
  child.stdout.resume();
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return {
    url,
    dataDir,
    cli,
    initOutput,
    child,
    api: (method, p, opts) => request(url, method, p, opts),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await Promise.race([exited, sleep(10_000).then(() => child.kill("SIGKILL"))]);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The handraise-agent CLI on one data directory. */
export class AgentCli extends Cli {
  constructor(dataDir, agentBin = bin("handraise-agent")) {
    super(agentBin, dataDir);
  }

  /** The device secret stored at enrollment. */
  secret() {
    return JSON.parse(fs.readFileSync(path.join(this.dataDir, "enrollment.json"), "utf8")).device_secret;
  }
}
