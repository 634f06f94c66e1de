import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { assertNoHorizontalScrollAt200, calls, checkA11y, focused, focusOutlined, launch, openView, shot, tabTo } from "./helpers.mjs";
import { scenario } from "./fixtures.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const hitTitles = (page) => page.getByTestId("help-hit").locator("h2").allTextContents();

describe("Help articles", () => {
  test("keyboard only: search, open an article with numbered steps, back, browse a category with arrows", async () => {
    const { page, context, errors } = await openView(browser, "#/help", scenario());
    assert.deepEqual((await calls(page, "ui_ready")).map((c) => c.args), [{ view: "help" }]);
    assert.equal(await page.title(), "Help articles — HandRaise");
    await page.getByRole("heading", { name: "Help articles", level: 1 }).waitFor();
    assert.equal(await page.getByRole("link", { name: "Help articles" }).getAttribute("aria-current"), "page");
    // Browsing everything from the cache.
    await page.getByRole("status").filter({ hasText: "3 articles" }).waitFor();
    assert.deepEqual((await calls(page, "list_articles")).map((c) => c.args), [{ category: null }]);
    await checkA11y(page, "help list (en)");
    await shot(page, "help-list-en");

    // Search by keyboard.
    await tabTo(page, "#article-search");
    assert.ok(await focusOutlined(page), "search box shows focus");
    await page.keyboard.type("paper jam");
    await page.getByRole("status").filter({ hasText: "1 article" }).waitFor();
    assert.deepEqual(await hitTitles(page), ["Clear a paper jam"]);
    assert.deepEqual((await calls(page, "search_help")).at(-1).args, { query: "paper jam", category: null });
    await checkA11y(page, "help search results (en)");

    // Tab to the result's button and open it with Enter.
    await tabTo(page, 'button[data-slug="printer-jam"]');
    assert.ok(await focusOutlined(page), "button shows focus");
    await page.keyboard.press("Enter");
    const article = page.getByTestId("help-article");
    await article.getByRole("heading", { name: "Clear a paper jam", level: 2 }).waitFor();
    assert.equal((await focused(page)).id, "article-title");
    assert.deepEqual(await article.locator("ol > li").allTextContents(), [
      "Open the front door.",
      "Pull the stuck paper out gently.",
      "Close the door and turn the printer on.",
    ]);
    assert.equal(await article.locator("script").count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.equal(await article.getByRole("link", { name: "Report a problem" }).getAttribute("href"), "#/report?category=printer");
    await checkA11y(page, "help article (en)");
    await shot(page, "help-article-en");

    // Back with the keyboard: focus returns to the button that opened it.
    await tabTo(page, '[data-testid="help-back"]');
    await page.keyboard.press("Enter");
    await page.getByTestId("help-hit").first().waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.slug), "printer-jam");

    // Clear the search, then browse "Printer" with the arrow keys in the topic group.
    await tabTo(page, "#article-search");
    await page.keyboard.press("Control+A");
    await page.keyboard.press("Backspace");
    await page.getByRole("status").filter({ hasText: "3 articles" }).waitFor();
    await tabTo(page, 'input[name="help-category"]');
    assert.equal((await focused(page)).value, "all");
    assert.ok(await focusOutlined(page), "topic shows focus");
    await page.keyboard.press("ArrowRight"); // display
    await page.keyboard.press("ArrowRight"); // sound
    await page.keyboard.press("ArrowRight"); // printer
    assert.equal((await focused(page)).value, "printer");
    await page.getByRole("status").filter({ hasText: "2 articles" }).waitFor();
    assert.deepEqual(await hitTitles(page), ["Clear a paper jam", "Printer says offline"]);
    assert.deepEqual((await calls(page, "list_articles")).at(-1).args, { category: "printer" });
    // A topic with nothing in it says so and offers to report.
    await page.keyboard.press("ArrowLeft"); // sound
    await page.getByRole("status").filter({ hasText: "No articles match" }).waitFor();
    assert.equal(await page.getByRole("link", { name: "Report a problem", exact: true }).last().getAttribute("href"), "#/report?category=sound");
    await checkA11y(page, "help empty topic (en)");
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("Spanish (OS language): list, search and article, with axe", async () => {
    const { page, context, errors } = await openView(browser, "#/help", scenario(), { locale: "es-MX" });
    await page.getByRole("heading", { name: "Artículos de ayuda", level: 1 }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), "es");
    assert.equal(await page.title(), "Artículos de ayuda — HandRaise");
    await page.getByRole("status").filter({ hasText: "3 artículos" }).waitFor();
    await page.getByRole("radio", { name: "Impresora" }).waitFor();
    await checkA11y(page, "help list (es)");
    await shot(page, "help-list-es");
    await page.getByLabel("Buscar en los artículos de ayuda").fill("wifi");
    await page.getByRole("status").filter({ hasText: "1 artículo" }).waitFor();
    await page.getByRole("button", { name: "Ver los pasos: Reconnect to the school Wi-Fi" }).click();
    await page.getByRole("button", { name: "Volver a los artículos" }).waitFor();
    await page.getByRole("heading", { name: "¿Sigue sin funcionar?" }).waitFor();
    await checkA11y(page, "help article (es)");
    await shot(page, "help-article-es");
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("the cache cannot be read: says so and offers to try again", async () => {
    const { page, context } = await openView(browser, "#/help", scenario({ articlesError: true }));
    await page.getByRole("status").filter({ hasText: "The help articles could not be loaded." }).waitFor();
    await page.evaluate(() => (window.__mock.state.articlesError = false));
    await page.getByRole("button", { name: "Try again" }).click();
    await page.getByRole("status").filter({ hasText: "3 articles" }).waitFor();
    await context.close();
  });

  test("200% text: no horizontal scrolling on the list or an open article", async () => {
    const { page, context } = await openView(browser, "#/help", scenario(), { viewport: { width: 800, height: 700 } });
    await page.getByRole("status").filter({ hasText: "3 articles" }).waitFor();
    await assertNoHorizontalScrollAt200(page, "help list");
    await page.getByRole("button", { name: "Show steps: Clear a paper jam" }).click();
    await page.getByTestId("help-article").locator("ol > li").first().waitFor();
    await assertNoHorizontalScrollAt200(page, "help article");
    await shot(page, "help-200pct");
    await context.close();
  });
});
