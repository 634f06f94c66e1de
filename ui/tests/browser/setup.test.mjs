import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { calls, checkA11y, launch, openView, shot } from "./helpers.mjs";
import { scenario, status } from "./fixtures.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const fresh = (o = {}) =>
  scenario({ status: status({ enrolled: false, server_url: null, online: false, room: null, teacher_name: "Dana Lee" }), ...o });

async function fill(page) {
  await page.getByLabel("Help desk server address").fill("https://helpdesk.example.org");
  await page.getByLabel("Enrollment code").fill("LINC-2026");
  await page.getByLabel("Your room").fill("C-4");
}

describe("Setup", () => {
  test("name is prefilled; missing fields get inline errors and focus", async () => {
    const { page, context, errors } = await openView(browser, "#/setup", fresh());
    await page.getByRole("heading", { name: "Connect this computer to the help desk" }).waitFor();
    await page.getByText("This computer is not connected to a help desk yet.").waitFor();
    assert.equal(await page.getByLabel("Your name").inputValue(), "Dana Lee");
    await checkA11y(page, "setup");
    await shot(page, "setup");
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByText("Enter the server address.").waitFor();
    await page.getByText("Enter the enrollment code.").waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), "serverUrl");
    await page.getByLabel("Help desk server address").fill("helpdesk");
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByText("This doesn't look like a web address. It should start with https://").waitFor();
    await checkA11y(page, "setup with errors");
    await shot(page, "setup-errors");
    assert.equal((await calls(page, "setup")).length, 0);
    assert.deepEqual(errors, []);
    await context.close();
  });

  const codes = [
    ["network", "We couldn't reach the help desk server. Check the address and that this computer is online."],
    ["not_enrolled", "The help desk did not accept this enrollment code. Ask your IT team for a new one."],
    ["invalid", "The server address or enrollment code isn't right. Check them and try again."],
    ["something_new", "Something went wrong while connecting. Please try again or ask your IT team."],
  ];
  for (const [code, text] of codes) {
    test(`server error code '${code}' shows a clear message`, async () => {
      const { page, context } = await openView(browser, "#/setup", fresh({ setupError: { code, message: "raw detail ignored" } }));
      await fill(page);
      await page.getByRole("button", { name: "Connect" }).click();
      const alert = page.getByTestId("setup-error");
      await alert.getByText(text).waitFor();
      assert.equal(await alert.getAttribute("role"), "alert");
      assert.equal(await page.getByText("raw detail ignored").count(), 0);
      assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), "setup-error");
      if (code === "network") {
        await checkA11y(page, "setup network error");
        await shot(page, "setup-network-error");
      }
      await context.close();
    });
  }

  test("successful setup calls `setup` with camelCase args and says so", async () => {
    const { page, context } = await openView(browser, "#/setup", fresh());
    await fill(page);
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByText("This computer is now connected to the help desk.").waitFor();
    assert.deepEqual((await calls(page, "setup")).map((c) => c.args), [
      { serverUrl: "https://helpdesk.example.org", enrollmentCode: "LINC-2026", teacherName: "Dana Lee", room: "C-4", email: null },
    ]);
    await page.getByRole("region", { name: "Connection status" }).getByText("Offline").waitFor();
    await checkA11y(page, "setup done");
    await shot(page, "setup-done");
    await context.close();
  });
  test("the email for replies is optional at setup, editable once connected, and shown as From", async () => {
    const { page, context } = await openView(browser, "#/setup", fresh({ status: status({ enrolled: false, server_url: null, reporter_email: null }) }));
    await fill(page);
    await page.getByLabel("Your email (optional)").fill("dana@lincoln.example.org");
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByText("This computer is now connected to the help desk.").waitFor();
    assert.equal((await calls(page, "setup"))[0].args.email, "dana@lincoln.example.org");
    await context.close();

    // Connected: its own small form; a typing mistake is refused in words.
    const done = await openView(browser, "#/setup", scenario({ status: status({ reporter_email: null }) }));
    const email = done.page.getByLabel("Your email (optional)");
    await email.fill("dana at lincoln");
    await done.page.getByRole("button", { name: "Save email" }).click();
    await done.page.getByText("This doesn't look like an email address.", { exact: false }).waitFor();
    await checkA11y(done.page, "setup email refused");
    await email.fill("dana@lincoln.example.org");
    await done.page.getByRole("button", { name: "Save email" }).click();
    await done.page.getByText("From: Ms. Rivera <dana@lincoln.example.org>").waitFor();
    await done.context.close();

    // District policy sets it: shown, not asked.
    const policy = await openView(browser, "#/setup", scenario({ status: status({ email_from_policy: true, reporter_email: "mrivera@lincoln.example.org" }) }));
    await policy.page.getByText("Your district sets this email address.").waitFor();
    assert.equal(await policy.page.getByLabel("Your email (optional)").count(), 0);
    await policy.context.close();
  });
});
