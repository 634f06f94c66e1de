// Browser tests of the technician console: the real handraise-server binary on 127.0.0.1
// port 0 in a temporary data directory, the real handraise-agent for the reply round trip,
// and Debian's headless Chromium driven by playwright-core. Screenshots and the axe results
// go to tests/console/screenshots/ (gitignored).
//
//   npm --prefix tests/console ci && npm --prefix tests/console test
//
// HANDRAISE_BIN_DIR names the directory holding handraise-server and handraise-agent
// (default: target/debug of this repository). CHROMIUM overrides /usr/bin/chromium.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { AgentCli, chromiumOptions, startServer, uuidv7 } from "../js/harness.mjs";
import { Axe, TINY_PNG, shot, signIn as signInAt } from "./lib.mjs";

const ADMIN = { email: "ada@district.example", name: "Ada Admin", password: "correct horse battery staple" };
const TECH = { email: "tom@district.example", name: "Tom Tech", password: "tom-has-a-long-password" };

// Every teacher-supplied field of the XSS ticket carries one of these.
const XSS = {
  script: "<script>window.__xss = 'script'</script>",
  img: "<img src=x onerror=\"window.__xss='img'\">",
  svg: "<svg onload=\"window.__xss='svg'\"></svg>",
  attr: "\"><b id=\"injected\">bold</b>",
};

let agentDir, server, baseUrl, browser, admin, enrollToken, agentCli;
const axeRun = new Axe("axe-results.json");
const dialogs = [];

const agent = (...args) => agentCli.run(...args);
const api = (...args) => server.api(...args);
const axe = (page, name) => axeRun.check(page, name);
const signIn = (page, who) => signInAt(page, baseUrl, who);

async function newPage(context) {
  const page = await context.newPage();
  page.on("dialog", async (d) => {
    if (page.acceptNextDialog) {
      page.acceptNextDialog = false;
      await d.accept();
      return;
    }
    dialogs.push(d.message());
    await d.dismiss();
  });
  page.on("pageerror", (e) => dialogs.push(`pageerror: ${e.message}`));
  return page;
}

let agentTicket; // { client_id, number, summary }
let xssDevice; // { id, secret }
let xssTicket; // { client_id, number }

