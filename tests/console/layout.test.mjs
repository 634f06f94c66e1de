// Layout and time-zone tests of the technician console: the real handraise-server binary on
// 127.0.0.1 port 0 in a temporary data directory whose config.toml sets
// timezone = "America/New_York", driven by Debian's headless Chromium through playwright-core.
//
//  - every form control on every console page has its label beside it (checkboxes and radios:
//    the label's text right next to the box, on the same line; other fields: the label just
//    above or just before), and checkboxes are big enough to hit;
//  - the queue table fits a 1280 px window with every column visible, and scrolls inside its
//    own region (never the page) when the window is narrower;
//  - times are shown and read in the configured zone, daylight saving included.
//
// Screenshots go to tests/console/screenshots/ (gitignored). HANDRAISE_BIN_DIR names the
// directory holding handraise-server (default: target/debug); CHROMIUM overrides
// /usr/bin/chromium.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { chromium } from "playwright-core";
import { chromiumOptions, startServer, uuidv7 } from "../js/harness.mjs";
import { shot, signIn } from "./lib.mjs";

const ZONE = "America/New_York";
const ADMIN = { email: "lena@district.example", name: "Lena Layout", password: "a long layout test password" };
// A technician added without a display name goes by the email: one long unbreakable word.
const TECH_EMAIL = "maintenance.technician.north-annex@lincoln-elementary.district.example";
// Long but ordinary values, as districts have them.
const SCHOOL = "Abraham Lincoln Elementary School";
const BUILDING = "North Annex (portables)";
// 15 Jan 2026 17:30 UTC is 12:30 in New York (EST, UTC-5).
const REPORTED_UTC = "2026-01-15T17:30:00Z";
const REPORTED_LOCAL = "15 Jan 2026, 12:30 EST";

/** Largest distance, in CSS pixels, between a control and its label text. */
const NEAR = 24;

let server, baseUrl, browser, admin, techToken, deviceSecret, ticketNumber, articleSlug, announcementId;

const api = (...args) => server.api(...args);

async function file(body) {
  const r = await api("POST", "/api/v1/tickets", {
    token: deviceSecret,
    body: { client_id: uuidv7(), created_at: new Date().toISOString(), ...body },
  });
  assert.equal(r.status, 201, r.text);
  return r.json.number;
}

/** The district's zone, set the way an administrator sets it: in config.toml. */
async function setZone(cli) {
  const configPath = path.join(cli.dataDir, "config.toml");
  const config = (await readFile(configPath, "utf8")).replace(/^timezone\s*=.*$/m, "");
  await writeFile(configPath, `${config}\ntimezone = "${ZONE}"\n`);
}

