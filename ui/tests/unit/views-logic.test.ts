import { describe, expect, it } from "vitest";
import type { Announcement, ConnectionReport } from "../../src/lib/bindings";
import { isActive, matchingAnnouncements } from "../../src/lib/announcements";
import { checkName, checkResult, technicianText, verdictSentence } from "../../src/lib/connection";

const now = new Date("2026-03-03T12:00:00Z");
function ann(p: Partial<Announcement>): Announcement {
  return {
    id: 1, kind: "outage", title: "T", message: "M", school: null, building: null, category: null,
    starts_at: "2026-03-03T10:00:00Z", ends_at: null, ...p,
  };
}

describe("announcements for this teacher", () => {
  const status = { school: "Lincoln Elementary", building: "Main", announcements: [] as Announcement[] };

  it("active only between starts_at and ends_at", () => {
    expect(isActive(ann({}), now)).toBe(true);
    expect(isActive(ann({ starts_at: "2026-03-03T13:00:00Z" }), now)).toBe(false);
    expect(isActive(ann({ ends_at: "2026-03-03T11:00:00Z" }), now)).toBe(false);
    expect(isActive(ann({ ends_at: "2026-03-03T13:00:00Z" }), now)).toBe(true);
  });

  it("matches school, building and category; outages first", () => {
    const list = [
      ann({ id: 1, kind: "notice" }),
      ann({ id: 2, school: "lincoln elementary " }),
      ann({ id: 3, school: "Other School" }),
      ann({ id: 4, school: "Lincoln Elementary", building: "Annex" }),
      ann({ id: 5, building: "Main", category: "wifi" }),
      ann({ id: 6, category: "printer" }),
      ann({ id: 7, ends_at: "2026-03-03T11:00:00Z" }),
    ];
    const ids = (c: Parameters<typeof matchingAnnouncements>[1]) =>
      matchingAnnouncements({ ...status, announcements: list }, c, now).map((a) => a.id);
    expect(ids(null)).toEqual([2, 1]);
    expect(ids("wifi")).toEqual([2, 5, 1]);
    expect(ids("printer")).toEqual([2, 6, 1]);
    expect(matchingAnnouncements({ school: null, building: null, announcements: list }, "wifi", now).map((a) => a.id)).toEqual([1]);
  });
});

describe("connection check wording", () => {
  const report: ConnectionReport = {
    checks: [
      { key: "dns", ok: true, ms: 12.4, target: "10.0.0.53", detail: null },
      { key: "internet", ok: false, ms: null, target: "example.net", detail: "timed out" },
      { key: "gateway", ok: null, ms: null, target: "", detail: null },
      { key: "future", ok: true, ms: null, target: "x", detail: null },
    ],
    verdict: "no_internet",
    suggest_category: "wifi",
  };

  it("names, results and the verdict sentence", () => {
    expect(checkName("dns")).toBe("Finding websites by name (DNS)");
    expect(checkName("future")).toBe("future");
    expect(checkResult(report.checks[0])).toBe("Works (12 ms)");
    expect(checkResult(report.checks[1])).toBe("Not working");
    expect(checkResult(report.checks[2])).toBe("Not checked");
    expect(verdictSentence(report)).toBe(
      "Your computer is on the network but cannot reach the internet — report a Wi-Fi problem?",
    );
    expect(verdictSentence({ verdict: "all_good", suggest_category: null })).toBe(
      "Everything works: the local network, the help desk and the internet.",
    );
  });

  it("plain text for the technician: facts, then the check", () => {
    const text = technicianText(
      [{ key: "computer", parts: [{ phrase: "fact.value", args: { value: "LAB-12" } }] }],
      report,
      "March 3, 2026",
    );
    expect(text).toBe(
      [
        "About this computer — March 3, 2026",
        "",
        "Computer name: LAB-12",
        "",
        "Connection check:",
        "Finding websites by name (DNS): Works (12 ms) [10.0.0.53]",
        "The internet: Not working [example.net] — timed out",
        "Your local network (gateway): Not checked",
        "future: Works [x]",
        "Your computer is on the network but cannot reach the internet.",
        "",
      ].join("\n"),
    );
    expect(technicianText([], null, "now")).toBe("About this computer — now\n\n");
  });
});
