// The web report page (/report/ on the district server), end to end in headless Chromium:
// the real handraise-server binary serving the web bundle from `report/` beside it (built by
// `cargo xtask test`/`run`/`dist`), a teacher signing in with the district account at a real
// OpenID provider (the certified `oidc-provider` package, ./idp.mjs), self-help as they type
// ("this fixed it" counted), "Me too" on an announcement, a report with a screenshot chosen
// from a file and browser facts, a report made offline and sent once when the connection
// returns (checked through the technician API), a technician's reply read in "My tickets",
// Spanish, a 360 px phone, the keyboard alone, and axe on every view.
//
//   npm --prefix tests/console ci && npm --prefix tests/console test

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { chromium } from "playwright-core";
import { BIN_DIR, chromiumOptions, fatal, techClient, waitFor } from "../js/harness.mjs";
import { Axe, TINY_PNG, shot } from "./lib.mjs";
import { freePort, serveWithOidc, startIdp, stopServer } from "./idp.mjs";

const CLIENT = { client_id: "handraise-report", client_secret: "a client secret for the report tests" };
const TEACHER = "ana.teacher@district.example";

let idp, server, child, dataDir, browser, tech;
const axeRun = new Axe("axe-results-report.json");

before(async () => {
  if (!existsSync(path.join(BIN_DIR, "report", "report.html"))) {
    throw fatal(`no web report bundle in ${path.join(BIN_DIR, "report")}: run \`cargo xtask test\` (it builds it)`);
  }
  const port = await freePort();
  // A loopback address is a secure context for the service worker, as HTTPS is.
  const baseUrl = `http://127.0.0.1:${port}`;
  idp = await startIdp({ ...CLIENT, redirect_uri: `${baseUrl}/auth/callback` });
  idp.up({ kid: "report-key" });
  let cli;
  ({ child, cli, dataDir } = await serveWithOidc({
    idp,
    client: CLIENT,
    baseUrl,
    // Technicians of the staff domain; teachers of the district's.
    extra: [`allowed_domains = ["staff.district.example"]`, `teacher_domains = ["district.example"]`],
  }));
  server = { url: baseUrl, cli };
  tech = techClient(baseUrl, await cli.techToken("Tess Technician"));
  browser = await chromium.launch(chromiumOptions());
});

after(async () => {
  await axeRun.save();
  await browser?.close();
  await stopServer({ child, dataDir });
  await idp?.close();
});

/** Tickets whose summary is `summary`, as the technician API lists them. */
async function ticketsTitled(summary) {
  const { tickets } = await tech("GET", "/api/v1/tech/tickets?limit=100");
  return tickets.filter((t) => t.summary === summary);
}

/**
 * A new browser context (viewport `viewport`), signed in at the provider as `login` from the
 * report page's sign-in button; resolves with the page wherever the sign-in ended.
 */
async function signIn(login, { viewport = { width: 1280, height: 900 }, locale = "en-US" } = {}) {
  const context = await browser.newContext({ viewport, locale });
  const page = await context.newPage();
  await page.goto(server.url + "/report/");
  await page.getByTestId("sign-in").click();
  for (let step = 0; step < 4 && !page.url().startsWith(server.url); step++) {
    await page.waitForURL((u) => u.pathname.startsWith("/interaction/") || u.href.startsWith(server.url));
    if (page.url().startsWith(server.url)) break;
    const loginField = page.locator('input[name="login"]');
    if (await loginField.count()) {
      await loginField.fill(login);
      await page.locator('input[name="password"]').fill("anything");
    }
    const at = page.url();
    await page.locator('button[type="submit"]').click();
    await page.waitForURL((u) => u.href !== at);
  }
  await page.waitForLoadState("load");
  return { context, page };
}

/** Fills the report form: a category tile, a summary, a room. */
async function fillReport(page, { category = "Printer", summary, room = "B12" }) {
  await page.getByRole("radio", { name: category }).check();
  await page.getByLabel("What's wrong, in a few words?").fill(summary);
  await page.getByLabel("Room", { exact: true }).fill(room);
}

test("signed out, the page offers the district sign-in; an account of another domain is refused", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url + "/report/");
  await page.getByRole("heading", { name: "Report a problem to the help desk" }).waitFor();
  assert.deepEqual(await axeRun.check(page, "report-sign-in"), []);
  await context.close();

  const refused = await signIn("eve@elsewhere.example");
  assert.equal(new URL(refused.page.url()).pathname, "/auth/callback");
  await refused.page.getByRole("heading", { name: "This account may not report here" }).waitFor();
  assert.deepEqual(await axeRun.check(refused.page, "report-refused"), []);
  await refused.context.close();
});

