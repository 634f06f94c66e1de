#!/usr/bin/env node
// End-to-end tests of the real HandRaise tray app: `npm --prefix tests/app test`.
//
// 1. Re-executes itself inside a private session bus (`dbus-run-session -- node run.mjs --inner`),
//    so the app's single-instance lock and tray never meet the machine's own session.
// 2. Starts Xvfb on a free display (:90–:99), openbox (window manager) and trayer (tray host).
// 3. Starts a real `handraise-server` on 127.0.0.1 port 0 in a temporary data dir, creates an
//    enrollment token, a technician token and knowledge-base articles (technician API), and
//    enrolls two agent data dirs (one for the WebDriver tests, one for the tray test), each
//    synced once so the knowledge base is cached.
// 4. Starts `tauri-driver` whose environment carries the app's environment (data dir, temporary
//    XDG dirs, a non-existent system config).
// 5. Runs `node --test --test-concurrency=1 tray.test.mjs webdriver.test.mjs` with the facts
//    above in HR_* environment variables, then stops every process it started (process groups),
//    even on failure, and exits with the test runner's code.
//
// Env: HANDRAISE_BIN_DIR (default <repo>/target/debug) holds handraise, handraise-server and
// handraise-agent; HANDRAISE_APP_BIN overrides the app binary alone (it must be a
// `--features custom-protocol` build, checked at start); TAURI_DRIVER overrides the tauri-driver
// path (else PATH, $CARGO_HOME/bin, ~/.cargo/bin); HANDRAISE_E2E_KEEP=1 keeps the temporary
// directory. Extra arguments go to `node --test` (e.g. --test-name-pattern=tray). Screenshots and logs go to tests/app/test-results/.

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BIN_DIR, REPO, ServerCli, fatal as exited, listeningUrl, runSync as run, serveArgs, sleep, techClient, waitFor } from "../js/harness.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const RESULTS = path.join(HERE, "test-results");
const TEST_FILES = ["tray.test.mjs", "webdriver.test.mjs"];

// ---------------------------------------------------------------- helpers
function fail(msg) {
  console.error(`run.mjs: ${msg}`);
  process.exit(2);
}

