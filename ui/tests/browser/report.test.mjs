import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { calls, checkA11y, emit, focused, launch, openView, shot, tabTo } from "./helpers.mjs";
import { scenario, status } from "./fixtures.mjs";

const SAVED = "Saved on this computer — it will be sent automatically";
let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

describe("Report a problem", () => {
  test("the form says who the report is from, with a way to add an email", async () => {
    const { page, context } = await openView(browser, "#/report", scenario());
    await page.getByText("From: Ms. Rivera <mrivera@lincoln.example.org>").waitFor();
    await page.getByRole("link", { name: "Change" }).waitFor();
    await context.close();
    const none = await openView(browser, "#/report", scenario({ status: status({ reporter_email: null }) }));
    await none.page.getByText("From: Ms. Rivera (no email; answers arrive in this app)").waitFor();
    await none.page.getByRole("link", { name: "Add your email" }).waitFor();
    await none.context.close();
  });

  test("whole flow by keyboard: tile, summary, matching tip, still broken, attach, submit, saved → sent (event)", async () => {
    const { page, context, errors } = await openView(browser, "#/report", scenario());
    assert.deepEqual((await calls(page, "ui_ready")).map((c) => c.args), [{ view: "report" }]);
    await page.getByText("Connected to the help desk").waitFor();

    // Room is prefilled from app state.
    assert.equal(await page.getByLabel("Room", { exact: true }).inputValue(), "B-12");

    // Pick "Printer" with the keyboard: Tab into the radio group, Space, then arrows.
    await tabTo(page, 'input[name="category"]');
    await page.keyboard.press("Space");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    assert.equal((await focused(page)).value, "printer");
    assert.equal(await page.locator('input[name="category"]:checked').inputValue(), "printer");
    const printerTile = page.getByRole("radio", { name: "Printer" });
    assert.equal(await printerTile.isChecked(), true);

    // Type the summary; a matching article appears beside the form.
    await page.keyboard.press("Tab");
    assert.equal((await focused(page)).id, "summary");
    await page.keyboard.type("Paper jam in the printer");
    const tips = page.getByRole("complementary", { name: "This might fix it" });
    await tips.getByRole("heading", { name: "Clear a paper jam" }).waitFor();
    // Debounced: the last search carries the full text. The tip can show before the debounce
    // of the last keystrokes fires, so wait for that call rather than read the log at once.
    const full = { query: "Paper jam in the printer", category: "printer" };
    await page.waitForFunction((want) => {
      const last = window.__calls.filter((c) => c.cmd === "search_help").at(-1)?.args;
      return last?.query === want.query && last?.category === want.category;
    }, full);
    const searches = await calls(page, "search_help");
    // Far fewer searches than keystrokes.
    assert.ok(searches.length < 10, `too many searches: ${searches.length}`);
    assert.deepEqual(searches.at(-1).args, full);
    await checkA11y(page, "report form with tips");
    await shot(page, "report-form");

    // Open it: numbered steps, HTML in the article is shown as text.
    await tips.getByRole("button", { name: "Show steps: Clear a paper jam" }).click();
    const article = tips.getByRole("article");
    await article.getByRole("heading", { name: "Clear a paper jam" }).waitFor();
    assert.deepEqual(await article.locator("ol > li").allTextContents(), [
      "Open the front door.",
      "Pull the stuck paper out gently.",
      "Close the door and turn the printer on.",
    ]);
    assert.equal(await article.locator("script").count(), 0);
    assert.match(await article.textContent(), /<script>window\.__pwned = true<\/script>/);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    await checkA11y(page, "report with open article");
    await shot(page, "report-article");
    await article.getByRole("button", { name: "Still broken" }).click();
    await page.getByText("You tried: Clear a paper jam").waitFor();
    assert.equal((await focused(page)).id, "summary");

    // What we'll attach: untick battery, include screenshot.
    await page.getByText("What we'll attach").click();
    await page.getByLabel("Computer name: LAB-12").waitFor();
    assert.equal(await page.getByLabel("Windows 11 (23H2)", { exact: false }).isChecked(), true);
    await page.getByLabel("Battery: 54%").uncheck();
    const shotBox = page.getByLabel("Include a screenshot");
    assert.equal(await shotBox.isChecked(), false);
    await shotBox.check();
    assert.equal(await page.getByRole("img", { name: "Preview of your screen" }).isVisible(), true);

    await page.getByRole("radio", { name: "Yes, right now" }).check();
    await page.getByLabel("More details (optional)").fill("Third time today.");
    await checkA11y(page, "report with attachments open");

    await page.getByRole("button", { name: "Send to the help desk" }).click();
    const statusBox = page.getByTestId("submit-status");
    await page.getByRole("status").filter({ hasText: SAVED }).waitFor({ timeout: 2000 });
    await shot(page, "report-saved");
    const submits = await calls(page, "submit_report");
    assert.equal(submits.length, 1);
    assert.deepEqual(submits[0].args.input, {
      category: "printer",
      summary: "Paper jam in the printer",
      details: "Third time today.",
      urgency: "now",
      scope: "me",
      room: "B-12",
      tried: [{ article_slug: "printer-jam", outcome: "still_broken" }],
      omit_facts: ["battery"],
      include_screenshot: true,
      announcement_id: null,
    });

    await statusBox.getByText("Sent — ticket #1234").waitFor({ timeout: 5000 });
    assert.equal(await statusBox.getAttribute("role"), "status");
    await checkA11y(page, "report sent");
    await shot(page, "report-sent");
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("sent is also picked up by polling get_ticket when no event arrives", async () => {
    const { page, context } = await openView(browser, "#/report", scenario({ emitEvents: false, sendDelayMs: 200 }));
    await page.getByRole("radio", { name: "Sound or microphone" }).check();
    await page.getByLabel("What's wrong, in a few words?").fill("No sound from speakers");
    await page.getByRole("button", { name: "Send to the help desk" }).click();
    await page.getByText(SAVED).waitFor();
    await page.getByText("Sent — ticket #1234").waitFor({ timeout: 4000 });
    const polls = await calls(page, "get_ticket");
    assert.ok(polls.length >= 1);
    assert.deepEqual(polls[0].args, { clientId: "0190c0de-0000-7000-8000-00000000abcd" });
    await context.close();
  });

  test("offline: confirmation stays 'Saved on this computer…' while the ticket stays queued", async () => {
    const offline = status({ online: false, offline_since: new Date(Date.now() - 600000).toISOString(), queued_count: 2 });
    const { page, context } = await openView(browser, "#/report", scenario({ status: offline, submitOutcome: "queued" }));
    const header = page.getByRole("region", { name: "Connection status" });
    await header.getByText(/^Offline since /).waitFor();
    await header.getByText("2 reports waiting to send").waitFor();
    await page.getByRole("radio", { name: "Wi-Fi or internet" }).check();
    await page.getByLabel("What's wrong, in a few words?").fill("Internet is down");
    await page.getByRole("button", { name: "Send to the help desk" }).click();
    await page.getByText(SAVED).waitFor();
    // While the ticket stays queued the page keeps polling; after two polls it still says saved.
    await page.waitForFunction(() => window.__calls.filter((c) => c.cmd === "get_ticket").length >= 2);
    assert.equal(await page.getByText(SAVED).isVisible(), true);
    assert.equal(await page.getByText(/Sent — ticket/).count(), 0);
    assert.ok((await calls(page, "get_ticket")).length >= 2, "polls while queued");
    // An event saying it is still queued changes nothing.
    await emit(page, "ticket-updated", { ...(await page.evaluate(() => window.__mock.state.tickets[0])) });
    assert.equal(await page.getByText(SAVED).isVisible(), true);
    await checkA11y(page, "report offline saved");
    await shot(page, "report-offline-saved");
    // "Try sending now" calls sync_now.
    await header.getByRole("button", { name: "Try sending now" }).click();
    await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "sync_now"));
    await context.close();
  });

  test("rejected: shows the reason and a link to My tickets", async () => {
    const sc = scenario({ submitOutcome: "rejected", rejectReason: "Summary contains only emoji" });
    const { page, context } = await openView(browser, "#/report", sc);
    await page.getByRole("radio", { name: "Something else" }).check();
    await page.getByLabel("What's wrong, in a few words?").fill("🙃");
    await page.getByRole("button", { name: "Send to the help desk" }).click();
    await page.getByText("The help desk could not accept this report: Summary contains only emoji").waitFor();
    await page.getByRole("link", { name: "See My tickets" }).click();
    await page.getByRole("heading", { name: "My tickets", level: 1 }).waitFor();
    await page.getByText("Not accepted: Summary contains only emoji").waitFor();
    await context.close();
  });

  test("self-help deflection: 'This fixed it' records it, files nothing, thanks and closes", async () => {
    const { page, context } = await openView(browser, "#/report", scenario());
    await page.getByRole("radio", { name: "Wi-Fi or internet" }).click();
    await page.getByLabel("What's wrong, in a few words?").fill("wifi will not connect");
    await page.getByRole("button", { name: "Show steps: Reconnect to the school Wi-Fi" }).click();
    await page.getByRole("article").locator("ol > li").first().waitFor();
    assert.equal(await page.getByRole("article").locator("ol > li").count(), 3);
    await page.getByRole("button", { name: "This fixed it" }).click();
    await page.getByRole("heading", { name: "Great — glad it's working!" }).waitFor();
    assert.deepEqual((await calls(page, "record_deflection")).map((c) => c.args), [{ slug: "wifi-reconnect" }]);
    assert.equal((await calls(page, "submit_report")).length, 0);
    await checkA11y(page, "deflection thanks");
    await shot(page, "report-deflected");
    await page.getByRole("button", { name: "Close now" }).click();
    await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "close_window"));
    assert.equal((await calls(page, "submit_report")).length, 0);
    await context.close();
  });

  test("thank-you closes the window by itself after a few seconds", async () => {
    const { page, context } = await openView(browser, "#/report", scenario());
    await page.getByRole("radio", { name: "Printer" }).check();
    await page.getByRole("button", { name: "Show steps: Printer says offline" }).click();
    await page.getByRole("button", { name: "This fixed it" }).click();
    await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "close_window"), null, { timeout: 8000 });
    await context.close();
  });

  test("validation: inline errors in words, focus moves to the first error, nothing is sent", async () => {
    const { page, context } = await openView(browser, "#/report", scenario());
    await page.getByRole("button", { name: "Send to the help desk" }).click();
    await page.getByText("Choose what kind of problem it is.").waitFor();
    await page.getByText("Write a few words about what's wrong.").waitFor();
    assert.equal((await focused(page)).name, "category");
    await checkA11y(page, "report with errors");
    await shot(page, "report-errors");
    await page.keyboard.press("Space"); // picks the focused tile
    await page.getByRole("button", { name: "Send to the help desk" }).click();
    assert.equal((await focused(page)).id, "summary");
    assert.equal(await page.getByLabel("What's wrong, in a few words?").getAttribute("aria-invalid"), "true");
    await page.getByLabel("What's wrong, in a few words?").fill("x".repeat(201));
    await page.getByRole("button", { name: "Send to the help desk" }).click();
    await page.getByText(/keep this under 200 characters/).waitFor();
    assert.equal((await calls(page, "submit_report")).length, 0);
    await context.close();
  });

  test("submit failure keeps the form and says so", async () => {
    const sc = scenario({ submitError: { code: "storage", message: "disk full" } });
    const { page, context } = await openView(browser, "#/report", sc);
    await page.getByRole("radio", { name: "Printer" }).check();
    await page.getByLabel("What's wrong, in a few words?").fill("Printer broken");
    await page.getByRole("button", { name: "Send to the help desk" }).click();
    await page.getByRole("alert").getByText("This report could not be saved on this computer. Please try again.").waitFor();
    assert.equal(await page.getByLabel("What's wrong, in a few words?").inputValue(), "Printer broken");
    await context.close();
  });

  test("announcements for the chosen category (or none) show read-only at the top", async () => {
    const ann = [
      { id: 7, kind: "outage", title: "Wi-Fi is down in Main building", message: "We are on it. No need to report it.", category: "wifi", starts_at: new Date().toISOString() },
      { id: 8, kind: "notice", title: "Grades close Friday", message: "Save your work.", category: null, starts_at: new Date().toISOString() },
    ];
    const { page, context } = await openView(browser, "#/report", scenario({ status: status({ announcements: ann }) }));
    const region = page.getByRole("region", { name: "Help desk announcements" });
    await region.getByText("Grades close Friday").waitFor();
    assert.equal(await region.getByText("Wi-Fi is down in Main building").count(), 0);
    await page.getByRole("radio", { name: "Wi-Fi or internet" }).check();
    await region.getByText("Wi-Fi is down in Main building").waitFor();
    await region.getByText("We are on it. No need to report it.").waitFor();
    await checkA11y(page, "report with announcements");
    await shot(page, "report-announcements");
    await page.getByRole("radio", { name: "Printer" }).check();
    await page.waitForFunction(() => !document.body.textContent.includes("Wi-Fi is down in Main building"));
    await context.close();
  });

  test("no screenshot available: the checkbox is hidden", async () => {
    const { page, context } = await openView(browser, "#/report", scenario({ screenshot: null }));
    await page.getByText("What we'll attach").click();
    await page.getByLabel("Computer name: LAB-12").waitFor();
    assert.equal(await page.getByLabel("Include a screenshot").count(), 0);
    await context.close();
  });

  test("works at 200% text: no horizontal scrolling, targets stay ≥ 44px", async () => {
    const { page, context } = await openView(browser, "#/report", scenario(), { viewport: { width: 800, height: 700 } });
    await page.addStyleTag({ content: "html { font-size: 200% !important; }" });
    await page.getByRole("radio", { name: "Printer" }).check();
    await page.getByLabel("What's wrong, in a few words?").fill("printer jam");
    await page.getByRole("button", { name: "Show steps: Clear a paper jam" }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `horizontal overflow of ${overflow}px`);
    await shot(page, "report-200pct");
    await page.addStyleTag({ content: "html { font-size: 100% !important; }" });
    const small = await page.evaluate(() =>
      [...document.querySelectorAll("button, a, label.tile, label.choice, summary")]
        .filter((el) => el.offsetParent !== null)
        .map((el) => ({ t: el.textContent.trim().slice(0, 30), h: el.getBoundingClientRect().height }))
        .filter((x) => x.h < 44),
    );
    assert.deepEqual(small, []);
    await context.close();
  });
});
