// Browser tests of console part 2 (knowledge base, announcements, dashboard, retention) against
// the real handraise-server and handraise-agent binaries, in headless Chromium with axe-core.
// Screenshots and axe results go to tests/console/screenshots/ (gitignored).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { AgentCli, bin, chromiumOptions, startServer, uuidv7 } from "../js/harness.mjs";
import { Axe, TINY_PNG, shot, signIn, writeOut } from "./lib.mjs";

const run = promisify(execFile);
const serverBin = bin("handraise-server");
const LEAD = { email: "lee@district.example", name: "Lee Lead", password: "the help desk lead password" };
const SCHOOL = "Lincoln Elementary";

let dataDir, agentDir, work, server, baseUrl, browser, lead, enrollToken, techToken, deviceSecret, agentCli;
const axeRun = new Axe("desk-axe-results.json");
const figures = {};
let agentTicket; // { client_id, number }
const known = {}; // dashboard tickets by name → { number, client_id }

const cli = (...args) => server.cli.run(...args);
const agent = (...args) => agentCli.run(...args);
const api = (...args) => server.api(...args);
const axe = (page, name) => axeRun.check(page, name);

async function enroll(hostname, school) {
  const r = await api("POST", "/api/v1/enroll", { body: { token: enrollToken, hostname, school } });
  assert.equal(r.status, 201, r.text);
  return r.json.device_secret;
}

async function file(secret, body) {
  const client_id = uuidv7();
  const r = await api("POST", "/api/v1/tickets", {
    token: secret,
    body: { client_id, created_at: new Date().toISOString(), snapshot: { schema_version: 1, hostname: "x" }, ...body },
  });
  assert.equal(r.status, 201, r.text);
  return { client_id, number: r.json.number };
}

before(async () => {
  server = await startServer({ prefix: "hr-desk-server-" });
  baseUrl = server.url;
  dataDir = server.dataDir;
  agentDir = await mkdtemp(path.join(tmpdir(), "hr-desk-agent-"));
  work = await mkdtemp(path.join(tmpdir(), "hr-desk-work-"));
  agentCli = new AgentCli(agentDir);
  assert.match(server.initOutput, /knowledge base: \d+ shipped article\(s\) added/);
  await server.cli.addUser({ ...LEAD, role: "admin" });
  enrollToken = await server.cli.enrollToken("desk tests");
  techToken = await server.cli.techTokenOf(LEAD.email);
  await agent("enroll", "--server", baseUrl, "--token", enrollToken, "--school", SCHOOL, "--building", "Main");
  deviceSecret = agentCli.secret();
  assert.ok(deviceSecret);
  browser = await chromium.launch(chromiumOptions());
  lead = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await lead.newPage();
  await signIn(page, baseUrl, LEAD);
  await page.close();
});

after(async () => {
  await axeRun.save();
  await writeOut("desk-figures.json", figures);
  if (browser) await browser.close();
  if (server) await server.stop();
  for (const d of [agentDir, work]) if (d) await rm(d, { recursive: true, force: true });
});

