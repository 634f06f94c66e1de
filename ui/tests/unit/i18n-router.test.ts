import { describe, expect, it } from "vitest";
import { en } from "../../src/lib/i18n/en";
import { t, tn } from "../../src/lib/i18n/i18n.svelte";
import { parseRoute } from "../../src/lib/router";
import { CATEGORIES, SCOPES, URGENCIES } from "../../src/lib/bindings";

describe("i18n", () => {
  it("fills parameters", () => {
    expect(t("report.sent", { number: 1234 })).toBe("Sent — ticket #1234");
    expect(tn("status.waiting", 2)).toBe("2 reports waiting to send");
  });
  it("has a label for every wire value", () => {
    for (const c of CATEGORIES) expect(en).toHaveProperty(`category.${c}`);
    for (const u of URGENCIES) expect(en).toHaveProperty(`urgency.${u}`);
    for (const s of SCOPES) expect(en).toHaveProperty(`scope.${s}`);
  });
  it("uses the design's display texts", () => {
    expect(t("category.computer")).toBe("This computer (slow, won't start, broken)");
    expect(t("urgency.whenever")).toBe("When you can");
    expect(t("scope.district")).toBe("Everyone");
  });
});

describe("parseRoute", () => {
  it("hash routes", () => {
    expect(parseRoute("#/report", "")).toEqual({ view: "report" });
    expect(parseRoute("#/tickets", "")).toEqual({ view: "tickets" });
    expect(parseRoute("#/tickets/01J%2Fx", "")).toEqual({ view: "ticket", clientId: "01J/x" });
    expect(parseRoute("#/setup", "")).toEqual({ view: "setup" });
    expect(parseRoute("#/nope", "")).toEqual({ view: "unknown" });
  });
  it("query routes and default", () => {
    expect(parseRoute("", "?view=setup")).toEqual({ view: "setup" });
    expect(parseRoute("", "?view=tickets&ticket=abc")).toEqual({ view: "ticket", clientId: "abc" });
    expect(parseRoute("", "")).toEqual({ view: "report" });
  });
});
