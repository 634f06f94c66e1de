import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { installTauriMock } from "./mock-tauri.mjs";

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
export const resultsDir = resolve(here, "../../test-results");
mkdirSync(resultsDir, { recursive: true });

export const BASE_URL = process.env.HR_BASE_URL;
if (!BASE_URL) throw new Error("HR_BASE_URL is not set: run `npm run test:browser`");

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Open a view with the mocked backend. `route` is e.g. "#/report". */
export async function openView(browser, route, scenario, opts = {}) {
  // `locale` sets navigator.language (the "OS language" the app follows), e.g. "es-MX".
  const context = await browser.newContext({
    viewport: opts.viewport ?? { width: 1000, height: 800 },
    locale: opts.locale ?? "en-US",
  });
  // Only 127.0.0.1 may be contacted.
  await context.route(/^(?!https?:\/\/127\.0\.0\.1[:/]).*/, (r) =>
    r.request().url().startsWith("data:") ? r.continue() : r.abort(),
  );
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.addInitScript(installTauriMock, scenario);
  const url = new URL(BASE_URL);
  url.hash = route;
  await page.goto(url.toString());
  await page.waitForFunction(() => (window.__calls || []).some((c) => c.cmd === "ui_ready"));
  return { page, context, errors };
}

export async function calls(page, cmd) {
  const all = await page.evaluate(() => window.__calls);
  return cmd ? all.filter((c) => c.cmd === cmd) : all;
}

export async function emit(page, event, payload) {
  await page.evaluate(([e, p]) => window.__mock.emit(e, p), [event, payload]);
}

/** Run axe-core; fail on serious or critical violations. */
export async function checkA11y(page, label) {
  const has = await page.evaluate(() => typeof window.axe !== "undefined");
  if (!has) await page.addScriptTag({ path: require.resolve("axe-core/axe.min.js") });
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
    });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(bad, [], `axe violations on ${label}: ${JSON.stringify(bad, null, 2)}`);
  return result;
}

export async function shot(page, name) {
  await page.screenshot({ path: resolve(resultsDir, `${name}.png`), fullPage: true });
}

/** Press Tab until the focused element matches `selector` (or give up). */
export async function tabTo(page, selector, max = 25) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
  }
  throw new Error(`could not reach ${selector} with Tab`);
}

export const focused = (page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    return el ? { tag: el.tagName, id: el.id, name: el.getAttribute("name"), value: el.value } : null;
  });

/** Text scaled to 200%: fail on any horizontal scrolling. */
export async function assertNoHorizontalScrollAt200(page, label) {
  await page.addStyleTag({ content: "html { font-size: 200% !important; }" });
  await page.waitForTimeout(50);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `horizontal overflow of ${overflow}px on ${label}`);
}

/** Is the focused element visibly outlined (keyboard focus indicator)? */
export const focusOutlined = (page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return false;
    const cs = getComputedStyle(el);
    const own = cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2;
    // Radio tiles show the ring on their label (:has(input:focus-visible)).
    const label = el.closest("label");
    const lcs = label ? getComputedStyle(label) : null;
    return own || (!!lcs && lcs.outlineStyle !== "none" && parseFloat(lcs.outlineWidth) >= 2);
  });