test("a teacher signs in, sees tips while typing (this fixed it), says me too, and reports with a screenshot", async () => {
  const ann = await tech("POST", "/api/v1/tech/announcements", {
    kind: "outage",
    title: "Printers in building B are down",
    message: "We are on it.",
  });
  const { context, page } = await signIn(TEACHER);
  assert.equal(new URL(page.url()).pathname, "/report/");
  await page.getByText(`Signed in as ${TEACHER.split("@")[0]}`).waitFor();
  // Browser facts in the facts panel.
  await page.getByText("What we'll attach").click();
  await page.getByText(/^Browser: (Chromium|Chrome|HeadlessChrome) \d+/).waitFor();
  await page.getByText(/^Time zone: /).waitFor();
  await page.getByText(/^Screen: \d+ × \d+$/).waitFor();
  assert.deepEqual(await axeRun.check(page, "report-form"), []);

  // "Me too" on the announcement.
  const [metoo] = await Promise.all([
    page.waitForResponse((r) => r.url().includes("/me-too")),
    page.getByTestId("me-too").click(),
  ]);
  assert.equal(metoo.status(), 201);
  await page.getByTestId("me-too-status").getByText("you're counted").waitFor();
  assert.ok(ann.id);

  // Tips as the teacher types, searched on the server; "This fixed it" is counted.
  await page.getByRole("radio", { name: "Printer" }).check();
  await page.getByLabel("What's wrong, in a few words?").fill("paper jam");
  const hit = page.getByTestId("self-help-hit").filter({ hasText: "The printer is jammed" });
  await hit.waitFor();
  await shot(page, "report-desktop.png");
  await hit.getByRole("button").click();
  await page.getByTestId("self-help-article").getByText("Pull the stuck paper out slowly", { exact: false }).waitFor();
  assert.deepEqual(await axeRun.check(page, "report-article"), []);
  const [fixed] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/report/api/kb/printer-jammed/fixed")),
    page.getByRole("button", { name: "This fixed it" }).click(),
  ]);
  assert.equal(fixed.status(), 201);
  await page.getByTestId("deflected").waitFor();
  assert.deepEqual(await axeRun.check(page, "report-deflected"), []);

  // Another problem, reported with a screenshot from a file.
  await page.goto(server.url + "/report/#/report");
  await page.reload();
  const summary = "Projector in B12 shows no picture";
  await fillReport(page, { category: "Display, projector or board", summary });
  await page.getByText("What we'll attach").click();
  const file = path.join(dataDir, "screen.png");
  await writeFile(file, TINY_PNG);
  await page.getByTestId("screenshot-file").setInputFiles(file);
  await page.getByRole("checkbox", { name: "Include a screenshot" }).waitFor();
  await page.getByRole("button", { name: "Send to the help desk" }).click();
  await page.getByTestId("submit-status").getByText(/Sent — ticket #\d+/).waitFor();
  assert.deepEqual(await axeRun.check(page, "report-sent"), []);
  const [t] = await waitFor("the report on the server", async () => {
    const list = await ticketsTitled(summary);
    return list.length === 1 && list[0].has_screenshot ? list : null;
  });
  const full = await tech("GET", `/api/v1/tech/tickets/${t.number}`);
  assert.equal(full.reporter.email, TEACHER, "the reporter is the ID token's");
  assert.equal(full.room, "B12");
  assert.match(full.snapshot.app_version, /^Web browser: /);
  assert.ok(full.snapshot.time_zone);

  // The help articles, browsed from the server.
  await page.goto(server.url + "/report/#/help");
  await page.getByRole("heading", { name: "Help articles", level: 1 }).waitFor();
  await page.getByText("The printer is jammed").first().waitFor();
  assert.deepEqual(await axeRun.check(page, "report-help"), []);
  await context.close();
});