function which(cmd) {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

function log(msg) {
  console.log(`[run] ${msg}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    sock.setTimeout(500);
    sock.on("connect", () => (sock.destroy(), resolve(true)));
    sock.on("error", () => resolve(false));
    sock.on("timeout", () => (sock.destroy(), resolve(false)));
  });
}

/**
 * A plain `cargo build`/`cargo test` of the workspace rebuilds target/debug/handraise without
 * `custom-protocol`: that binary loads the dev server (devUrl) instead of the embedded UI, and
 * every WebDriver test would fail obscurely. The embedded UI's asset paths (`/assets/index-…`,
 * stored uncompressed as keys) are only in a custom-protocol build.
 */
function checkEmbeddedUi(bin) {
  const bytes = fs.readFileSync(bin);
  const names = ["/assets/index-"];
  try {
    for (const f of fs.readdirSync(path.join(REPO, "ui/dist/assets"))) names.push(`/assets/${f}`);
  } catch {
    /* no ui/dist here */
  }
  if (!names.some((n) => bytes.includes(n, 0, "latin1"))) {
    fail(
      `${bin} does not embed the UI: it was built without --features custom-protocol (a later plain ` +
        "`cargo build`/`cargo test` of the workspace overwrites it). Rebuild it last: " +
        "npm --prefix ui run build && cargo build -p handraise-app --features custom-protocol " +
        "(or copy that build elsewhere and point HANDRAISE_APP_BIN at it)",
    );
  }
}

// Every long-running process is started in its own process group and killed as a group.
const started = [];
function start(name, cmd, args, opts = {}) {
  const logFile = path.join(RESULTS, `${name}.log`);
  const out = fs.openSync(logFile, "w");
  const child = spawn(cmd, args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    detached: true,
    stdio: ["ignore", opts.pipeStdout ? "pipe" : out, out],
  });
  child.logFile = logFile;
  child.procName = name;
  child.exited = false;
  child.on("exit", () => (child.exited = true));
  child.on("error", (e) => {
    child.exited = true;
    fs.appendFileSync(logFile, `run.mjs: could not start ${cmd}: ${e.message}\n`);
  });
  if (child.pid) started.push(child);
  return child;
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function cleanup(pidsFile) {
  // Groups recorded by the tests (the app started by the tray test), then ours, newest first.
  const groups = [];
  try {
    for (const line of fs.readFileSync(pidsFile, "utf8").split("\n")) {
      const pid = Number(line.trim());
      if (pid > 1) groups.push({ pid, name: "test process" });
    }
  } catch {
    /* none recorded */
  }
  for (const c of [...started].reverse()) groups.push({ pid: c.pid, name: c.procName });
  for (const g of groups) killGroup(g.pid, "SIGTERM");
  const end = Date.now() + 5000;
  while (Date.now() < end && groups.some((g) => groupAlive(g.pid))) await sleep(100);
  for (const g of groups) {
    if (groupAlive(g.pid)) {
      log(`${g.name} (group ${g.pid}) ignored SIGTERM; killing`);
      killGroup(g.pid, "SIGKILL");
    }
  }
}

// ---------------------------------------------------------------- inner: the run itself
async function inner() {
  fs.rmSync(RESULTS, { recursive: true, force: true });
  fs.mkdirSync(RESULTS, { recursive: true });

  const binDir = BIN_DIR;
  const bins = {};
  for (const name of ["handraise", "handraise-server", "handraise-agent"]) {
    const p = path.join(binDir, name);
    if (!fs.existsSync(p)) {
      fail(
        `${p} not found. Build first: npm --prefix ui run build && ` +
          `cargo build -p handraise-app --features custom-protocol && cargo build -p handraise-server -p handraise-agent --bins ` +
          `(or set HANDRAISE_BIN_DIR)`,
      );
    }
    bins[name] = p;
  }
  if (process.env.HANDRAISE_APP_BIN) bins.handraise = path.resolve(process.env.HANDRAISE_APP_BIN);
  checkEmbeddedUi(bins.handraise);
  const tauriDriver =
    process.env.TAURI_DRIVER ||
    which("tauri-driver") ||
    [process.env.CARGO_HOME && path.join(process.env.CARGO_HOME, "bin/tauri-driver"), path.join(os.homedir(), ".cargo/bin/tauri-driver")]
      .filter(Boolean)
      .find((p) => fs.existsSync(p));
  if (!tauriDriver) fail("tauri-driver not found (PATH, ~/.cargo/bin): install it with `cargo install tauri-driver --locked`");
  const tools = {
    Xvfb: "xvfb",
    openbox: "openbox",
    trayer: "trayer",
    xdotool: "xdotool",
    wmctrl: "wmctrl",
    import: "imagemagick",
    WebKitWebDriver: "webkit2gtk-driver",
  };
  const missing = Object.entries(tools).filter(([cmd]) => !which(cmd));
  if (missing.length) {
    fail(`missing tools: ${missing.map(([c]) => c).join(", ")}; apt-get install -y --no-install-recommends ${[...new Set(missing.map(([, p]) => p))].join(" ")}`);
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "handraise-app-e2e-"));
  const pidsFile = path.join(tmp, "test-pids");
  let code = 1;
  let stopping = false;
  const onSignal = async (sig) => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: cleaning up`);
    await cleanup(pidsFile);
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const t0 = Date.now();
  try {
    // -------------------------------------------------------------- display, WM, tray host
    // A free display among :90–:99; if Xvfb loses a race for one, try the next.
    let display;
    for (let n = 90; n <= 99 && display === undefined; n++) {
      if (fs.existsSync(`/tmp/.X11-unix/X${n}`) || fs.existsSync(`/tmp/.X${n}-lock`)) continue;
      const xvfb = start(`xvfb`, "Xvfb", [`:${n}`, "-screen", "0", "1280x800x24", "-nolisten", "tcp"]);
      try {
        // Ours only when the lock file names our Xvfb (another run may have won the display).
        await waitFor(`Xvfb on :${n}`, () => {
          if (xvfb.exited) throw exited(`Xvfb exited; see ${xvfb.logFile}`);
          const lock = fs.readFileSync(`/tmp/.X${n}-lock`, "utf8").trim();
          if (Number(lock) !== xvfb.pid) throw exited(`display :${n} is locked by process ${lock}`);
          return fs.existsSync(`/tmp/.X11-unix/X${n}`);
        }, { timeout: 10_000 });
        display = n;
      } catch (e) {
        log(`Xvfb :${n} did not start (${e.message}); trying the next display`);
        killGroup(xvfb.pid, "SIGKILL");
      }
    }
    if (display === undefined) throw new Error("no free X display among :90–:99");
    const DISPLAY = `:${display}`;
    const xenv = { ...process.env, DISPLAY, NO_AT_BRIDGE: "1" };
    await waitFor("the X server to answer", () => spawnSync("xdotool", ["getdisplaygeometry"], { env: xenv, timeout: 2000 }).status === 0, { timeout: 10_000 });
    start("openbox", "openbox", [], { env: xenv });
    const trayer = start(
      "trayer",
      "trayer",
      ["--edge", "top", "--align", "right", "--widthtype", "pixel", "--width", "120", "--height", "32"],
      { env: xenv },
    );
    await waitFor("the trayer window", () => {
      if (trayer.exited) throw exited(`trayer exited; see ${trayer.logFile}`);
      return spawnSync("xdotool", ["search", "--class", "trayer"], { env: xenv, timeout: 2000 }).status === 0;
    }, { timeout: 10_000 });
    log(`Xvfb ${DISPLAY}, openbox and trayer are up`);

    // -------------------------------------------------------------- server
    const serverData = path.join(tmp, "server");
    const serverCli = new ServerCli(serverData, bins["handraise-server"]);
    await serverCli.init();
    const enrollToken = await serverCli.enrollToken("app-e2e");
    const techToken = await serverCli.techToken("Sam Rivera");
    const server = start("server", bins["handraise-server"], serveArgs(serverData), { pipeStdout: true });
    const serverUrl = await listeningUrl(server, { timeout: 15_000 }).catch((e) => {
      throw new Error(`${e.message}; see ${server.logFile}`);
    });
    server.stdout.on("data", (d) => fs.appendFileSync(server.logFile, d));
    log(`server at ${serverUrl}`);

    const tech = techClient(serverUrl, techToken);
    await tech("POST", "/api/v1/tech/kb", {
      slug: "e2e-printer-offline",
      title: "Printer shows as offline",
      body:
        "When the printer says it is offline:\n\n" +
        "1. Check that the printer is switched on and shows no error light.\n" +
        "2. Open Settings → Printers and pick the room printer again.\n" +
        "3. Print a test page.\n",
      categories: ["printer"],
      keywords: ["printer", "offline", "not printing"],
      published: true,
    });
    await tech("POST", "/api/v1/tech/kb", {
      slug: "e2e-projector-no-picture",
      title: "Projector shows no picture",
      body: "1. Press the Input button on the remote.\n2. Check the HDMI cable.\n",
      categories: ["display"],
      keywords: ["projector", "hdmi", "no picture"],
      published: true,
    });

    // -------------------------------------------------------------- agent data dirs and app env
    const appEnv = (dataDir) => ({
      ...xenv,
      HOME: process.env.HOME,
      XDG_DATA_HOME: path.join(tmp, "xdg/data"),
      XDG_CONFIG_HOME: path.join(tmp, "xdg/config"),
      XDG_CACHE_HOME: path.join(tmp, "xdg/cache"),
      HANDRAISE_SYSTEM_CONFIG: path.join(tmp, "no-such-system-config.toml"),
      HANDRAISE_USER_CONFIG: path.join(tmp, "no-such-user-config.toml"),
      HANDRAISE_DATA_DIR: dataDir,
      HANDRAISE_LOG: "info",
      // "Check my connection" probes only 127.0.0.1 here: the server stands in for the
      // internet and loopback for the gateway.
      HANDRAISE_INTERNET_CHECK_URL: `${serverUrl}/healthz`,
      HANDRAISE_GATEWAY_CHECK_ADDRESS: "127.0.0.1",
    });
    for (const k of ["HANDRAISE_SERVER_URL", "HANDRAISE_ENROLLMENT_TOKEN", "HANDRAISE_SCHOOL", "HANDRAISE_BUILDING", "HANDRAISE_OPEN"]) delete xenv[k];
    const agents = {};
    for (const name of ["wd", "tray"]) {
      const dir = path.join(tmp, `agent-${name}`);
      const env = appEnv(dir);
      run(bins["handraise-agent"], ["enroll", "--server", serverUrl, "--token", enrollToken, "--data-dir", dir], { env });
      run(bins["handraise-agent"], ["sync", "--data-dir", dir], { env });
      agents[name] = dir;
    }
    log("two agent data dirs enrolled and synced (knowledge base cached)");

    // -------------------------------------------------------------- tauri-driver
    const wdPort = await freePort();
    let nativePort = await freePort();
    while (nativePort === wdPort) nativePort = await freePort();
    const driver = start("tauri-driver", tauriDriver, ["--port", String(wdPort), "--native-port", String(nativePort)], {
      env: appEnv(agents.wd),
      cwd: tmp,
    });
    await waitFor("tauri-driver to listen", async () => {
      if (driver.exited) throw exited(`tauri-driver exited; see ${driver.logFile}`);
      // tauri-driver proxies to WebKitWebDriver, which it starts on the native port.
      return (await canConnect(wdPort)) && (await canConnect(nativePort));
    }, { timeout: 15_000 });
    log(`tauri-driver on 127.0.0.1:${wdPort} (setup took ${((Date.now() - t0) / 1000).toFixed(1)} s)`);

    // -------------------------------------------------------------- tests
    const testEnv = {
      ...xenv,
      HR_REPO: REPO,
      HR_RESULTS_DIR: RESULTS,
      HR_TMP: tmp,
      HR_PIDS_FILE: pidsFile,
      HR_APP_BIN: bins.handraise,
      HR_SERVER_BIN: bins["handraise-server"],
      HR_SERVER_DATA: serverData,
      HR_SERVER_URL: serverUrl,
      HR_TECH_TOKEN: techToken,
      HR_WD_PORT: String(wdPort),
      HR_WD_DATA_DIR: agents.wd,
      HR_TRAY_ENV: JSON.stringify(appEnv(agents.tray)),
    };
    const files = TEST_FILES.map((f) => path.join(HERE, f));
    const extra = process.argv.slice(process.argv.indexOf("--inner") + 1);
    const tests = spawn(process.execPath, ["--test", "--test-concurrency=1", "--test-timeout=180000", ...extra, ...files], {
      env: testEnv,
      cwd: HERE,
      stdio: "inherit",
    });
    const killTimer = setTimeout(() => {
      log("the tests ran over 10 minutes; stopping them");
      tests.kill("SIGKILL");
    }, 600_000);
    code = await new Promise((resolve) => tests.on("exit", (c, s) => resolve(c ?? (s ? 1 : 0))));
    clearTimeout(killTimer);
  } catch (e) {
    console.error(`run.mjs: ${e.stack ?? e}`);
    code = 1;
  } finally {
    await cleanup(pidsFile);
    if (process.env.HANDRAISE_E2E_KEEP === "1") log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
    log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s; logs and screenshots in ${path.relative(process.cwd(), RESULTS) || "."}`);
  }
  process.exit(code);
}

// ---------------------------------------------------------------- outer: private session bus
if (!process.argv.includes("--inner")) {
  if (!which("dbus-run-session")) fail("dbus-run-session is missing: apt-get install -y dbus");
  const child = spawn("dbus-run-session", ["--", process.execPath, fileURLToPath(import.meta.url), "--inner", ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  await inner();
}