before(async () => {
  // The zone comes from config.toml, not from the environment.
  server = await startServer({ prefix: "hr-layout-server-", env: { TZ: "UTC" }, beforeServe: setZone });
  baseUrl = server.url;
  await server.cli.addUser({ ...ADMIN, role: "admin" });
  await server.cli.addUser({ email: TECH_EMAIL, role: "technician", password: "another long layout test password" });
  const enrollToken = await server.cli.enrollToken("layout tests");
  techToken = await server.cli.techTokenOf(ADMIN.email);

  const enrolled = await api("POST", "/api/v1/enroll", {
    body: { token: enrollToken, hostname: "LIN-ANNEX-PORTABLE-12B-TEACHER", school: SCHOOL, building: BUILDING },
  });
  assert.equal(enrolled.status, 201, enrolled.text);
  deviceSecret = enrolled.json.device_secret;
  ticketNumber = await file({
    created_at: REPORTED_UTC,
    category: "display",
    summary: "The interactive whiteboard shows a blue screen after the projector warms up",
    urgency: "now",
    scope: "room",
    room: "Portable 12B",
  });
  const kinds = [
    ["printer", "soon", "building", "The shared printer in the library prints blank pages"],
    ["wifi", "whenever", "district", "Wi-Fi drops every few minutes on the second floor"],
    ["sign-in", "now", "me", "Cannot sign in to the gradebook"],
    ["sound", "soon", "room", "Speakers crackle"],
  ];
  const others = [];
  for (const [category, urgency, scope, summary] of kinds) {
    others.push(await file({ category, urgency, scope, summary, room: "Science-Lab-2-East-Wing-Upstairs" }));
  }
  const toTech = await api("POST", `/api/v1/tech/tickets/${others[0]}/assign`, { token: techToken, body: { assignee: TECH_EMAIL } });
  assert.equal(toTech.status, 200, toTech.text);
  const outage = await api("POST", "/api/v1/tech/announcements", {
    token: techToken,
    body: { kind: "outage", title: "Projectors in the North Annex are off", message: "Power work until noon.", school: SCHOOL },
  });
  assert.equal(outage.status, 201, outage.text);
  announcementId = outage.json.id;
  const assigned = await api("POST", `/api/v1/tech/tickets/${ticketNumber}/assign`, { token: techToken, body: { assignee: ADMIN.name } });
  assert.equal(assigned.status, 200, assigned.text);

  browser = await chromium.launch(chromiumOptions());
  admin = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await admin.newPage();
  await signIn(page, baseUrl, ADMIN);
  // A shipped article to open in the editor.
  await page.goto(baseUrl + "/console/kb");
  const href = await page.locator("table.kb tbody th a").first().getAttribute("href");
  articleSlug = href.split("/").pop();
  await page.close();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

/**
 * Every visible form control of the page with its label's geometry: the control's box and the
 * box of its label's own text (the label's text nodes, the control itself left out, so a label
 * that wraps its checkbox is measured by where its words are).
 */
function measureControls(page) {
  return page.evaluate(() => {
    const union = (rects) => {
      const r = rects.filter((x) => x.width > 0 && x.height > 0);
      if (!r.length) return null;
      return {
        left: Math.min(...r.map((x) => x.left)),
        top: Math.min(...r.map((x) => x.top)),
        right: Math.max(...r.map((x) => x.right)),
        bottom: Math.max(...r.map((x) => x.bottom)),
      };
    };
    const box = (el) => {
      const r = el.getBoundingClientRect();
      return { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
    };
    const textBox = (label, control) => {
      const rects = [];
      const walker = document.createTreeWalker(label, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (!n.textContent.trim() || control.contains(n)) continue;
        const range = document.createRange();
        range.selectNodeContents(n);
        rects.push(...range.getClientRects());
      }
      return union(rects);
    };
    const out = [];
    for (const el of document.querySelectorAll("main input, main select, main textarea")) {
      if (el.type === "hidden" || el.type === "submit" || el.type === "button") continue;
      const style = getComputedStyle(el);
      if (style.display === "none" || style.visibility === "hidden") continue;
      const name = `${el.tagName.toLowerCase()}[type=${el.type || ""}][name=${el.name}]${el.value && (el.type === "checkbox" || el.type === "radio") ? `[value=${el.value}]` : ""}`;
      const labels = Array.from(el.labels || []);
      out.push({
        name,
        kind: el.type === "checkbox" || el.type === "radio" ? "check" : "field",
        control: box(el),
        labels: labels.map((l) => ({ box: box(l), text: textBox(l, el) })),
      });
    }
    return out;
  });
}

/** Why `c`'s label is not beside it, or null when it is. */
function labelProblem(c) {
  if (!c.labels.length) return "has no <label>";
  const failures = [];
  for (const { box: lbox, text } of c.labels) {
    if (!text) {
      failures.push("its label has no visible text");
      continue;
    }
    const k = c.control;
    const vOverlap = Math.min(k.bottom, text.bottom) - Math.max(k.top, text.top);
    const hOverlap = Math.min(k.right, text.right) - Math.max(k.left, text.left);
    if (c.kind === "check") {
      // The text starts right after the box (or ends right before it), on the same line.
      const gap = text.left >= k.right ? text.left - k.right : k.left - text.right;
      const width = k.right - k.left;
      const height = k.bottom - k.top;
      const problems = [];
      if (!(gap >= 0 && gap < NEAR)) problems.push(`the text is ${Math.round(gap)} px from the box`);
      if (!(vOverlap > 0)) problems.push("the text is not on the box's line");
      // A box much wider than the mark it draws puts the mark far from its words.
      if (width > 2 * height) problems.push(`the box is ${Math.round(width)}×${Math.round(height)} px`);
      if (height < 16) problems.push(`the box is only ${Math.round(height)} px tall`);
      if (lbox.bottom - lbox.top < 24) problems.push(`the clickable label is only ${Math.round(lbox.bottom - lbox.top)} px tall`);
      if (!problems.length) return null;
      failures.push(problems.join(", "));
    } else {
      const above = text.bottom <= k.top + 1 && k.top - text.bottom < NEAR && (hOverlap > 0 || Math.abs(text.left - k.left) < NEAR);
      const before = vOverlap > 0 && text.right <= k.left + 1 && k.left - text.right < NEAR;
      if (above || before) return null;
      failures.push(`label text at ${JSON.stringify(round(text))}, control at ${JSON.stringify(round(k))}`);
    }
  }
  return failures.join("; ");
}

function round(r) {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.round(v)]));
}