before(async () => {
  server = await startServer({ prefix: "hr-console-server-" });
  baseUrl = server.url;
  agentDir = await mkdtemp(path.join(tmpdir(), "hr-console-agent-"));
  agentCli = new AgentCli(agentDir);
  await server.cli.addUser({ ...ADMIN, role: "admin" });
  await server.cli.addUser({ ...TECH, role: "technician" });
  enrollToken = await server.cli.enrollToken("browser tests");

  // The real agent: enroll, report, sync.
  await agent("enroll", "--server", baseUrl, "--token", enrollToken, "--school", "Lincoln Elementary", "--building", "Main");
  const summary = "Projector in room 12 shows no picture";
  await agent("report", "--category", "display", "--summary", summary, "--urgency", "now", "--scope", "room", "--room", "12");
  await agent("sync");
  const status = JSON.parse(await agent("status", "--json"));
  const mine = status.find((t) => t.number);
  assert.ok(mine, `agent ticket was not received: ${JSON.stringify(status)}`);
  agentTicket = { client_id: mine.client_id, number: mine.number, summary };

  // A device over plain HTTP whose every teacher-supplied field is hostile.
  const enrolled = await api("POST", "/api/v1/enroll", {
    body: { token: enrollToken, hostname: `host ${XSS.img}`, school: `School ${XSS.script}`, building: `Bldg ${XSS.attr}`, os: `OS ${XSS.svg}`, model: `Model ${XSS.img}` },
  });
  assert.equal(enrolled.status, 201, enrolled.text);
  xssDevice = { id: enrolled.json.device_id, secret: enrolled.json.device_secret };
  const clientId = uuidv7();
  const ticket = await api("POST", "/api/v1/tickets", {
    token: xssDevice.secret,
    body: {
      client_id: clientId,
      created_at: new Date().toISOString(),
      category: "printer",
      summary: `Summary ${XSS.script}`,
      details: `Details ${XSS.img}\nsecond line ${XSS.attr}`,
      urgency: "soon",
      scope: "building",
      room: `Room ${XSS.svg}`,
      reporter: { os_user: `user ${XSS.attr}`, display_name: `Teacher ${XSS.script}`, email: `t${XSS.img}@x.example` },
      offline_at_submit: true,
      self_help: [{ article_slug: `slug-${XSS.script}`, outcome: "still_broken" }],
      snapshot: {
        schema_version: 1,
        hostname: `snap ${XSS.img}`,
        os_name: `Windows ${XSS.script}`,
        os_version: "11",
        manufacturer: `Maker ${XSS.attr}`,
        model: `Model ${XSS.svg}`,
        serial: `SN ${XSS.script}`,
        memory: { total_bytes: 8e9, used_bytes: 6e9 },
        disks: [
          { mount: `C: ${XSS.img}`, total_bytes: 256e9, free_bytes: 10e9 },
          { mount: "D:", total_bytes: 500e9, free_bytes: 300e9 },
        ],
        interfaces: [{ name: `eth ${XSS.script}`, mac: "00:11:22:33:44:55", addresses: ["10.0.0.12"] }],
        default_gateway: "10.0.0.1",
        dns_servers: ["10.0.0.2"],
        server_reachability: { reachable: false, error: `timed out ${XSS.img}` },
        battery: { charge_percent: 81, health_percent: 92, charging: false },
        wifi: { interface: "Wi-Fi", ssid: `Staff ${XSS.script}`, signal_percent: 22, band: "5 GHz" },
        directory: { kind: "hybrid", domain: `district ${XSS.img}`, tenant_id: "0e0adb39", tenant_name: `Tenant ${XSS.svg}` },
        displays: [{ name: `Panel ${XSS.attr}`, width: 1920, height: 1080 }],
        printers: [`Printer ${XSS.script}`],
        top_processes: [{ name: `proc ${XSS.svg}`, cpu_percent: 42.5, memory_bytes: 500e6 }],
        app_version: "0.1.0",
        time_zone: "America/Chicago",
        clock_skew_secs: 400,
      },
    },
  });
  assert.equal(ticket.status, 201, ticket.text);
  xssTicket = { client_id: clientId, number: ticket.json.number };
  const msg = await api("POST", `/api/v1/tickets/${clientId}/messages`, {
    token: xssDevice.secret,
    body: { client_id: uuidv7(), created_at: new Date().toISOString(), body: `Teacher says ${XSS.script} ${XSS.img}` },
  });
  assert.equal(msg.status, 201, msg.text);
  const png = await api("PUT", `/api/v1/tickets/${clientId}/screenshot`, { token: xssDevice.secret, raw: TINY_PNG, type: "image/png" });
  assert.equal(png.status, 200, png.text);

  browser = await chromium.launch(chromiumOptions());
  admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
});

after(async () => {
  await axeRun.save();
  if (browser) await browser.close();
  if (server) await server.stop();
  if (agentDir) await rm(agentDir, { recursive: true, force: true });
});

test("GET / sends a stranger to the sign-in page with a password field", async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  await page.goto(baseUrl + "/");
  assert.match(page.url(), /\/console\/sign-in$/);
  assert.equal(await page.locator('input[type="password"]').count(), 1);
  await shot(page, "01-sign-in.png");
  const serious = await axe(page, "sign-in");
  assert.deepEqual(serious, []);
  // The queue itself also redirects.
  await page.goto(baseUrl + "/console/queue");
  assert.match(page.url(), /\/console\/sign-in$/);
  await context.close();
});

