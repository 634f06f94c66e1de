import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { calls, checkA11y, launch, openView, shot, tabTo } from "./helpers.mjs";
import { scenario, status, tickets } from "./fixtures.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const now = () => new Date().toISOString();
const outages = () => [
  { id: 7, kind: "outage", title: "Wi-Fi is down in Main building", message: "We are on it.", school: "Lincoln Elementary", building: "Main", category: null, starts_at: now(), ends_at: null },
  { id: 8, kind: "outage", title: "Printers down at Roosevelt", message: "Other school.", school: "Roosevelt High", building: null, category: null, starts_at: now(), ends_at: null },
  { id: 9, kind: "outage", title: "Old outage", message: "Over.", school: null, building: null, category: null, starts_at: now(), ends_at: new Date(Date.now() - 60000).toISOString() },
];
const DONE = "Thanks — you're counted. The help desk is already on it.";

describe("Outage banner: Me too — add my room", () => {
  test("only this school's active outage shows; Me too by keyboard records the room; the teacher can still file", async () => {
    const { page, context, errors } = await openView(browser, "#/report", scenario({ status: status({ announcements: outages() }) }));
    const region = page.getByRole("region", { name: "Help desk announcements" });
    await region.getByText("Wi-Fi is down in Main building").waitFor();
    assert.equal(await region.getByText("Printers down at Roosevelt").count(), 0);
    assert.equal(await region.getByText("Old outage").count(), 0);
    await region.getByText("Counts room B-12 for this problem").waitFor();
    await checkA11y(page, "outage banner (en)");
    await shot(page, "report-outage-en");

    // The banner comes first in the tab order after the header.
    await tabTo(page, '[data-testid="me-too"]');
    await page.getByLabel("Room", { exact: true }).fill("B-14");
    await page.getByTestId("me-too").focus();
    await page.keyboard.press("Enter");
    await region.getByText(DONE).waitFor();
    assert.deepEqual((await calls(page, "me_too")).map((c) => c.args), [{ announcementId: 7, room: "B-14" }]);
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), DONE);
    assert.equal(await page.getByTestId("me-too").count(), 0);
    assert.equal(await page.getByTestId("me-too-status").getAttribute("role"), "status");
    await checkA11y(page, "outage counted (en)");
    await shot(page, "report-outage-counted-en");

    // Still possible to file; the ticket is linked to the outage.
    await page.getByRole("radio", { name: "Printer" }).check();
    await page.getByLabel("What's wrong, in a few words?").fill("Printer also broken");
    await page.getByRole("button", { name: "Send to the help desk" }).click();
    await page.getByTestId("submit-status").waitFor();
    const [sub] = await calls(page, "submit_report");
    assert.equal(sub.args.input.announcement_id, 7);
    assert.equal(sub.args.input.room, "B-14");
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("already counted (AppStatus.me_too) shows the thanks; a failure says so and keeps the button", async () => {
    const { page, context } = await openView(browser, "#/report", scenario({ status: status({ announcements: outages(), me_too: [7] }) }));
    await page.getByText(DONE).waitFor();
    await context.close();

    const sc = scenario({ status: status({ announcements: outages() }), meTooError: { code: "storage", message: "disk" } });
    const r = await openView(browser, "#/report", sc);
    await r.page.getByRole("button", { name: "Me too — add my room" }).click();
    await r.page.getByText("Your room could not be added. Please try again, or send a report below.").waitFor();
    assert.equal(await r.page.getByRole("button", { name: "Me too — add my room" }).isEnabled(), true);
    await r.context.close();
  });

  test("Spanish: banner and Me too", async () => {
    const { page, context } = await openView(browser, "#/report", scenario({ status: status({ announcements: outages() }) }), { locale: "es-MX" });
    const region = page.getByRole("region", { name: "Anuncios del servicio de soporte" });
    await region.getByText("Problema conocido:").waitFor();
    await region.getByText(/^Desde \d{1,2}:\d{2}/).waitFor();
    await checkA11y(page, "outage banner (es)");
    await page.getByRole("button", { name: "A mí también — añadir mi aula" }).click();
    await region.getByText("Gracias, ya le hemos contado. El servicio de soporte ya está trabajando en ello.").waitFor();
    await checkA11y(page, "outage counted (es)");
    await shot(page, "report-outage-es");
    await context.close();
  });
});