/** Checks every control on the page at `url`; returns how many it checked. */
async function checkLabels(page, url, width) {
  await page.setViewportSize({ width, height: 800 });
  await page.goto(baseUrl + url);
  const controls = await measureControls(page);
  const bad = controls.map((c) => [c.name, labelProblem(c)]).filter(([, p]) => p);
  assert.deepEqual(bad, [], `${url} at ${width} px: controls whose label is not beside them`);
  return controls;
}

test("times are shown and read in the configured zone (America/New_York), daylight saving included", async () => {
  const page = await admin.newPage();
  // A known instant: the ticket was reported at 17:30 UTC in January.
  await page.goto(`${baseUrl}/console/tickets/${ticketNumber}`);
  const facts = await page.locator("dl.facts").first().innerText();
  assert.match(facts, new RegExp(`Reported\\s+${REPORTED_LOCAL}`), facts);
  assert.ok(!/\bUTC\b/.test(await page.locator("main").innerText()), "a time is still shown in UTC");
  // The SLA due time is in the zone too, with the zone's offset in <time datetime>.
  const due = page.locator(".due-at time");
  assert.match(await due.innerText(), /^\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d E[SD]T$/);
  assert.match(await due.getAttribute("datetime"), /-0[45]:00$/);
  await shot(page, "34-layout-ticket-zone.png");

  // An announcement entered in summer wall-clock time is stored as the matching UTC instant.
  await page.goto(baseUrl + "/console/announcements");
  await page.getByLabel(/^Starts/).fill("2026-07-04T09:00");
  await page.getByLabel(/^Ends/).fill("2026-07-04T17:30");
  await page.getByLabel("Title").fill("Fireworks drill in the gym");
  await page.getByLabel("Message").fill("The gym projector is off for the drill.");
  assert.match(await page.locator('label[for="n-starts"]').innerText(), /America\/New_York/);
  await page.getByRole("button", { name: "Post announcement" }).click();
  await page.getByText("Announcement posted").waitFor();
  const id = new URL(page.url()).pathname.split("/").pop();
  const detail = await api("GET", `/api/v1/tech/announcements/${id}`, { token: techToken });
  assert.equal(detail.status, 200, detail.text);
  const drill = detail.json.announcement;
  assert.equal(drill.title, "Fireworks drill in the gym");
  assert.equal(Date.parse(drill.starts_at), Date.parse("2026-07-04T13:00:00Z"), drill.starts_at);
  assert.equal(Date.parse(drill.ends_at), Date.parse("2026-07-04T21:30:00Z"), drill.ends_at);
  await page.goto(baseUrl + "/console/announcements");
  const row = page.locator("tbody tr", { hasText: "Fireworks drill in the gym" });
  assert.match(await row.innerText(), /4 Jul 2026, 09:00 EDT[\s\S]*4 Jul 2026, 17:30 EDT/);

  // 02:30 on 8 March 2026 does not exist in New York (clocks jump from 02:00 to 03:00).
  await page.getByLabel(/^Starts/).fill("2026-03-08T02:30");
  await page.getByLabel("Title").fill("Daylight saving test");
  await page.getByLabel("Message").fill("This one must be refused.");
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/console/announcements") && r.request().method() === "POST"),
    page.getByRole("button", { name: "Post announcement" }).click(),
  ]);
  assert.equal(refused.status(), 422);
  assert.match(await page.getByRole("alert").innerText(), /2026-03-08 02:30 does not exist in America\/New_York/);
  await shot(page, "30-layout-announcement-dst-error.png");
  await page.close();
});