test("an admin signs in; the session cookie is HttpOnly and SameSite", async () => {
  const page = await newPage(admin);
  await signIn(page, ADMIN);
  const cookie = (await admin.cookies()).find((c) => c.name === "hr_session");
  assert.ok(cookie, "no session cookie");
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, "Lax");
  await page.goto(baseUrl + "/");
  assert.match(page.url(), /\/console\/queue$/);
  await page.close();
});

test("the queue lists open tickets by impact with counts, filters and due badges", async () => {
  const page = await newPage(admin);
  await page.goto(baseUrl + "/console/queue");
  await page.getByRole("heading", { name: "Queue", level: 1 }).waitFor();
  const rows = page.locator("table.queue tbody tr");
  assert.equal(await rows.count(), 2);
  // Class-stopping room ticket (impact 6) and a building ticket due soon (impact 6): oldest first.
  assert.match(await rows.nth(0).innerText(), /Projector in room 12/);
  assert.match(await rows.nth(0).innerText(), /Due in/);
  assert.match(await page.locator(".counts").innerText(), /Received\s*2/);
  await page.getByLabel("Category").selectOption("printer");
  await page.getByRole("button", { name: "Apply filters" }).click();
  assert.equal(await page.locator("table.queue tbody tr").count(), 1);
  await page.getByLabel("Assignee").selectOption("-");
  await page.getByLabel("Category").selectOption("");
  await page.getByRole("button", { name: "Apply filters" }).click();
  assert.equal(await page.locator("table.queue tbody tr").count(), 2);
  await page.goto(baseUrl + "/console/queue");
  await shot(page, "02-queue.png");
  const serious = await axe(page, "queue");
  assert.deepEqual(serious, []);
  await page.close();
});

test("the queue refreshes in place when a new ticket arrives", async () => {
  const page = await newPage(admin);
  await page.goto(baseUrl + "/console/queue");
  const clientId = uuidv7();
  const r = await api("POST", "/api/v1/tickets", {
    token: xssDevice.secret,
    body: { client_id: clientId, created_at: new Date().toISOString(), category: "wifi", summary: "Wi-Fi drops every few minutes", scope: "district", urgency: "whenever" },
  });
  assert.equal(r.status, 201, r.text);
  const before = await page.evaluate(() => document.getElementById("queue-live").dataset.refreshed || "");
  await page.evaluate(() => window.handraiseRefreshQueue());
  await page.waitForFunction((b) => (document.getElementById("queue-live").dataset.refreshed || "") !== b, before);
  await page.getByRole("link", { name: "Wi-Fi drops every few minutes" }).waitFor();
  assert.equal(await page.locator("table.queue tbody tr").count(), 3);
  await page.close();
});

test("a technician works a ticket end to end and the agent receives the reply", async () => {
  const page = await newPage(admin);
  await page.goto(baseUrl + "/console/queue");
  await page.getByRole("link", { name: agentTicket.summary }).click();
  await page.getByRole("heading", { level: 1, name: new RegExp(agentTicket.summary) }).waitFor();

  await page.getByRole("button", { name: "Assign to me" }).click();
  await page.getByText("Assignment saved").waitFor();
  assert.match(await page.locator("dl.facts").first().innerText(), /Assigned to\s+Ada Admin/);

  const reply = "I'm on my way with a spare HDMI cable.";
  await page.getByLabel("Reply to the teacher").fill(reply);
  await page.getByRole("button", { name: "Send reply" }).click();
  await page.getByText("Reply sent to the teacher.").waitFor();

  const note = "Cable in room 12 is frayed; order two more.";
  await page.getByLabel(/Internal note/).fill(note);
  await page.getByRole("button", { name: "Add note" }).click();
  await page.getByText("Internal note added").waitFor();
  assert.equal(await page.locator(".conversation .msg.note").count(), 1);
  assert.equal(await page.locator(".conversation .msg.technician").count(), 1);

  await page.getByLabel("Status", { exact: true }).selectOption("resolved");
  await page.getByRole("button", { name: "Change status" }).click();
  await page.getByText("Status changed").waitFor();
  assert.match(await page.locator(".badges").innerText(), /Resolved/);
  await shot(page, "03-ticket.png");
  const serious = await axe(page, "ticket");
  assert.deepEqual(serious, []);

  // The agent hears about it through the updates feed.
  await agent("sync");
  const status = JSON.parse(await agent("status", "--json"));
  const t = status.find((x) => x.client_id === agentTicket.client_id);
  assert.ok(t, JSON.stringify(status));
  assert.equal(t.status, "resolved");
  assert.equal(t.assignee, ADMIN.name);
  assert.ok(t.messages.some((m) => m.body === reply), JSON.stringify(t.messages));
  assert.ok(!t.messages.some((m) => m.body === note), "an internal note reached the device");

  // The API sees the same ticket (same operations, same names).
  await page.close();
});

