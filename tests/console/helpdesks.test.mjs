// Browser test of the admin's help desks page against the real handraise-server binary, in
// headless Chromium with axe-core: a Request Tracker desk whose address is dead (its item
// waits, with the error in plain words, and is skipped back into HandRaise) and a webhook
// whose receiver refuses the first event (refused, then retried from the page and sent).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { chromium } from "playwright-core";
import { chromiumOptions, startServer, uuidv7, waitFor } from "../js/harness.mjs";
import { Axe, shot, signIn } from "./lib.mjs";

const ADMIN = { email: "ada@district.example", name: "Ada Admin", password: "the help desks admin password" };
let server, browser, admin, receiver, hookUrl;
const posts = [];
const axeRun = new Axe("helpdesks-axe-results.json");

before(async () => {
  // The webhook's receiver: the first POST is refused for good (422), the rest accepted.
  receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      posts.push({ event: req.headers["x-handraise-event"], body });
      res.writeHead(posts.length === 1 ? 422 : 200, { "content-type": "text/plain" });
      res.end(posts.length === 1 ? "unknown channel" : "ok");
    });
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  hookUrl = `http://127.0.0.1:${receiver.address().port}/hooks/it`;
  server = await startServer({ prefix: "hr-helpdesks-" });
  await server.cli.addUser({ ...ADMIN, role: "admin" });
  browser = await chromium.launch(chromiumOptions());
  admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
});

after(async () => {
  await axeRun.save();
  if (browser) await browser.close();
  if (server) await server.stop();
  if (receiver) receiver.close();
});

async function desks() {
  return JSON.parse(await server.cli.run("desk", "list", "--json"));
}

test("the help desks page shows each desk's outbox in plain words and retries or skips its items", async () => {
  // Port 9 on loopback: nothing listens there.
  await server.cli.runWithInput(["desk", "add", "--kind", "rt", "--name", "Dead RT", "--url", "http://127.0.0.1:9", "--secret-file", "-"], "1-14-token");
  await server.cli.runWithInput(["desk", "add", "--kind", "webhook", "--name", "IT chat", "--url", hookUrl, "--secret-file", "-"], "whsec-1");
  const token = (await server.cli.run("enroll-token", "create", "--label", "helpdesks")).trim().split("\n").pop();
  const enrolled = await server.api("POST", "/api/v1/enroll", { body: { token, hostname: "lab-3" } });
  assert.equal(enrolled.status, 201, enrolled.text);
  const filed = await server.api("POST", "/api/v1/tickets", {
    token: enrolled.json.device_secret,
    body: { client_id: uuidv7(), created_at: new Date().toISOString(), category: "printer", summary: "Printer in lab 3 jams" },
  });
  assert.equal(filed.status, 201, filed.text);
  const number = filed.json.number;

  // The desk was tried (unreachable) and the webhook refused its event.
  await waitFor("the RT desk tried and the webhook refused", async () => {
    const d = await desks();
    return d.find((x) => x.kind === "rt")?.last_error && d.find((x) => x.kind === "webhook")?.failed === 1;
  }, { timeout: 60_000, interval: 250 });

  const page = await admin.newPage();
  await signIn(page, server.url, ADMIN);
  await page.getByRole("link", { name: "Help desks" }).click();
  await page.waitForURL("**/console/admin/desks");
  const rt = page.locator("section.desk-health", { has: page.getByRole("heading", { name: "Dead RT" }) });
  await rt.getByText(/could not be reached: check that it is running/).first().waitFor();
  assert.match(await rt.locator("dd").nth(3).innerText(), /^1$/, "one item waits");
  assert.doesNotMatch(await rt.locator("dd").nth(4).innerText(), /Nothing waiting/);
  const hook = page.locator("section.desk-health", { has: page.getByRole("heading", { name: "IT chat" }) });
  await hook.getByText(/refused this item/).first().waitFor();
  await shot(page, "40-helpdesks.png");
  assert.deepEqual(await axeRun.check(page, "help desks"), []);

  // Retry the refused event: the receiver takes it this time.
  await hook.getByRole("button", { name: /^Retry: Event ticket\.new:/ }).click();
  await page.getByText("Queued for the desk again.").waitFor();
  await waitFor("the event posted again", async () => posts.length >= 2, { timeout: 30_000 });
  assert.equal(posts[1].event, "ticket.new");
  assert.equal(JSON.parse(posts[1].body).ticket.number, number);
  await waitFor("the webhook counts it sent", async () => (await desks()).find((x) => x.kind === "webhook").sent === 1, { timeout: 30_000 });

  // Skip the ticket waiting for the dead RT: it is worked in HandRaise instead.
  await page.getByRole("button", { name: `Skip, keep it in HandRaise: Ticket #${number}: Printer in lab 3 jams` }).click();
  await page.getByText("Kept in HandRaise").waitFor();
  const d = (await desks()).find((x) => x.kind === "rt");
  assert.equal(d.queued, 0, JSON.stringify(d));
  await page.goto(server.url + `/console/tickets/${number}`);
  assert.equal(await page.getByText(/forwarded to/i).count(), 0, "no longer forwarded");

  // Disable and enable a desk from the page.
  await page.goto(server.url + "/console/admin/desks");
  await page.getByRole("button", { name: "Disable Dead RT" }).click();
  await page.getByText("Desk disabled").waitFor();
  assert.equal((await desks()).find((x) => x.kind === "rt").enabled, false);
  await page.getByRole("button", { name: "Enable Dead RT" }).click();
  await page.getByText("Desk enabled").waitFor();
  assert.equal((await desks()).find((x) => x.kind === "rt").enabled, true);
  await page.close();
});

test("the help desks page is for admins only", async () => {
  await server.cli.addUser({ email: "tess@district.example", name: "Tess Tech", password: "a technician password", role: "technician" });
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, server.url, { email: "tess@district.example", password: "a technician password" });
  assert.equal(await page.getByRole("link", { name: "Help desks" }).count(), 0);
  const r = await page.goto(server.url + "/console/admin/desks");
  assert.equal(r.status(), 403);
  await context.close();
});