test("every control on every console page has its label beside it", async () => {
  const page = await admin.newPage();
  const urls = [
    "/console/queue",
    `/console/tickets/${ticketNumber}`,
    "/console/dashboard",
    "/console/kb",
    "/console/kb/new",
    `/console/kb/${articleSlug}`,
    "/console/announcements",
    `/console/announcements/${announcementId}`,
    "/console/devices",
    "/console/api-tokens",
    "/console/admin/users",
    "/console/admin/enroll-tokens",
    "/console/admin/sla",
    "/console/admin/retention",
  ];
  let checks = 0;
  let fields = 0;
  for (const width of [1280, 800]) {
    for (const url of urls) {
      const controls = await checkLabels(page, url, width);
      checks += controls.filter((c) => c.kind === "check").length;
      fields += controls.filter((c) => c.kind === "field").length;
    }
  }
  // The editor's categories and "Published" were measured, and the forms' fields.
  assert.ok(checks >= 2 * 2 * 9, `only ${checks} checkboxes measured`);
  assert.ok(fields >= 40, `only ${fields} fields measured`);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${baseUrl}/console/kb/${articleSlug}`);
  await shot(page, "31-layout-kb-editor.png");
  // Clicking a category's words ticks its box.
  const box = page.locator('input[name="categories"]').last();
  const before = await box.isChecked();
  const words = await box.evaluate((el) => {
    const label = el.closest("label");
    const range = document.createRange();
    range.setStartAfter(el);
    range.setEnd(label, label.childNodes.length);
    const r = range.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  });
  await page.mouse.click(words.x, words.y);
  assert.equal(await box.isChecked(), !before);

  const visitor = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const signIn = await visitor.newPage();
  await checkLabels(signIn, "/console/sign-in", 1280);
  await visitor.close();
  await page.close();
});

test("the queue table fits a 1280 px window with every column visible, and scrolls in its own region when narrower", async () => {
  const page = await admin.newPage();
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(baseUrl + "/console/queue");
  const rows = page.locator("table.queue tbody tr");
  assert.ok((await rows.count()) >= 5);
  const fit = await page.evaluate(() => {
    const table = document.querySelector("table.queue");
    const region = table.closest(".table-scroll");
    const t = table.getBoundingClientRect();
    const r = region.getBoundingClientRect();
    const headers = Array.from(table.querySelectorAll("thead th")).map((th) => {
      const b = th.getBoundingClientRect();
      return { text: th.textContent.trim(), left: b.left, right: b.right };
    });
    return {
      viewport: document.documentElement.clientWidth,
      tableRight: t.right,
      regionRight: r.right,
      regionScroll: region.scrollWidth - region.clientWidth,
      pageScroll: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      headers,
    };
  });
  await shot(page, "32-layout-queue-1280.png");
  assert.ok(fit.tableRight <= fit.viewport, `the table ends at ${fit.tableRight} px, past the ${fit.viewport} px window`);
  assert.ok(fit.regionScroll <= 1, `the queue region scrolls sideways by ${fit.regionScroll} px at 1280 px`);
  assert.equal(fit.pageScroll, 0);
  assert.deepEqual(
    fit.headers.map((h) => h.text),
    ["#", "Summary", "Impact", "Category", "Where", "Status", "Assignee", "Waiting", "Due"],
  );
  for (const h of fit.headers) {
    assert.ok(h.right <= Math.min(fit.viewport, fit.regionRight) + 0.5, `column ${h.text} is cut off (ends at ${h.right} px)`);
  }

  // Narrower: the page never scrolls sideways; the table may, inside its focusable region.
  for (const width of [1024, 800]) {
    await page.setViewportSize({ width, height: 800 });
    await page.goto(baseUrl + "/console/queue");
    const pageScroll = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(pageScroll <= 1, `at ${width} px the page scrolls sideways by ${pageScroll} px`);
    if (width === 800) await shot(page, "33-layout-queue-800.png");
  }
  await page.close();
});