test("every teacher field renders as text, never as markup", async () => {
  const page = await newPage(admin);
  await page.goto(`${baseUrl}/console/tickets/${xssTicket.number}`);
  const main = page.locator("main");
  const text = await main.innerText();
  for (const needle of [
    `Summary ${XSS.script}`,
    `Teacher ${XSS.script}`,
    `Room ${XSS.svg}`,
    `Teacher says ${XSS.script} ${XSS.img}`,
    `Windows ${XSS.script} 11`,
    `SN ${XSS.script}`,
    `Printer ${XSS.script}`,
    `proc ${XSS.svg}`,
    `C: ${XSS.img}`,
    `Staff ${XSS.script}`,
    `domain district ${XSS.img}`,
    `Tenant ${XSS.svg} (tenant 0e0adb39)`,
    `School ${XSS.script}`,
    `host ${XSS.img}`,
  ]) {
    assert.ok(text.includes(needle), `missing literal text: ${needle}`);
  }
  assert.ok(text.includes(`Details ${XSS.img}`));
  assert.equal(await page.locator("#injected").count(), 0);
  assert.equal(await page.locator('main img[src="x"]').count(), 0);
  assert.equal(await page.locator("main svg").count(), 0);
  assert.equal(await page.locator("main script").count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  // Warnings: low disk, clock skew, unreachable server, weak Wi-Fi.
  const warnings = await page.locator(".warnings").innerText();
  assert.match(warnings, /Weak Wi-Fi signal \(22%\)/);
  assert.match(warnings, /only 4% free/);
  assert.match(warnings, /6 min 40|ahead of the server/);
  assert.match(warnings, /unreachable/);
  assert.equal(await page.locator("img.screenshot").count(), 1);
  const loaded = await page.locator("img.screenshot").evaluate((img) => img.complete && img.naturalWidth === 1);
  assert.ok(loaded, "the screenshot did not load");
  await shot(page, "04-ticket-xss.png");
  const serious = await axe(page, "ticket (hostile input)");
  assert.deepEqual(serious, []);

  for (const url of ["/console/queue", "/console/devices"]) {
    await page.goto(baseUrl + url);
    assert.equal(await page.locator("#injected").count(), 0, url);
    assert.equal(await page.locator('main img[src="x"]').count(), 0, url);
    assert.ok((await page.locator("main").innerText()).includes(XSS.script) || url === "/console/devices", url);
  }
  assert.deepEqual(dialogs, []);
  await page.close();
});

test("a duplicate is merged into another ticket", async () => {
  const page = await newPage(admin);
  const clientId = uuidv7();
  const r = await api("POST", "/api/v1/tickets", {
    token: xssDevice.secret,
    body: { client_id: clientId, created_at: new Date().toISOString(), category: "display", summary: "Room 12 projector again" },
  });
  assert.equal(r.status, 201, r.text);
  await page.goto(`${baseUrl}/console/tickets/${r.json.number}`);
  await page.getByLabel(/Merge this duplicate/).fill(String(agentTicket.number));
  await page.getByRole("button", { name: "Merge" }).click();
  await page.getByText("Merged as a duplicate").waitFor();
  assert.match(await page.locator(".badges").innerText(), new RegExp(`Duplicate of #${agentTicket.number}`));
  assert.match(await page.locator(".badges").innerText(), /Closed/);
  await page.close();
});

test("devices, users, enrollment tokens and SLA pages work for an admin", async () => {
  const page = await newPage(admin);
  await page.goto(baseUrl + "/console/devices");
  assert.equal(await page.locator("table tbody tr").count(), 2);
  await shot(page, "05-devices.png");
  assert.deepEqual(await axe(page, "devices"), []);

  await page.goto(baseUrl + "/console/admin/users");
  assert.match(await page.locator("table").innerText(), /tom@district\.example/);
  await shot(page, "06-users.png");
  assert.deepEqual(await axe(page, "users"), []);

  await page.goto(baseUrl + "/console/admin/enroll-tokens");
  await page.getByLabel(/Label/).fill("Second wave");
  await page.getByLabel(/^School/).fill("Lincoln Elementary");
  await page.getByLabel(/Days until it expires/).fill("7");
  await page.getByLabel(/Most computers/).fill("5");
  await page.getByRole("button", { name: "Create token" }).click();
  const token = (await page.locator("code.token").innerText()).trim();
  assert.match(token, /^[0-9a-f]{64}$/);
  await shot(page, "07-enroll-tokens.png");
  assert.deepEqual(await axe(page, "enrollment tokens"), []);
  const enrolled = await api("POST", "/api/v1/enroll", { body: { token, hostname: "new-laptop", school: "Elsewhere" } });
  assert.equal(enrolled.status, 201);
  assert.equal(enrolled.json.school, "Lincoln Elementary", "the token's school wins");
  // The token's row: its place, age, expiry and uses of its limit.
  await page.goto(baseUrl + "/console/admin/enroll-tokens");
  const row = page.locator("tr", { has: page.locator("th", { hasText: "Second wave" }) });
  const cells = await row.locator("td").allInnerTexts();
  assert.equal(cells[0], "Lincoln Elementary");
  assert.equal(cells[2], "0 min", "its age");
  assert.notEqual(cells[3], "Never", "it expires");
  assert.equal(cells[4], "1 of 5");
  assert.match(cells[6], /^Active/);

  await page.goto(baseUrl + "/console/admin/sla");
  await page.getByLabel(/One person/).fill("48");
  await page.getByRole("button", { name: "Save policy" }).click();
  await page.getByText("SLA policy saved").waitFor();
  assert.equal(await page.getByLabel(/One person/).inputValue(), "48");
  await shot(page, "08-sla.png");
  assert.deepEqual(await axe(page, "sla"), []);

  await page.goto(baseUrl + "/console/tickets/99999");
  assert.deepEqual(await axe(page, "not found"), []);
  await page.close();
});

test("revoking a device stops its secret and pauses its queue", async () => {
  const page = await newPage(admin);
  await page.goto(baseUrl + "/console/devices");
  page.acceptNextDialog = true;
  const before = await api("GET", "/api/v1/updates?cursor=0", { token: xssDevice.secret });
  assert.equal(before.status, 200);
  await page.getByRole("button", { name: /Revoke host/ }).click();
  await page.getByText("Device revoked").waitFor();
  const afterRevoke = await api("GET", "/api/v1/updates?cursor=0", { token: xssDevice.secret });
  assert.equal(afterRevoke.status, 403);
  assert.equal(afterRevoke.json.code, "device_revoked");
  await page.close();
});

test("a technician cannot open admin pages", async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  await signIn(page, TECH);
  const r = await page.goto(baseUrl + "/console/admin/users");
  assert.equal(r.status(), 403);
  await page.goto(baseUrl + "/console/devices");
  assert.equal(await page.getByRole("button", { name: /Revoke/ }).count(), 0);
  // Sign-out ends the session: the old cookie no longer works.
  const cookie = (await context.cookies()).find((c) => c.name === "hr_session");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL("**/console/sign-in");
  const stale = await fetch(baseUrl + "/console/queue", { headers: { cookie: `hr_session=${cookie.value}` }, redirect: "manual" });
  assert.equal(stale.status, 303);
  await context.close();
});