describe("Languages", () => {
  test("follows the OS; the stored override wins; the selector saves the choice; lang and dates follow", async () => {
    // OS Spanish, stored override English.
    const { page, context, errors } = await openView(browser, "#/tickets", scenario({ tickets: tickets(), locale: "en" }), { locale: "es-ES" });
    await page.getByRole("heading", { name: "My tickets", level: 1 }).waitFor();
    await page.waitForFunction(() => document.documentElement.lang === "en");
    assert.equal(await page.getByLabel("Language").inputValue(), "en");
    const englishDate = await page.getByTestId("ticket-item").last().locator(".when").textContent();
    assert.match(englishDate, /^Reported [A-Z][a-z]{2}, [A-Z][a-z]{2} \d{1,2}, \d{1,2}:\d{2}\s[AP]M$/);

    // Choose Spanish with the keyboard.
    await tabTo(page, "#language");
    await page.keyboard.press("ArrowDown"); // en → es
    await page.getByRole("heading", { name: "Mis solicitudes", level: 1 }).waitFor();
    assert.deepEqual((await calls(page, "set_locale")).at(-1).args, { locale: "es" });
    assert.equal(await page.evaluate(() => document.documentElement.lang), "es");
    assert.equal(await page.title(), "Mis solicitudes — HandRaise");
    const spanishDate = await page.getByTestId("ticket-item").last().locator(".when").textContent();
    assert.match(spanishDate, /^Enviada \p{Ll}{3}, \d{1,2} \p{Ll}{3}, \d{1,2}:\d{2}$/u);
    assert.equal(await page.getByLabel("Idioma").inputValue(), "es");
    await checkA11y(page, "tickets (es)");
    await shot(page, "tickets-es");

    // Back to "same as this computer" (Spanish here) stores null.
    await page.getByLabel("Idioma").selectOption("system");
    await page.waitForFunction(() => window.__calls.filter((c) => c.cmd === "set_locale").length === 2);
    assert.deepEqual((await calls(page, "set_locale")).at(-1).args, { locale: null });
    assert.match(await page.getByLabel("Idioma").locator("option:checked").textContent(), /^El mismo que el equipo \(Español\)$/);
    assert.equal(await page.evaluate(() => document.documentElement.lang), "es");
    assert.deepEqual(errors, []);
    await context.close();
  });

  for (const [route, heading] of [
    ["#/report", "Informar de un problema"],
    ["#/tickets/t-waiting", "Can't sign in to the grade book"],
    ["#/setup", "Conectar este equipo con el servicio de soporte"],
    ["#/help", "Artículos de ayuda"],
    ["#/about", "Acerca de este equipo"],
  ]) {
    test(`Spanish ${route}: translated header and view, axe clean`, async () => {
      const sc = scenario({ tickets: tickets(), locale: "es", status: status({ announcements: outages() }) });
      const { page, context, errors } = await openView(browser, route, sc);
      await page.waitForFunction(() => document.documentElement.lang === "es");
      await page.getByRole("navigation").getByRole("link", { name: "Artículos de ayuda" }).waitFor();
      if (route === "#/report") await page.getByRole("heading", { name: "¿Qué ocurre?" }).waitFor();
      else await page.getByRole("heading", { name: heading, level: 1 }).waitFor();
      await page.getByText("Conectado con el servicio de soporte").waitFor();
      await checkA11y(page, `${route} (es)`);
      await shot(page, `es-${route.replace(/[#/]+/g, "-").replace(/^-|-$/g, "")}`);
      assert.deepEqual(errors, []);
      await context.close();
    });
  }
});
