// Console sign-in with OpenID Connect, end to end in headless Chromium: the real
// handraise-server binary with an `[oidc]` table naming a real provider (the certified
// `oidc-provider` package, ./idp.mjs) on 127.0.0.1. `serve` starts while the provider is
// down, and sign-in then shows a clear page; once it is up, a first sign-in creates the
// console user with the mapped role; a wrong domain is refused; a tampered `state` and a
// replayed code are refused; after the provider rotates its key, sign-in still works; a
// user disabled in the console is refused although the provider still knows the browser.
// The token checks a provider would never fail (expired, wrong audience, wrong nonce,
// forged signature) are router tests: crates/handraise-server/tests/it/oidc.rs.
//
//   npm --prefix tests/console ci && npm --prefix tests/console test

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { chromiumOptions } from "../js/harness.mjs";
import { Axe, shot } from "./lib.mjs";
import { freePort, serveWithOidc, startIdp, stopServer } from "./idp.mjs";

const BREAK_GLASS = { email: "root@district.example", password: "break glass only, please" };
const CLIENT = { client_id: "handraise-console", client_secret: "a client secret for the tests" };

let idp, server, child, dataDir, browser;
const axeRun = new Axe("axe-results-oidc.json");

before(async () => {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  idp = await startIdp({ ...CLIENT, redirect_uri: `${baseUrl}/auth/callback` });
  // The provider is down while the server starts.
  let cli;
  ({ child, cli, dataDir } = await serveWithOidc({
    idp,
    client: CLIENT,
    baseUrl,
    extra: [`allowed_domains = ["district.example"]`, `admins = ["it@district.example"]`, `local_passwords = "admins"`],
    beforeServe: (c) => c.addUser({ ...BREAK_GLASS, role: "admin" }),
  }));
  server = { url: baseUrl, cli };
  browser = await chromium.launch(chromiumOptions());
});

after(async () => {
  await axeRun.save();
  await browser?.close();
  await stopServer({ child, dataDir });
  await idp?.close();
});

/** The console users as `user list` prints them: email → role. */
async function users() {
  const out = await server.cli.run("user", "list");
  return Object.fromEntries(
    out
      .split("\n")
      .filter(Boolean)
      .map((l) => l.trim().split(/\s+/))
      .map(([email, role]) => [email, role]),
  );
}

/** Whether `u` is a page of the server that a sign-in ends on, or a page of the provider's. */
const settled = (u) =>
  u.pathname.startsWith("/interaction/") ||
  u.href.startsWith(server.url + "/auth/callback") ||
  u.href.startsWith(server.url + "/console/");

/**
 * Starts at the console's sign-in page (in `context`, else a new browser context), clicks
 * the provider's button and signs in there as `login` (unless the provider remembers the
 * browser); resolves with the page (wherever it ended) and the callback URL the provider
 * sent the browser to. With `tamper(url)`, the browser is sent to the provider at
 * `tamper(the address /auth/start gave)` instead.
 */
async function signInAs(login, { tamper, context } = {}) {
  context ??= await browser.newContext();
  const page = await context.newPage();
  let callbackUrl;
  page.on("request", (r) => {
    if (r.url().startsWith(server.url + "/auth/callback")) callbackUrl ??= r.url();
  });
  if (tamper) {
    // The context's own requests share its cookies: /auth/start's cookie is kept.
    const start = await context.request.get(server.url + "/auth/start", { maxRedirects: 0 });
    assert.equal(start.status(), 303);
    await page.goto(tamper(new URL(start.headers().location)).href);
  } else {
    await page.goto(server.url + "/console/sign-in");
    await page.getByRole("link", { name: "Sign in with your district account" }).click();
  }
  await page.waitForURL(settled);
  // The provider's login form, then its consent page, then back to the server.
  for (let step = 0; step < 4 && !page.url().startsWith(server.url); step++) {
    const loginField = page.locator('input[name="login"]');
    if (await loginField.count()) {
      await loginField.fill(login);
      await page.locator('input[name="password"]').fill("anything");
    }
    const at = page.url();
    await page.locator('button[type="submit"]').click();
    await page.waitForURL((u) => u.href !== at && settled(u));
  }
  await page.waitForLoadState("load");
  return { context, page, callbackUrl };
}

test("while the provider is down, serve runs and sign-in says so on a clear page", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url + "/console/sign-in");
  const button = page.getByRole("link", { name: "Sign in with your district account" });
  await button.waitFor();
  assert.deepEqual(await axeRun.check(page, "oidc-sign-in"), []);
  await shot(page, "oidc-sign-in.png");
  const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/auth/start")), button.click()]);
  assert.equal(response.status(), 503);
  await page.getByRole("heading", { name: "The sign-in service cannot be reached" }).waitFor();
  assert.deepEqual(await axeRun.check(page, "oidc-provider-down"), []);
  await shot(page, "oidc-provider-down.png");
  await context.close();
});