test("a report made offline is kept and sent exactly once when the connection returns", async () => {
  const { context, page } = await signIn(TEACHER);
  // The service worker keeps the page for offline use.
  await page.waitForFunction(async () => !!(await navigator.serviceWorker.getRegistration())?.active, null, { timeout: 20_000 });
  await page.reload();
  await page.waitForFunction(() => !!navigator.serviceWorker.controller, null, { timeout: 20_000 });
  await context.setOffline(true);
  const summary = "Wi-Fi drops in room C3 every few minutes";
  await fillReport(page, { category: "Wi-Fi or internet", summary, room: "C3" });
  await page.getByRole("button", { name: "Send to the help desk" }).click();
  await page.getByTestId("submit-status").getByText("Saved on this computer").waitFor();
  // The page opens again offline, from the service worker, and My tickets shows the report
  // waiting.
  await page.goto(server.url + "/report/#/tickets");
  await page.reload();
  await page.getByTestId("ticket-item").filter({ hasText: summary }).getByText("Waiting on this computer", { exact: false }).waitFor();
  assert.deepEqual(await ticketsTitled(summary), [], "nothing reached the server while offline");
  // Back online: sent once, and a second page load finds nothing left to send.
  await context.setOffline(false);
  await page.evaluate(() => window.dispatchEvent(new Event("online")));
  const [sent] = await waitFor("the offline report on the server", async () => {
    const list = await ticketsTitled(summary);
    return list.length ? list : null;
  }, { timeout: 30_000 });
  assert.equal(sent.offline_at_submit, true);
  await page.reload();
  await page.getByTestId("ticket-item").filter({ hasText: summary }).waitFor();
  await waitFor("the outbox empty", () =>
    page.evaluate(
      () =>
        new Promise((resolve) => {
          const req = indexedDB.open("handraise-report", 1);
          req.onsuccess = () => {
            const all = req.result.transaction("outbox").objectStore("outbox").getAll();
            all.onsuccess = () => resolve(all.result.length === 0);
          };
        }),
    ),
  );
  assert.equal((await ticketsTitled(summary)).length, 1, "exactly once on the server");
  await context.close();
});

test("a technician's reply is seen in My tickets, and the teacher answers it", async () => {
  const { context, page } = await signIn(TEACHER);
  const [t] = await ticketsTitled("Projector in B12 shows no picture");
  await tech("POST", `/api/v1/tech/tickets/${t.number}/reply`, { body: "Is the HDMI cable plugged in at the wall?" });
  await page.goto(server.url + "/report/#/tickets");
  const item = page.getByTestId("ticket-item").filter({ hasText: "Projector in B12" });
  await item.waitFor();
  assert.deepEqual(await axeRun.check(page, "report-tickets"), []);
  await item.getByRole("link").first().click();
  await page.getByTestId("message").filter({ hasText: "HDMI cable" }).waitFor();
  await page.getByLabel("Reply to the technician").fill("Yes, it is plugged in.");
  await page.getByRole("button", { name: "Send reply" }).click();
  await page.getByTestId("message").filter({ hasText: "Yes, it is plugged in." }).waitFor();
  assert.deepEqual(await axeRun.check(page, "report-ticket"), []);
  await waitFor("the teacher's answer on the server", async () => {
    const full = await tech("GET", `/api/v1/tech/tickets/${t.number}`);
    return full.messages.some((m) => m.body === "Yes, it is plugged in.");
  });
  // A reply arriving while the page is open comes through the updates feed.
  await tech("POST", `/api/v1/tech/tickets/${t.number}/reply`, { body: "A new cable is on its way." });
  await page.getByTestId("message").filter({ hasText: "A new cable is on its way." }).waitFor({ timeout: 40_000 });
  await context.close();
});

test("in Spanish, on a 360 px phone, with the keyboard alone", async () => {
  const { context, page } = await signIn(TEACHER, { viewport: { width: 360, height: 740 }, locale: "es-ES" });
  await page.getByRole("button", { name: "Enviar al servicio de soporte" }).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling at 360 px (${overflow} px too wide)`);
  assert.deepEqual(await axeRun.check(page, "report-form-es-phone"), []);
  await shot(page, "report-phone.png");

  // The keyboard alone: a category with the arrow keys, the summary, then Enter to send.
  await page.getByRole("radio").first().focus();
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("Tab");
  const summary = "El altavoz no suena";
  await page.keyboard.type(summary);
  await page.keyboard.press("Enter");
  await page.getByTestId("submit-status").getByText(/Enviado: solicitud n\.º \d+/).waitFor();
  assert.deepEqual(await axeRun.check(page, "report-sent-es-phone"), []);
  assert.equal((await ticketsTitled(summary)).length, 1);

  await page.goto(server.url + "/report/#/tickets");
  await page.getByRole("heading", { name: "Mis solicitudes" }).waitFor();
  assert.deepEqual(await axeRun.check(page, "report-tickets-es-phone"), []);
  await context.close();
});