test("a form post without a valid CSRF token is refused", async () => {
  const page = await newPage(admin);
  const url = `${baseUrl}/console/tickets/${xssTicket.number}/reply`;
  const body = "Forged reply that must not be stored";
  for (const form of [{ body }, { body, csrf: "0".repeat(64) }]) {
    const r = await page.request.post(url, { form, maxRedirects: 0 });
    assert.equal(r.status(), 403);
    assert.match(await r.text(), /This form has expired/);
  }
  // In the browser: a reply form whose token was tampered with gets the 403 page.
  await page.goto(`${baseUrl}/console/tickets/${xssTicket.number}`);
  await page.locator('form[action$="/reply"] input[name="csrf"]').evaluate((el) => (el.value = "forged"));
  await page.getByLabel("Reply to the teacher").fill(body);
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/reply")),
    page.getByRole("button", { name: "Send reply" }).click(),
  ]);
  assert.equal(refused.status(), 403);
  await page.getByRole("heading", { name: "This form has expired" }).waitFor();
  await shot(page, "09-csrf-refused.png");
  assert.deepEqual(await axe(page, "csrf refused (403)"), []);
  // A cross-site page posting the form changes nothing: SameSite=Lax keeps the session
  // cookie home, so the post is sent to sign-in (which, still signed in, goes on to the queue).
  await page.goto("about:blank");
  await page.setContent(`<form method="post" action="${url}"><input name="body" value="${body}"></form>`);
  await Promise.all([
    page.waitForURL((u) => u.toString().startsWith(baseUrl)),
    page.evaluate(() => document.forms[0].submit()),
  ]);
  const landed = await page.locator("body").innerText();
  assert.ok(/This form has expired|Sign in|Queue/.test(landed), `${page.url()}: ${landed}`);
  assert.ok(!page.url().includes("/reply"), page.url());
  await page.goto(`${baseUrl}/console/tickets/${xssTicket.number}`);
  assert.ok(!(await page.locator("main").innerText()).includes(body));
  await page.close();
});