test("a first sign-in creates the user with the mapped role; a wrong domain is refused", async () => {
  idp.up({ kid: "key-1" });
  let { context, page } = await signInAs("ana@district.example");
  assert.equal(new URL(page.url()).pathname, "/console/queue");
  assert.equal((await users())["ana@district.example"], "technician");
  await context.close();

  ({ context, page } = await signInAs("it@district.example"));
  assert.equal(new URL(page.url()).pathname, "/console/queue");
  assert.equal((await users())["it@district.example"], "admin");
  await page.goto(server.url + "/console/admin/users");
  await page.getByRole("heading", { name: "Users" }).waitFor();
  await context.close();

  ({ context, page } = await signInAs("eve@elsewhere.example"));
  assert.equal(new URL(page.url()).pathname, "/auth/callback");
  await page.getByRole("heading", { name: "This account may not sign in here" }).waitFor();
  assert.match(await page.textContent("main"), /eve@elsewhere\.example is not an account of this district/);
  assert.deepEqual(await axeRun.check(page, "oidc-refused"), []);
  await shot(page, "oidc-wrong-domain.png");
  assert.equal((await users())["eve@elsewhere.example"], undefined);
  await context.close();
});

test("a tampered state and a replayed code are refused", async () => {
  // The provider is still up with key-1, from the test before.
  // The state is changed on its way to the provider, which sends it back as it got it.
  let { context, page } = await signInAs("ana@district.example", {
    tamper: (url) => {
      url.searchParams.set("state", url.searchParams.get("state") + "0");
      return url;
    },
  });
  assert.equal(new URL(page.url()).pathname, "/auth/callback");
  await page.getByRole("heading", { name: "This sign-in has expired" }).waitFor();
  await page.goto(server.url + "/console/queue");
  assert.equal(new URL(page.url()).pathname, "/console/sign-in", "not signed in");
  await context.close();

  // A genuine sign-in, then its callback (code and state) replayed.
  let callbackUrl;
  ({ context, page, callbackUrl } = await signInAs("ana@district.example"));
  assert.equal(new URL(page.url()).pathname, "/console/queue");
  const replay = await browser.newContext();
  const again = await replay.newPage();
  const response = await again.goto(callbackUrl);
  assert.equal(response.status(), 400);
  await again.getByRole("heading", { name: "This sign-in has expired" }).waitFor();
  // Even in the browser that began it.
  const same = await page.goto(callbackUrl);
  assert.equal(same.status(), 400);
  await replay.close();
  await context.close();
});

test("after the provider rotates its signing key, sign-in still works", async () => {
  idp.up({ kid: "key-2" });
  const { context, page } = await signInAs("ana@district.example");
  assert.equal(new URL(page.url()).pathname, "/console/queue");
  await context.close();
});

test("a user disabled in the console cannot sign in, even with a live session at the provider", async () => {
  const { context: anasBrowser, page: ana } = await signInAs("ana@district.example");
  assert.equal(new URL(ana.url()).pathname, "/console/queue");
  const { context, page: admin } = await signInAs("it@district.example");
  await admin.goto(server.url + "/console/admin/users");
  admin.on("dialog", (d) => d.accept());
  await Promise.all([
    admin.waitForLoadState("load"),
    admin.getByRole("button", { name: "Disable ana@district.example" }).click(),
  ]);
  await admin.getByRole("button", { name: "Enable ana@district.example" }).waitFor();
  await context.close();

  // Her console session ended; the provider still knows her browser.
  await ana.goto(server.url + "/console/queue");
  assert.equal(new URL(ana.url()).pathname, "/console/sign-in");
  const { page } = await signInAs("ana@district.example", { context: anasBrowser });
  assert.equal(new URL(page.url()).pathname, "/auth/callback");
  await page.getByRole("heading", { name: "This account may not sign in here" }).waitFor();
  assert.match(await page.textContent("main"), /ana@district\.example is disabled/);
  await anasBrowser.close();
});

test("local passwords stay for the break-glass admin", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url + "/console/sign-in");
  await page.getByLabel("Email").fill(BREAK_GLASS.email);
  await page.getByLabel("Password").fill(BREAK_GLASS.password);
  await Promise.all([page.waitForURL("**/console/queue"), page.getByRole("button", { name: "Sign in" }).click()]);
  await context.close();
});
