// What the console's browser tests share beyond tests/js/harness.mjs: axe-core and
// screenshots (into tests/console/screenshots/, gitignored), and signing in.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const AXE_SOURCE = require.resolve("axe-core/axe.min.js");
export const SHOTS = path.join(here, "screenshots");

/** Every axe result of one test file, written by `save()` when the file is done. */
export class Axe {
  constructor(file) {
    this.file = file;
    this.results = {};
  }

  /** Runs axe-core; records every violation and returns the serious and critical ones. */
  async check(page, name) {
    // Evaluated over the DevTools protocol, which the console's CSP does not restrict.
    await page.evaluate(await readFile(AXE_SOURCE, "utf8"));
    const result = await page.evaluate(async () => {
      // eslint-disable-next-line no-undef
      const r = await axe.run(document, { resultTypes: ["violations"] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }));
    });
    this.results[name] = result;
    return result.filter((v) => v.impact === "serious" || v.impact === "critical");
  }

  async save() {
    await writeOut(this.file, this.results);
  }
}

/** A JSON file into SHOTS. */
export async function writeOut(name, value) {
  await mkdir(SHOTS, { recursive: true });
  await writeFile(path.join(SHOTS, name), JSON.stringify(value, null, 2));
}

export async function shot(page, name, fullPage = true) {
  await mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, name), fullPage });
}

/** Signs `who` in through the sign-in form; resolves on the queue. */
export async function signIn(page, baseUrl, who) {
  await page.goto(baseUrl + "/");
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await Promise.all([page.waitForURL("**/console/queue"), page.getByRole("button", { name: "Sign in" }).click()]);
}

/** A 1×1 PNG, for screenshot uploads. */
export const TINY_PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);