test("the shipped articles are listed and an article written in the console reaches the agent's self-help search", async () => {
  const page = await lead.newPage();
  await page.goto(baseUrl + "/console/kb");
  const rows = page.locator("table.kb tbody tr");
  assert.ok((await rows.count()) >= 25, `only ${await rows.count()} articles`);
  figures.shipped = JSON.parse(await cli("kb", "list", "--json")).map((a) => ({ slug: a.slug, title: a.title, categories: a.categories }));
  await shot(page, "20-kb-list.png");
  assert.deepEqual(await axe(page, "kb list"), []);

  await page.getByRole("link", { name: "Write a new article" }).click();
  await page.getByLabel("Title").fill("The laminator jams or will not heat up");
  await page.getByLabel(/Address \(slug\)/).fill("laminator-jams");
  await page.getByLabel("Something else").check();
  await page.getByLabel(/Keywords/).fill("laminator, pouch, jam");
  await page.getByLabel(/Article \(Markdown/).fill("Use **thin** pouches.\n\n1. Switch the laminator off\n2. Let it cool for ten minutes\n");
  // The live preview renders the Markdown while the lead types.
  await page.locator("#article-preview ol li").nth(1).waitFor();
  assert.equal(await page.locator("#article-preview strong").innerText(), "thin");
  await shot(page, "21-kb-editor.png");
  assert.deepEqual(await axe(page, "kb editor"), []);
  await page.getByRole("button", { name: "Save article" }).click();
  await page.getByText("Article saved").waitFor();

  await agent("sync");
  const hits = JSON.parse(await agent("kb", "search", "laminator", "--json"));
  assert.ok(hits.some((h) => h.slug === "laminator-jams"), JSON.stringify(hits));
  const shipped = JSON.parse(await agent("kb", "search", "projector no signal", "--json"));
  assert.ok(shipped.some((h) => h.slug === "projector-no-signal"), JSON.stringify(shipped));

  // Unpublishing takes it out of the teachers' search at the next sync.
  await page.getByRole("button", { name: "Unpublish" }).click();
  await page.getByText("Article unpublished").waitFor();
  await agent("sync");
  const after = JSON.parse(await agent("kb", "search", "laminator", "--json"));
  assert.ok(!after.some((h) => h.slug === "laminator-jams"), JSON.stringify(after));
  await page.getByRole("button", { name: "Publish" }).click();
  await page.getByText("Article published").waitFor();
  await page.close();
});

test("an announcement reaches the agent's cache, me-too reports are counted by room, ending it resolves linked tickets", async () => {
  const page = await lead.newPage();
  await page.goto(baseUrl + "/console/announcements");
  await page.getByLabel("Title").fill("Wi-Fi is down in the Main building");
  await page.getByLabel("Message").fill("We are fixing it. No need to report it; press Me too.");
  await page.getByLabel(/Category/).selectOption("wifi");
  await page.getByLabel(/School/).fill(SCHOOL);
  await page.getByRole("button", { name: "Post announcement" }).click();
  await page.getByText("Announcement posted").waitFor();
  const id = Number(new URL(page.url()).pathname.split("/").pop());
  assert.ok(id > 0, page.url());

  // The agent's sync fetches it; the device sees it with its own secret.
  await agent("sync");
  const list = await api("GET", "/api/v1/announcements", { token: deviceSecret });
  assert.ok(list.json.announcements.some((a) => a.id === id), list.text);

  const meToo = async (client_id, room, token = deviceSecret) =>
    api("POST", `/api/v1/announcements/${id}/me-too`, {
      token,
      body: { client_id, created_at: new Date().toISOString(), room, reporter: { display_name: "Ms Rivera" } },
    });
  const first = uuidv7();
  assert.equal((await meToo(first, "7")).status, 201);
  assert.equal((await meToo(first, "7")).status, 200); // a retry is not counted twice
  // One per device and announcement: another id from the same device is a repeat too.
  assert.equal((await meToo(uuidv7(), "7")).status, 200);
  assert.equal((await meToo(uuidv7(), "7", await enroll("room-7-second-pc", SCHOOL))).status, 201);
  const third = await meToo(uuidv7(), "12", await enroll("room-12-pc", SCHOOL));
  assert.equal(third.status, 201);
  assert.equal(third.json.reports, 3);

  // A ticket filed by the real agent, linked to the outage.
  await agent("report", "--category", "wifi", "--summary", "No internet in room 7", "--room", "7");
  await agent("sync");
  const mine = JSON.parse(await agent("status", "--json")).find((t) => t.number);
  agentTicket = { client_id: mine.client_id, number: mine.number };
  await page.goto(`${baseUrl}/console/announcements/${id}`);
  await page.getByLabel(/Link existing tickets/).fill(String(agentTicket.number));
  await page.getByRole("button", { name: "Link tickets" }).click();
  await page.getByText("Tickets linked").waitFor();
  const rooms = await page.locator("table.metoo tbody tr").allInnerTexts();
  figures.meTooByRoom = rooms;
  assert.equal(rooms.length, 2);
  assert.match(rooms[0], new RegExp(`${SCHOOL}\\s+7\\s+2`));
  assert.match(rooms[1], new RegExp(`${SCHOOL}\\s+12\\s+1`));
  assert.match(await page.getByRole("heading", { level: 2, name: /Me too/ }).innerText(), /3/);
  assert.match(await page.locator("table.linked").innerText(), /No internet in room 7/);
  await shot(page, "22-announcement.png");
  assert.deepEqual(await axe(page, "announcement"), []);

  const message = "The Wi-Fi is back. Thank you for letting us know.";
  await page.getByLabel("Message to teachers").fill(message);
  await page.getByRole("button", { name: "End announcement" }).click();
  await page.getByText("linked tickets are resolved").waitFor();
  await page.goto(baseUrl + "/console/announcements");
  assert.match(await page.locator("table").innerText(), /Ended/);
  await shot(page, "23-announcements.png");
  assert.deepEqual(await axe(page, "announcements"), []);

  await agent("sync");
  const t = JSON.parse(await agent("status", "--json")).find((x) => x.client_id === agentTicket.client_id);
  assert.equal(t.status, "resolved");
  assert.ok(t.messages.some((m) => m.body === message), JSON.stringify(t.messages));
  const gone = await api("GET", "/api/v1/announcements", { token: deviceSecret });
  assert.ok(!gone.json.announcements.some((a) => a.id === id));
  assert.equal((await meToo(uuidv7(), "7")).status, 404);
  await page.close();
});

test("the dashboard's figures match a known set of tickets", async () => {
  const rm101 = await enroll("rm-101-pc", "Roosevelt Middle");
  const rm204 = await enroll("rm-204-pc", "Roosevelt Middle");
  known.t2 = await file(rm101, {
    category: "printer",
    summary: "Printer in 101 offline",
    room: "101",
    self_help: [{ article_slug: "printer-offline", outcome: "still_broken" }],
  });
  known.t3 = await file(rm101, { category: "printer", summary: "Printer in 101 jammed", room: "101" });
  known.t4 = await file(rm101, { category: "sound", summary: "No sound on the board", room: "101", urgency: "now" });
  known.t5 = await file(rm204, { category: "wifi", summary: "Slow Wi-Fi", room: "204" });
  const png = TINY_PNG;
  for (const t of [known.t2, known.t3]) {
    const r = await api("PUT", `/api/v1/tickets/${t.client_id}/screenshot`, { token: rm101, raw: png, type: "image/png" });
    assert.equal(r.status, 200, r.text);
  }
  const reply = await api("POST", `/api/v1/tech/tickets/${known.t2.number}/reply`, { token: techToken, body: { body: "Looking at it." } });
  assert.equal(reply.status, 200, reply.text);
  const resolve = await api("POST", `/api/v1/tech/tickets/${known.t3.number}/status`, { token: techToken, body: { status: "resolved" } });
  assert.equal(resolve.status, 200, resolve.text);
  for (const token of [rm101, rm204]) {
    const d = await api("POST", "/api/v1/kb/printer-offline/deflections", { token, body: { client_id: uuidv7(), created_at: new Date().toISOString() } });
    assert.equal(d.status, 201, d.text);
  }

  // Known set: the agent's ticket (wifi, resolved by the outage, answered) and t2..t5.
  const page = await lead.newPage();
  await page.goto(baseUrl + "/console/dashboard");
  const cell = async (sel) => (await page.locator(sel).innerText()).trim();
  assert.equal(await cell("#open-total"), "3");
  assert.equal(await cell("#overdue-now"), "0");
  const byCat = Object.fromEntries(
    (await page.locator("#open-by-category tbody tr").allInnerTexts()).map((r) => r.split("\t").map((s) => s.trim())),
  );
  assert.equal(byCat["Printer"], "1");
  assert.equal(byCat["Sound or microphone"], "1");
  assert.equal(byCat["Wi-Fi or internet"], "1");
  assert.equal(byCat["Display, projector or board"], "0");
  assert.deepEqual((await page.locator("#open-by-school tbody tr").allInnerTexts()).map((r) => r.replace(/\s+/g, " ").trim()), ["Roosevelt Middle 3"]);
  const week = (await page.locator('#windows tr[data-days="7"]').innerText()).replace(/\s+/g, " ");
  const month = (await page.locator('#windows tr[data-days="30"]').innerText()).replace(/\s+/g, " ");
  assert.match(week, /The last 7 days 5 under a minute \(2 answered\) under a minute \(2 resolved\) 0 2 reports avoided \(29% of all reports\)/);
  assert.match(month, /The last 30 days 5 /);
  const rooms = (await page.locator("#busiest-rooms tbody tr").allInnerTexts()).map((r) => r.replace(/\s+/g, " ").trim());
  assert.equal(rooms[0], "101 Roosevelt Middle 3");
  assert.equal(rooms.length, 3);
  const devices = (await page.locator("#repeat-devices tbody tr").allInnerTexts()).map((r) => r.replace(/\s+/g, " ").trim());
  assert.deepEqual(devices, ["rm-101-pc Roosevelt Middle 3 2"]);
  figures.dashboard = { week, month, rooms, devices, byCat, open: 3 };
  await shot(page, "24-dashboard.png");
  assert.deepEqual(await axe(page, "dashboard"), []);

  const csv = await page.request.get(baseUrl + "/console/dashboard/tickets.csv");
  assert.equal(csv.status(), 200);
  assert.match(csv.headers()["content-type"], /text\/csv/);
  const lines = (await csv.text()).trim().split("\r\n");
  assert.equal(lines.length, 1 + 5);
  assert.ok(lines.some((l) => l.startsWith(`${known.t3.number},resolved,printer,`)));

  // The article's statistics: one ticket filed after reading it, two "this fixed it".
  await page.goto(baseUrl + "/console/kb/printer-offline");
  const stats = (await page.locator("ul.stats").innerText()).replace(/\s+/g, " ");
  figures.printerOfflineStats = stats;
  assert.match(stats, /Shown to teachers 3 .*This fixed it” 2 Tickets filed after reading 1 Tried it, still broken 1/);
  await page.close();
});

test("kb export then import round-trips every article unchanged; a malformed file is named with its line", async () => {
  const out1 = path.join(work, "export-1");
  const out2 = path.join(work, "export-2");
  assert.match(await cli("kb", "export", "--out", out1), /article\(s\) written/);
  const files = (await readdir(out1)).sort();
  assert.ok(files.includes("laminator-jams.md"));
  // Into a fresh data directory, then out again: byte for byte the same.
  const fresh = await mkdtemp(path.join(tmpdir(), "hr-desk-fresh-"));
  const { stdout } = await run(serverBin, ["kb", "import", "--data-dir", fresh, out1]);
  assert.match(stdout, new RegExp(`^${files.length} created, 0 updated, 0 unchanged, 0 failed`));
  await run(serverBin, ["kb", "export", "--data-dir", fresh, "--out", out2]);
  assert.deepEqual((await readdir(out2)).sort(), files);
  for (const f of files) {
    assert.equal(await readFile(path.join(out2, f), "utf8"), await readFile(path.join(out1, f), "utf8"), f);
  }
  const before = JSON.parse(await cli("kb", "list", "--json"));
  const { stdout: listed } = await run(serverBin, ["kb", "list", "--json", "--data-dir", fresh]);
  const strip = (l) => l.map(({ slug, title, categories, keywords, published }) => ({ slug, title, categories, keywords, published }));
  assert.deepEqual(strip(JSON.parse(listed)), strip(before));
  await rm(fresh, { recursive: true, force: true });

  // Back into the running server: nothing changes; a broken file is reported and the rest import.
  await writeFile(path.join(out1, "broken.md"), "---\ntitle: Broken\nslug: broken\ncategories: [teleport]\n---\nbody\n");
  const edited = (await readFile(path.join(out1, "disk-full.md"), "utf8")).replace("Empty the Recycle Bin", "Empty the Recycle Bin first");
  await writeFile(path.join(out1, "disk-full.md"), edited);
  const r = await run(serverBin, ["kb", "import", "--data-dir", dataDir, out1]).then(
    () => assert.fail("import with a broken file should exit 1"),
    (e) => e,
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /broken\.md:4: unknown category "teleport"/);
  assert.match(r.stdout, new RegExp(`0 created, 1 updated, ${files.length - 1} unchanged, 1 failed`));
  // init never overwrites the district's edit.
  await cli("init");
  const a = await api("GET", "/api/v1/kb?since=0", { token: deviceSecret });
  assert.match(a.json.articles.find((x) => x.slug === "disk-full").body, /Recycle Bin first/);
});

test("purge removes exactly what the retention policy says", async () => {
  const page = await lead.newPage();
  await page.goto(baseUrl + "/console/admin/retention");
  assert.equal(await page.getByLabel(/Keep screenshots/).inputValue(), "365");
  await page.getByLabel(/Keep screenshots/).fill("30");
  await page.getByRole("button", { name: "Save policy" }).click();
  await page.getByText("Retention policy saved").waitFor();
  await shot(page, "25-retention.png");
  assert.deepEqual(await axe(page, "retention"), []);

  // Finished tickets with media: the agent's (resolved by the outage) and t3 (resolved).
  const day = 24 * 3600 * 1000;
  const purge = async (days) => JSON.parse(await cli("purge", "--json", "--as-of", new Date(Date.now() + days * day).toISOString()));
  const early = await purge(29);
  assert.deepEqual(early.tickets, []);
  const due = await purge(31);
  figures.purge = due;
  assert.equal(due.retention_days, 30);
  assert.deepEqual(due.tickets, [agentTicket.number, known.t3.number].sort((a, b) => a - b));
  assert.equal(due.screenshots, 1);
  assert.equal(due.snapshots, 2);
  assert.deepEqual((await purge(31)).tickets, []);

  const t3 = await api("GET", `/api/v1/tech/tickets/${known.t3.number}`, { token: techToken });
  assert.equal(t3.json.has_screenshot, false);
  assert.equal(t3.json.snapshot ?? null, null);
  assert.equal(t3.json.summary, "Printer in 101 jammed");
  const t2 = await api("GET", `/api/v1/tech/tickets/${known.t2.number}`, { token: techToken });
  assert.equal(t2.json.has_screenshot, true);
  assert.ok(t2.json.snapshot);
  const mine = await api("GET", `/api/v1/tech/tickets/${agentTicket.number}`, { token: techToken });
  assert.equal(mine.json.snapshot ?? null, null);
  assert.ok(mine.json.messages.length > 0, "the history stays");
  await page.goto(`${baseUrl}/console/tickets/${known.t3.number}`);
  assert.equal(await page.locator("img.screenshot").count(), 0);
  await page.close();
});