test("at 200% zoom the pages reflow without sideways scrolling", async () => {
  const page = await newPage(admin);
  await page.setViewportSize({ width: 640, height: 900 });
  for (const [url, name] of [
    [`/console/tickets/${agentTicket.number}`, "10-ticket-200-percent.png"],
    ["/console/queue", "11-queue-200-percent.png"],
    ["/console/devices", null],
  ]) {
    await page.goto(baseUrl + url);
    if (name) await shot(page, name);
    // Wide data tables scroll inside their own focusable region, never the whole page.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${url} scrolls sideways by ${overflow}px`);
  }
  assert.deepEqual(await axe(page, "queue at 200%"), []);
  await page.close();
});

test("wrong passwords are rate-limited", async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  await page.goto(baseUrl + "/console/sign-in");
  const statuses = [];
  for (let i = 0; i < 6; i++) {
    await page.getByLabel("Email").fill(TECH.email);
    // The sixth attempt uses the right password and is still refused.
    await page.getByLabel("Password").fill(i < 5 ? "not the password at all" : TECH.password);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/console/sign-in") && r.request().method() === "POST"),
      page.getByRole("button", { name: "Sign in" }).click(),
    ]);
    statuses.push(response.status());
    await page.waitForLoadState();
  }
  assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
  assert.match(await page.getByRole("alert").innerText(), /Too many failed sign-ins\. Please wait/);
  await shot(page, "12-rate-limited.png");
  assert.deepEqual(await axe(page, "sign-in (rate limited)"), []);
  await context.close();
});
