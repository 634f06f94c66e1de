// The real app driven through tauri-driver (WebKitWebDriver): report with self-help, the
// ticket reaching the server exactly once, a technician's reply reaching My tickets, and a
// "This fixed it" deflection that sends nothing.
//
// The app starts in the tray with no webview, and WebDriver can only attach to a webview, so the
// session starts a window process, `handraise --window report` (src-tauri/src/lib.rs).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { remote } from "webdriverio";
import { env, resultsPath, serverTickets, tech, waitFor } from "./lib.mjs";

const ARTICLE_SLUG = "e2e-printer-offline";
const ARTICLE_TITLE = "Printer shows as offline";
const SUMMARY = "printer offline";
const REPLY = "Hi! I restarted the print server — please try printing again. Sam";

/** @type {WebdriverIO.Browser} */
let browser;
let ticketNumber;

async function shot(name) {
  try {
    // Let WebKit paint the latest DOM first (two animation frames, at most 1 s).
    await browser.executeAsync((done) => {
      const t = setTimeout(done, 1000);
      requestAnimationFrame(() => requestAnimationFrame(() => (clearTimeout(t), done())));
    });
    await browser.saveScreenshot(resultsPath(name));
  } catch (e) {
    console.warn(`screenshot ${name} failed: ${e.message}`);
  }
}

/** One `handraise-agent sync` pass over the WebDriver app's data directory, as the app's own
 * loop would run it. */
function syncAgent() {
  const agent = path.join(path.dirname(env("HR_SERVER_BIN")), "handraise-agent");
  const sync = spawnSync(agent, ["sync", "--data-dir", env("HR_WD_DATA_DIR")], { encoding: "utf8", timeout: 60_000 });
  assert.equal(sync.status, 0, `sync: ${sync.stderr}`);
}

/** Navigates the single webview by its hash route, as the shell does for another view. */
async function go(route) {
  await browser.execute((r) => {
    window.location.hash = r;
  }, route);
}

/** Printer tile, summary, and the matching self-help article opened. */
async function fillAndOpenArticle() {
  const printer = await browser.$("label=Printer");
  await printer.waitForClickable({ timeout: 20_000 });
  await printer.click();
  assert.equal(await browser.$('input[name="category"][value="printer"]').isSelected(), true, "Printer tile chosen");
  const summary = await browser.$("#summary");
  await summary.setValue(SUMMARY);

  const hit = await browser.$(`[data-testid="self-help-hit"][data-slug="${ARTICLE_SLUG}"]`);
  await hit.waitForDisplayed({ timeout: 15_000, timeoutMsg: "the printer article in the self-help panel" });
  assert.equal(await hit.$("h3").getText(), ARTICLE_TITLE);
  await hit.$(`button[aria-label="Show steps: ${ARTICLE_TITLE}"]`).click();

  const article = await browser.$('[data-testid="self-help-article"]');
  await browser.$("#article-title").waitUntil(async function () {
    return (await this.getText()) === ARTICLE_TITLE;
  }, { timeout: 10_000, timeoutMsg: "the article to open" });
  const steps = await article.$$("ol > li");
  assert.equal(steps.length, 3, "the article's numbered steps are rendered as a list");
  assert.match(await steps[0].getText(), /switched on/);
  return article;
}

before(async () => {
  browser = await remote({
    hostname: "127.0.0.1",
    port: Number(env("HR_WD_PORT")),
    logLevel: "warn",
    connectionRetryTimeout: 60_000,
    connectionRetryCount: 1,
    capabilities: {
      "tauri:options": { application: env("HR_APP_BIN"), args: ["--window", "report"] },
    },
  });
  await browser.setTimeout({ implicit: 0 });
});

after(async () => {
  if (browser) {
    try {
      await browser.deleteSession();
    } catch {
      /* the window may already be gone; run.mjs stops tauri-driver and the app */
    }
  }
});

