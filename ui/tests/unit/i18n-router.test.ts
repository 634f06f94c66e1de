import { describe, expect, it } from "vitest";
import { en } from "../../src/lib/i18n/en";
import { t, tn } from "../../src/lib/i18n/i18n.svelte";
import { parseRoute, reportHref, type Route } from "../../src/lib/router";
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

describe("routes", () => {
  // [location.hash, location.search, the route]
  const cases: [string, string, Route][] = [
    ["#/report", "", { view: "report" }],
    ["#/tickets", "", { view: "tickets" }],
    ["#/tickets/01J%2Fx", "", { view: "ticket", clientId: "01J/x" }],
    ["#/setup", "", { view: "setup" }],
    ["#/nope", "", { view: "unknown" }],
    ["#/help", "", { view: "help" }],
    ["#/about", "", { view: "about" }],
    ["#/report?category=wifi", "", { view: "report", category: "wifi" }],
    ["#/report?category=bogus", "", { view: "report" }],
    ["#/help/x", "", { view: "unknown" }],
    ["", "?view=setup", { view: "setup" }],
    ["", "?view=tickets&ticket=abc", { view: "ticket", clientId: "abc" }],
    ["", "?view=report&category=printer", { view: "report", category: "printer" }],
    ["", "?view=about", { view: "about" }],
    ["", "", { view: "report" }],
  ];
  it.each(cases)("parseRoute(%j, %j)", (hash, search, route) => {
    expect(parseRoute(hash, search)).toEqual(route);
  });
  it("a prefilled report link", () => {
    expect(reportHref("sign-in")).toBe("#/report?category=sign-in");
    expect(parseRoute(reportHref("sign-in"), "")).toEqual({ view: "report", category: "sign-in" });
  });
});
