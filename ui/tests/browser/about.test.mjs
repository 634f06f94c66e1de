import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { assertNoHorizontalScrollAt200, calls, checkA11y, focusOutlined, launch, openView, shot, tabTo } from "./helpers.mjs";
import { connection, scenario } from "./fixtures.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

/** Waits for the facts list and checks that it shows `rows` ([term, value] pairs) in order. */
async function assertFacts(page, rows) {
  const facts = page.getByTestId("about-facts");
  await facts.locator("dt", { hasText: rows[0][0] }).waitFor();
  assert.deepEqual(await facts.locator("dt").allTextContents(), rows.map(([term]) => term));
  assert.deepEqual(await facts.locator("dd").allTextContents(), rows.map(([, value]) => value));
  return facts;
}

const NO_INTERNET = "Your computer is on the network but cannot reach the internet — report a Wi-Fi problem?";

describe("About this computer", () => {
  test("facts in plain words and Copy for the technician (plain text)", async () => {
    const { page, context, errors } = await openView(browser, "#/about", scenario());
    assert.deepEqual((await calls(page, "ui_ready")).map((c) => c.args), [{ view: "about" }]);
    assert.equal(await page.title(), "About this computer — HandRaise");
    const facts = await assertFacts(page, [
      ["Computer name", "LAB-12"],
      ["System", "Windows 11 (23H2)"],
      ["Memory", "3.1 GB of 8 GB used"],
      ["Disk space", "/home: 12 GB free of 128 GB"],
      ["Network", "Wi-Fi 192.168.1.23; gateway 192.168.1.1"],
      ["Battery", "54% charged"],
    ]);
    assert.deepEqual(await facts.locator("dd").first().textContent(), "LAB-12");
    assert.ok(!(await facts.textContent()).includes("{"), "no JSON");
    await checkA11y(page, "about (en)");
    await shot(page, "about-en");

    await page.getByRole("button", { name: "Copy for the technician" }).click();
    await page.getByRole("status").filter({ hasText: "Copied." }).waitFor();
    const [copy] = await calls(page, "copy_text");
    const text = copy.args.text;
    assert.match(text, /^About this computer — .+\n\nComputer name: LAB-12\nSystem: Windows 11 \(23H2\)\n/);
    assert.match(text, /\nMemory: 3\.1 GB of 8 GB used\n/);
    assert.match(text, /Battery: 54% charged\n$/);
    assert.ok(!/[<{]/.test(text), "plain text, not HTML or JSON");
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("keyboard only: Check my connection announces progress, ticks and crosses in words, verdict, then report Wi-Fi prefilled", async () => {
    const { page, context, errors } = await openView(browser, "#/about", scenario({ connectionDelayMs: 600 }));
    await page.getByTestId("about-facts").locator("dt").first().waitFor();
    await tabTo(page, '[data-testid="check-connection"]');
    assert.ok(await focusOutlined(page), "button shows focus");
    const live = page.getByTestId("conn-status");
    assert.equal(await live.getAttribute("role"), "status");
    await page.keyboard.press("Enter");
    await live.getByText("Checking your connection… This can take a few seconds.").waitFor();
    // Still focused while it runs (aria-disabled, not disabled); a second press does nothing.
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "check-connection");
    await page.keyboard.press("Space");
    await live.getByText(NO_INTERNET).waitFor({ timeout: 4000 });
    assert.equal((await calls(page, "check_connection")).length, 1);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "check-connection");
    assert.equal((await page.getByTestId("check-connection").textContent()).trim(), "Check again");

    const items = page.getByTestId("conn-checks").locator("li");
    assert.deepEqual((await items.allTextContents()).map((s) => s.replace(/\s+/g, " ").trim()), [
      "✓ Finding websites by name (DNS): Works (12 ms)",
      "✓ Your local network (gateway): Works (2 ms)",
      "✓ The district help desk server: Works (1,234 ms)",
      "✗ The internet: Not working",
    ]);
    // The marks are decoration; the words carry the meaning.
    assert.equal(await items.first().locator(".mark").getAttribute("aria-hidden"), "true");
    await checkA11y(page, "about connection result (en)");
    await shot(page, "about-connection-en");

    // Copy now includes the check, for the technician.
    await page.getByTestId("copy-facts").focus();
    await page.keyboard.press("Enter");
    await page.getByRole("status").filter({ hasText: "Copied." }).waitFor();
    const text = (await calls(page, "copy_text")).at(-1).args.text;
    assert.match(text, /Connection check:\n.*DNS.*Works \(12 ms\) \[10\.0\.0\.53\]\n/);
    assert.match(text, /The internet: Not working \[connectivity\.example\.net\] — timed out after 3 s\n/);

    // The offer to report opens the form with Wi-Fi chosen.
    await page.getByTestId("check-connection").focus();
    await tabTo(page, '[data-testid="conn-report"]');
    assert.equal((await page.getByTestId("conn-report").textContent()).trim(), "Report a Wi-Fi problem");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => location.hash === "#/report?category=wifi");
    const wifi = page.getByRole("radio", { name: "Wi-Fi or internet" });
    await wifi.waitFor();
    assert.equal(await wifi.isChecked(), true);
    await page.getByRole("button", { name: "Show steps: Reconnect to the school Wi-Fi" }).waitFor();
    await page.getByLabel("What's wrong, in a few words?").fill("No internet in my room");
    await page.getByRole("button", { name: "Send to the help desk" }).click();
    await page.getByTestId("submit-status").waitFor();
    assert.equal((await calls(page, "submit_report"))[0].args.input.category, "wifi");
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("all good: a plain verdict and no offer to report", async () => {
    const all = connection({
      verdict: "all_good",
      suggest_category: null,
      checks: connection().checks.map((c) => ({ ...c, ok: true, ms: 20, detail: null })),
    });
    const { page, context } = await openView(browser, "#/about", scenario({ connection: all, connectionDelayMs: 50 }));
    await page.getByRole("button", { name: "Check my connection" }).click();
    await page.getByTestId("conn-status").getByText("Everything works: the local network, the help desk and the internet.").waitFor();
    assert.equal(await page.getByTestId("conn-report").count(), 0);
    await checkA11y(page, "about all good");
    await context.close();
  });

  test("a check that could not be made and a failed run say so in words", async () => {
    const partial = connection({
      verdict: "no_network",
      checks: [{ key: "gateway", ok: null, ms: null, target: "", detail: "no default gateway" }],
    });
    const { page, context } = await openView(browser, "#/about", scenario({ connection: partial, connectionDelayMs: 50 }));
    await page.getByRole("button", { name: "Check my connection" }).click();
    await page.getByText("Your computer is not connected to a network — report a Wi-Fi problem?").waitFor();
    assert.match(await page.getByTestId("conn-checks").textContent(), /–\s*Your local network \(gateway\): Not checked/);
    await page.evaluate(() => (window.__mock.state.connectionError = true));
    await page.getByRole("button", { name: "Check again" }).click();
    await page.getByTestId("conn-status").getByText("The check could not be run. Please try again.").waitFor();
    await context.close();
  });

  test("Spanish (OS language es-ES): facts, check with localised numbers, verdict and offer, with axe", async () => {
    const { page, context, errors } = await openView(browser, "#/about", scenario({ connectionDelayMs: 100 }), { locale: "es-ES" });
    await page.getByRole("heading", { name: "Acerca de este equipo", level: 1 }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), "es");
    await assertFacts(page, [
      ["Nombre del equipo", "LAB-12"],
      ["Sistema", "Windows 11 (23H2)"],
      ["Memoria", "3,1 GB de 8 GB en uso"],
      ["Espacio en disco", "/home: 12 GB libres de 128 GB"],
      ["Red", "Wi-Fi 192.168.1.23; puerta de enlace 192.168.1.1"],
      ["Batería", "Cargada al 54 %"],
    ]);
    await checkA11y(page, "about (es)");
    await shot(page, "about-es");
    await page.getByRole("button", { name: "Comprobar mi conexión" }).click();
    await page
      .getByTestId("conn-status")
      .getByText("Su equipo está en la red, pero no puede llegar a internet. ¿Quiere informar de un problema de wifi?")
      .waitFor();
    const lines = (await page.getByTestId("conn-checks").locator("li").allTextContents()).map((s) => s.replace(/\s+/g, " ").trim());
    assert.equal(lines[0], "✓ Encontrar páginas web por su nombre (DNS): Funciona (12 ms)");
    assert.match(lines[2], /^✓ El servidor de soporte del distrito: Funciona \(1\.?234 ms\)$/);
    assert.equal(lines[3], "✗ Internet: No funciona");
    await page.getByText(/^Comprobado a las \d{1,2}:\d{2}$/).waitFor();
    await page.getByRole("link", { name: "Informar de un problema de wifi" }).waitFor();
    await page.getByRole("button", { name: "Copiar para el técnico" }).click();
    await page.getByRole("status").filter({ hasText: "Copiado." }).waitFor();
    const copied = (await calls(page, "copy_text")).at(-1).args.text;
    assert.match(copied, /^Acerca de este equipo — .+\n\nNombre del equipo: LAB-12\nSistema: Windows 11 \(23H2\)\nMemoria: 3,1 GB de 8 GB en uso\n/);
    assert.match(copied, /\nBatería: Cargada al 54 %\n/);
    await checkA11y(page, "about connection result (es)");
    await shot(page, "about-connection-es");
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("200% text: no horizontal scrolling after a check", async () => {
    const { page, context } = await openView(browser, "#/about", scenario({ connectionDelayMs: 50 }), { viewport: { width: 800, height: 700 } });
    await page.getByRole("button", { name: "Check my connection" }).click();
    await page.getByTestId("conn-report").waitFor();
    await assertNoHorizontalScrollAt200(page, "about");
    await shot(page, "about-200pct");
    await context.close();
  });
});
