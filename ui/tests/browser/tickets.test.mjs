import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { calls, checkA11y, emit, launch, openView, shot } from "./helpers.mjs";
import { scenario, status, tickets } from "./fixtures.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const withTickets = (o = {}) => scenario({ tickets: tickets(), status: status({ unread_count: 1 }), ...o });

describe("My tickets", () => {
  test("lists every ticket newest first with its state in plain words and an unread badge", async () => {
    const { page, context, errors } = await openView(browser, "#/tickets", withTickets());
    await page.getByRole("heading", { name: "My tickets", level: 1 }).waitFor();
    assert.deepEqual((await calls(page, "ui_ready")).map((c) => c.args), [{ view: "tickets" }]);
    const items = page.locator("li[data-client-id]");
    await items.first().waitFor();
    assert.deepEqual(await items.evaluateAll((els) => els.map((e) => e.dataset.clientId)), [
      "t-queued", "t-rejected", "t-waiting", "t-new", "t-assigned", "t-progress", "t-resolved", "t-closed",
    ]);
    const stateOf = async (id) => (await page.locator(`li[data-client-id="${id}"] [data-testid="ticket-state"]`).textContent()).trim();
    assert.equal(await stateOf("t-queued"), "Waiting on this computer — will send automatically");
    assert.equal(await stateOf("t-rejected"), "Not accepted: The screenshot was too large");
    assert.equal(await stateOf("t-new"), "Received — #1201");
    assert.equal(await stateOf("t-assigned"), "Assigned to Sam Ortiz");
    assert.equal(await stateOf("t-progress"), "In progress");
    assert.equal(await stateOf("t-waiting"), "Waiting on you");
    assert.equal(await stateOf("t-resolved"), "Resolved");
    assert.equal(await stateOf("t-closed"), "Closed");
    // Unread badge on the ticket and in the header.
    assert.equal(await page.locator('li[data-client-id="t-waiting"]').getByText("New reply").count(), 1);
    assert.equal(await page.locator("li[data-client-id]").getByText("New reply").count(), 1);
    await page.getByRole("link", { name: "My tickets (1 ticket with a new reply)" }).waitFor();
    await checkA11y(page, "tickets list");
    await shot(page, "tickets-list");

    // tickets-changed refreshes the list.
    await page.evaluate(() => {
      const t = window.__mock.state.tickets.find((x) => x.client_id === "t-queued");
      Object.assign(t, { state: "sent", status: "new", number: 1300 });
    });
    await emit(page, "tickets-changed", null);
    await page.locator('li[data-client-id="t-queued"]').getByText("Received — #1300").waitFor();
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("empty list says so and offers to report", async () => {
    const { page, context } = await openView(browser, "#/tickets", scenario());
    await page.getByText("You haven't reported any problems from this computer.").waitFor();
    await page.getByRole("main").getByRole("link", { name: "Report a problem" }).waitFor();
    await context.close();
  });

  test("opening a ticket shows the conversation, marks it read, and sends a reply", async () => {
    const { page, context } = await openView(browser, "#/tickets", withTickets());
    await page.getByRole("link", { name: /Can't sign in to the grade book/ }).click();
    await page.getByRole("heading", { name: "Can't sign in to the grade book", level: 1 }).waitFor();
    await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "mark_read"));
    assert.deepEqual((await calls(page, "mark_read")).map((c) => c.args), [{ clientId: "t-waiting" }]);
    assert.deepEqual((await calls(page, "get_ticket")).at(-1).args, { clientId: "t-waiting" });
    await page.getByText("Ticket #1199").waitFor();

    const msgs = page.locator("ol.conversation > li");
    assert.equal(await msgs.count(), 2);
    assert.deepEqual(await msgs.evaluateAll((els) => els.map((e) => e.dataset.author)), ["teacher", "technician"]);
    assert.match(await msgs.nth(0).textContent(), /You/);
    assert.match(await msgs.nth(1).textContent(), /Sam Ortiz/);
    assert.equal(await msgs.nth(1).locator("time").count(), 1);
    // Visually distinct: different backgrounds and alignment.
    const styles = await msgs.evaluateAll((els) => els.map((e) => getComputedStyle(e).backgroundColor + "|" + getComputedStyle(e).alignSelf));
    assert.notEqual(styles[0], styles[1]);

    // Empty reply → inline error, nothing sent.
    await page.getByRole("button", { name: "Send reply" }).click();
    await page.getByText("Write a message first.").waitFor();
    assert.equal((await calls(page, "send_message")).length, 0);

    await page.getByLabel("Reply to the technician").fill("The reset link worked, thanks!");
    await page.getByRole("button", { name: "Send reply" }).click();
    await msgs.nth(2).getByText("The reset link worked, thanks!").waitFor();
    assert.deepEqual((await calls(page, "send_message")).map((c) => c.args), [
      { clientId: "t-waiting", body: "The reset link worked, thanks!" },
    ]);
    await msgs.nth(2).getByText("Waiting to send").waitFor();
    assert.equal(await page.getByLabel("Reply to the technician").inputValue(), "");
    await checkA11y(page, "ticket conversation");
    await shot(page, "ticket-conversation");

    // A technician reply arriving as an event shows up.
    const updated = await page.evaluate(() => {
      const t = window.__mock.state.tickets.find((x) => x.client_id === "t-waiting");
      t.messages.push({ id: "m9", author: "technician", author_name: "Sam Ortiz", body: "Great, closing this.", at: new Date().toISOString(), state: "received" });
      t.status = "resolved";
      return JSON.parse(JSON.stringify(t));
    });
    await emit(page, "ticket-updated", updated);
    await page.getByText("Great, closing this.").waitFor();
    await page.getByRole("button", { name: "It's fixed" }).waitFor();
    await context.close();
  });

  test("resolved ticket: It's fixed / Still broken and a one-tap rating", async () => {
    const { page, context } = await openView(browser, "#/tickets/t-resolved", withTickets());
    assert.deepEqual((await calls(page, "ui_ready")).map((c) => c.args), [{ view: "ticket" }]);
    await page.getByRole("heading", { name: "Is it working now?" }).waitFor();
    await page.getByRole("button", { name: "It's fixed" }).click();
    await page.getByText("Thanks for confirming.").waitFor();
    assert.deepEqual((await calls(page, "confirm_fixed")).map((c) => c.args), [{ clientId: "t-resolved", fixed: true }]);
    assert.equal(await page.getByRole("button", { name: "It's fixed" }).getAttribute("aria-pressed"), "true");
    await page.getByRole("button", { name: "Still broken" }).click();
    await page.getByText("Thanks — the help desk will take another look.").waitFor();
    assert.deepEqual((await calls(page, "confirm_fixed")).at(-1).args, { clientId: "t-resolved", fixed: false });

    await page.getByRole("button", { name: "4 stars out of 5" }).click();
    await page.getByText("Thanks for rating!").waitFor();
    assert.deepEqual((await calls(page, "rate_ticket")).map((c) => c.args), [{ clientId: "t-resolved", rating: 4 }]);
    assert.equal(await page.getByRole("button", { name: "4 stars out of 5" }).getAttribute("aria-pressed"), "true");
    await checkA11y(page, "resolved ticket");
    await shot(page, "ticket-resolved");
    await context.close();
  });

  test("unknown ticket id says it was not found", async () => {
    const { page, context } = await openView(browser, "#/tickets/nope", withTickets());
    await page.getByRole("heading", { name: "We couldn't find this ticket." }).waitFor();
    await page.getByRole("link", { name: /Back to My tickets/ }).waitFor();
    await context.close();
  });

  test("header says when this computer needs to be reconnected", async () => {
    const paused = status({ paused_reason: "device_revoked", queued_count: 3, online: true });
    const { page, context } = await openView(browser, "#/tickets", scenario({ status: paused, tickets: tickets() }));
    const header = page.getByRole("region", { name: "Connection status" });
    await header.getByText("This computer needs to be reconnected to the help desk").waitFor();
    await header.getByText("3 reports waiting to send").waitFor();
    // status-changed updates the header live.
    await emit(page, "status-changed", status({ queued_count: 0 }));
    await header.getByText("Connected to the help desk").waitFor();
    await checkA11y(page, "tickets with paused header");
    await shot(page, "header-paused-then-online");
    await context.close();
  });
});