test("the report window opens at #/report", async () => {
  try {
    await browser.waitUntil(async () => (await browser.getTitle()) === "Report a problem — HandRaise", { timeout: 20_000 });
  } catch {
    // A binary built without `--features custom-protocol` loads the dev server instead of the UI.
    const [url, title] = [await browser.getUrl().catch(() => "?"), await browser.getTitle().catch(() => "?")];
    await shot("wd-0-no-report-page.png");
    assert.fail(
      `the report page did not load (url ${url}, title ${JSON.stringify(title)}); ` +
        "was the app built with `npm --prefix ui run build && cargo build -p handraise-app --features custom-protocol`?",
    );
  }
  assert.match(await browser.getUrl(), /#\/report$/);
  await browser.$("h2=What's wrong?").waitForDisplayed({ timeout: 10_000 });
  await shot("wd-1-report-form.png");
});

test("self-help: the technician's printer article matches, Still broken, submit → saved then sent exactly once", async () => {
  await fillAndOpenArticle();
  await shot("wd-2-self-help-article.png");

  await browser.$("button=Still broken").click();
  await browser.$(`li=You tried: ${ARTICLE_TITLE}`).waitForDisplayed({ timeout: 5000 });
  assert.equal(await browser.$('[data-testid="self-help-article"]').isExisting(), false, "the article closed");

  // Record every text the submit status shows, so a quick "Saved" → "Sent" is never missed.
  await browser.execute(() => {
    window.__statusTexts = [];
    const seen = () => {
      const el = document.querySelector('[data-testid="submit-status"]');
      const text = el ? el.textContent.trim() : null;
      const list = window.__statusTexts;
      if (text && list[list.length - 1] !== text) list.push(text);
    };
    new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await browser.$("button=Send to the help desk").click();

  const status = await browser.$('[data-testid="submit-status"]');
  await status.waitForDisplayed({ timeout: 10_000 });
  await status.waitUntil(async function () {
    return /^Sent — ticket #\d+$/.test((await this.getText()).trim());
  }, { timeout: 30_000, interval: 250, timeoutMsg: "the ticket to be sent by the sync loop" });
  await shot("wd-3-sent.png");
  const texts = await browser.execute(() => window.__statusTexts);
  ticketNumber = Number((await status.getText()).match(/#(\d+)/)[1]);
  assert.equal(texts[0], "Saved on this computer — it will be sent automatically", `status texts: ${JSON.stringify(texts)}`);
  assert.equal(texts[texts.length - 1], `Sent — ticket #${ticketNumber}`);

  const tickets = serverTickets();
  const mine = tickets.filter((t) => t.summary === SUMMARY);
  assert.equal(mine.length, 1, `exactly one "${SUMMARY}" ticket on the server: ${JSON.stringify(tickets)}`);
  assert.equal(tickets.length, 1, "and no other ticket");
  assert.equal(mine[0].number, ticketNumber);
  assert.equal(mine[0].category, "printer");
  assert.equal(mine[0].status, "new");

  // The technician sees that the teacher tried the article.
  const full = await tech("GET", `/api/v1/tech/tickets/${ticketNumber}`);
  assert.deepEqual(
    (full.self_help ?? []).map((s) => [s.article_slug, s.outcome]),
    [[ARTICLE_SLUG, "still_broken"]],
    `self-help on the ticket: ${JSON.stringify(full.self_help)}`,
  );
});

test("a technician's reply reaches My tickets", async () => {
  assert.ok(ticketNumber, "the previous test sent a ticket");
  await tech("POST", `/api/v1/tech/tickets/${ticketNumber}/reply`, { body: REPLY });

  // "See My tickets" on the result page navigates the same webview to #/tickets.
  await browser.$("a=See My tickets").click();
  await browser.waitUntil(async () => (await browser.getTitle()) === "My tickets — HandRaise", {
    timeout: 10_000,
    timeoutMsg: "the My tickets page",
  });
  const item = await browser.$(`[data-testid="ticket-item"]*=${SUMMARY}`);
  await item.waitForDisplayed({ timeout: 10_000 });
  assert.equal((await browser.$$('[data-testid="ticket-item"]')).length, 1, "one ticket in My tickets");
  await shot("wd-4-my-tickets.png");
  await item.$(`a*=${SUMMARY}`).click();

  await browser.$(`h1=${SUMMARY}`).waitForDisplayed({ timeout: 10_000 });
  assert.match(await browser.$(`p*=Ticket #${ticketNumber}`).getText(), new RegExp(`Ticket #${ticketNumber}`));
  // The app's sync loop long-polls the updates feed; the reply arrives without a reload.
  const reply = await browser.$('[data-testid="message"][data-author="technician"]');
  await reply.waitForDisplayed({ timeout: 30_000, interval: 250, timeoutMsg: "the technician's reply (30 s)" });
  assert.equal(await reply.$(".body").getText(), REPLY);
  assert.match(await reply.$(".who").getText(), /Sam Rivera/);
  await shot("wd-5-ticket-reply.png");
});

test('"This fixed it" deflects: nothing new reaches the server', async () => {
  const before = serverTickets().length;
  await go("#/report");
  await browser.waitUntil(async () => (await browser.getTitle()) === "Report a problem — HandRaise", {
    timeout: 10_000,
    timeoutMsg: "back on the report page",
  });
  await fillAndOpenArticle();
  await browser.$("button=This fixed it").click();

  const thanks = await browser.$('[data-testid="deflected"]');
  await thanks.waitForDisplayed({ timeout: 5000 });
  assert.match(await thanks.getText(), /Great — glad it's working!/);
  assert.match(await thanks.getText(), /Nothing was sent to the help desk/);
  // The page closes its window after 5 s; "Report a problem anyway" cancels that and keeps the
  // webview (and this session) alive.
  await browser.$("button=Report a problem anyway").click();
  await shot("wd-6-deflected-back-to-form.png");
  await browser.$("#summary").waitForDisplayed({ timeout: 5000 });

  // A sync pass of the shared data directory sends anything queued; then compare.
  syncAgent();
  assert.equal(serverTickets().length, before, "no new ticket on the server");
  await go("#/tickets");
  await browser.$('[data-testid="ticket-item"]').waitForDisplayed({ timeout: 10_000 });
  assert.equal((await browser.$$('[data-testid="ticket-item"]')).length, 1, "still one ticket in My tickets");
});

test("an outage posted by a technician shows as a banner, and Me too reaches the server", async () => {
  const title = "Printers are down in the north wing";
  const created = await tech("POST", "/api/v1/tech/announcements", {
    kind: "outage",
    title,
    message: "We know, and we are fixing it. No need to report it.",
    category: null,
  });
  // A sync of the shared data directory (as the tray's own loop would do) caches it; the
  // open window notices the change from another process and shows the banner.
  syncAgent();
  await go("#/report");
  const banner = await browser.$(`[data-testid="announcement"][data-announcement="${created.id}"]`);
  await banner.waitForDisplayed({ timeout: 15_000, timeoutMsg: "the outage banner" });
  assert.match(await banner.getText(), new RegExp(title));
  await browser.$("#room").setValue("12B");
  await banner.$('[data-testid="me-too"]').click();
  await banner.$('[data-testid="me-too-status"] .done').waitForDisplayed({ timeout: 10_000 });
  await shot("wd-7-outage-me-too.png");
  // The window's sync loop sends it; the technician sees the room counted once.
  const detail = await waitFor(
    "the me-too on the server",
    async () => {
      const d = await tech("GET", `/api/v1/tech/announcements/${created.id}`);
      return d.me_too_total >= 1 ? d : null;
    },
    { timeout: 30_000, interval: 500 },
  );
  assert.equal(detail.me_too_total, 1, JSON.stringify(detail));
  assert.deepEqual(detail.me_too_by_room.map((r) => [r.room, r.reports]), [["12B", 1]]);
  await tech("POST", `/api/v1/tech/announcements/${created.id}/end`);
});

test("Check my connection reports the district server reachable", async () => {
  await go("#/about");
  await browser.waitUntil(async () => (await browser.getTitle()) === "About this computer — HandRaise", {
    timeout: 10_000,
    timeoutMsg: "the About page",
  });
  await browser.$('[data-testid="check-connection"]').click();
  const verdict = await browser.$('[data-testid="conn-verdict"]');
  await verdict.waitForDisplayed({ timeout: 20_000, timeoutMsg: "the verdict" });
  const server = await browser.$('[data-testid="conn-checks"] li[data-key="server"]');
  assert.match(await server.getText(), /Works/, await server.getText());
  await shot("wd-8-about-connection.png");
});
