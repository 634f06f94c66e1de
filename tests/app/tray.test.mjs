// The tray: the enrolled app starts with no window, docks its icon in trayer, and the icon's
// menu item "Report a problem" opens the report window. Driven with xdotool, not WebDriver.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import fs from "node:fs";
import { env, managedWindows, resultsPath, screenshotRoot, sh, sleep, startGroup, stopGroup, waitFor } from "./lib.mjs";

const APP_TITLE = /HandRaise/;
let app;

/** The docked tray icon: its window id and absolute geometry. */
function trayIcon() {
  // GTK's status icon (libayatana-appindicator falls back to it without a StatusNotifier host)
  // has WM_CLASS "tray-icon tray app handraise" once trayer embeds it.
  const r = sh("xdotool", ["search", "--class", "tray app handraise"]);
  for (const id of r.stdout.split("\n").filter(Boolean)) {
    const { x, y, w, h } = geometry(id);
    // Docked: inside the 120×32 trayer panel at the top right of the 1280×800 screen.
    if (w > 1 && h > 1 && y < 32 && x >= 1280 - 120) return { id, x, y, w, h };
  }
  return null;
}

function geometry(id) {
  const g = sh("xdotool", ["getwindowgeometry", "--shell", id]);
  const v = Object.fromEntries(
    g.stdout
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => l.split("=")),
  );
  return { id, x: Number(v.X), y: Number(v.Y), w: Number(v.WIDTH), h: Number(v.HEIGHT) };
}

/**
 * Visible popup menus of the app: its own (class "handraise") unmanaged windows below the tray,
 * at least menu-sized. (Uses xdotool only; the window type would need xprop from x11-utils.)
 */
function popupMenus() {
  const managed = new Set(managedWindows().map((w) => Number(w.id)));
  const r = sh("xdotool", ["search", "--onlyvisible", "--class", "^handraise$"]);
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .filter((id) => !managed.has(Number(id)))
    .map(geometry)
    .filter((g) => g.y >= 28 && g.w >= 100 && g.h >= 100);
}

before(() => {
  const appEnv = JSON.parse(env("HR_TRAY_ENV"));
  app = startGroup("tray-app", env("HR_APP_BIN"), [], appEnv);
});

after(async () => {
  await stopGroup(app);
});

test("the enrolled app starts in the tray with no window", async () => {
  const icon = await waitFor("the tray icon to dock in trayer", () => {
    assert.equal(app.exited, false, "the app exited; see test-results/tray-app.log");
    return trayIcon();
  }, { timeout: 30_000 });
  assert.ok(icon.w >= 16 && icon.h >= 16, `icon is ${icon.w}x${icon.h}`);
  // Give a window that would open at start the time to appear (a cold start maps one in < 1 s).
  await sleep(1500);
  const windows = managedWindows().filter((w) => APP_TITLE.test(w.title));
  assert.deepEqual(windows, [], "no app window before the tray is used");
  // (xdotool matches names case-insensitively, and the tray icon's own window is "handraise".)
  assert.equal(sh("xdotool", ["search", "--name", "Report a problem|My tickets|Set up"]).stdout.trim(), "", "no app window exists");
  screenshotRoot("tray-1-idle.png");
});

test("tray menu → Report a problem opens the report window", async () => {
  const icon = trayIcon();
  assert.ok(icon, "tray icon present");
  const cx = String(icon.x + Math.floor(icon.w / 2));
  const cy = String(icon.y + Math.floor(icon.h / 2));
  // A left click opens the menu; retry the click once in case the first landed too early.
  let menus = [];
  for (let attempt = 0; attempt < 3 && menus.length === 0; attempt++) {
    sh("xdotool", ["mousemove", cx, cy, "click", "1"]);
    try {
      menus = await waitFor("the tray menu", () => {
        const m = popupMenus();
        return m.length ? m : null;
      }, { timeout: 3000 });
    } catch {
      menus = [];
    }
  }
  assert.ok(menus.length > 0, "the tray menu opened");
  screenshotRoot("tray-2-menu.png");
  // "Report a problem" is the first item.
  sh("xdotool", ["key", "Down", "Return"]);
  const id = await waitFor(
    'a window titled "Report a problem — HandRaise"',
    () => managedWindows().find((w) => w.title === "Report a problem — HandRaise"),
    { timeout: 20_000 },
  );
  assert.ok(id);
  assert.equal(popupMenus().length, 0, "the menu closed");
  // Let the page render before the screenshot: the window logs "window ready" once its page
  // is interactive (the screenshot is taken anyway if that line never comes).
  await waitFor("the report page's ready signal", () => fs.readFileSync(resultsPath("tray-app.log"), "utf8").includes("window ready"), {
    timeout: 20_000,
  }).catch((e) => console.warn(e.message));
  screenshotRoot("tray-3-report-window.png");
  const others = managedWindows().filter((w) => APP_TITLE.test(w.title) && w.title !== "Report a problem — HandRaise");
  assert.deepEqual(others, [], "only the report window opened");
});

test("a start at sign-in while the tray runs opens nothing; a launch by hand opens its view", async () => {
  const appEnv = JSON.parse(env("HR_TRAY_ENV"));
  // The tray logs each request of a later launch, in the order they came.
  const asked = () =>
    [...fs.readFileSync(resultsPath("tray-app.log"), "utf8").matchAll(/another launch asked for a window view="?(\w+)/g)].map(
      (m) => m[1],
    );
  const before = asked().length;
  const signIn = sh(env("HR_APP_BIN"), ["--autostart"], { env: appEnv, timeout: 60_000 });
  assert.equal(signIn.status, 0, `the start at sign-in handed over and ended: ${signIn.stderr}`);
  const byHand = sh(env("HR_APP_BIN"), ["--open", "tickets"], { env: appEnv, timeout: 60_000 });
  assert.equal(byHand.status, 0, `the launch by hand handed over and ended: ${byHand.stderr}`);
  // Requests are served one at a time in order: once the launch by hand is heard, a request
  // of the start at sign-in (which came first) would have been logged already.
  await waitFor("the tray to hear the launch by hand", () => asked().slice(before).includes("tickets"), {
    timeout: 20_000,
  });
  assert.deepEqual(asked().slice(before), ["tickets"], "only the launch by hand asked for a window");
  await waitFor(
    'a window titled "My tickets — HandRaise"',
    () => managedWindows().find((w) => /^My tickets/.test(w.title)),
    { timeout: 20_000 },
  );
});
