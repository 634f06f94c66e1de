import { describe, expect, it } from "vitest";
import { factItems, snapshot, type BrowserFacts } from "../../src/lib/web/facts";
import { uuidv7 } from "../../src/lib/web/uuid";
import { factLine } from "../../src/lib/facts";

const facts: BrowserFacts = {
  browser: "Google Chrome 131.0.6778.85",
  os: "ChromeOS 16093.68.0",
  model: "Chromebook 314",
  screen: { width: 1366, height: 768 },
  online: false,
  timeZone: "America/New_York",
};

describe("the web report page's browser facts", () => {
  it("are shown as keys and parts the catalogues word", () => {
    const items = factItems(facts);
    expect(items.map((f) => f.key)).toEqual(["browser", "os", "model", "screen", "online", "time"]);
    expect(items.map(factLine)).toEqual([
      "Browser: Google Chrome 131.0.6778.85",
      "System: ChromeOS 16093.68.0",
      "Model: Chromebook 314",
      "Screen: 1366 × 768",
      "Connection: Offline",
      "Time zone: America/New_York",
    ]);
  });

  it("leave out what the teacher unticked, in the server's snapshot", () => {
    const s = snapshot(facts, ["model", "screen"]);
    expect(s).toMatchObject({
      schema_version: 1,
      app_version: "Web browser: Google Chrome 131.0.6778.85",
      os_name: "ChromeOS",
      os_version: "16093.68.0",
      time_zone: "America/New_York",
    });
    expect(s.model).toBeUndefined();
    expect(s.displays).toBeUndefined();
    expect(snapshot({ ...facts, model: null }, []).displays).toEqual([{ width: 1366, height: 768 }]);
  });
});

describe("client ids", () => {
  it("are UUID v7, ordered by time", () => {
    const a = uuidv7(1_700_000_000_000);
    const b = uuidv7(1_700_000_000_001);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
    expect(a.slice(0, 13).replace("-", "")).toBe((1_700_000_000_000).toString(16).padStart(12, "0"));
  });
});
