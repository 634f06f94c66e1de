import { describe, expect, it } from "vitest";
import { firstErrorField, validateReport, validateSetup } from "../../src/lib/validation";

const ok = { category: "printer" as const, summary: "Printer jams", details: "", room: "12" };

describe("validateReport", () => {
  it("accepts a complete report", () => {
    expect(validateReport(ok)).toEqual({});
    expect(firstErrorField({})).toBeNull();
  });
  it("needs a category and a summary, in screen order", () => {
    const e = validateReport({ ...ok, category: null, summary: "   " });
    expect(e.category).toBe("Choose what kind of problem it is.");
    expect(e.summary).toBe("Write a few words about what's wrong.");
    expect(firstErrorField(e)).toBe("category");
  });
  it("limits the summary to 200 characters", () => {
    expect(validateReport({ ...ok, summary: "x".repeat(200) }).summary).toBeUndefined();
    const e = validateReport({ ...ok, summary: "x".repeat(201) });
    expect(e.summary).toContain("under 200 characters");
    expect(firstErrorField(e)).toBe("summary");
  });
  it("details are optional", () => {
    expect(validateReport({ ...ok, details: "" }).details).toBeUndefined();
  });
});

describe("validateSetup", () => {
  const good = { serverUrl: "https://helpdesk.district.org", enrollmentCode: "ABC-123", teacherName: "Ms. Lee", room: "" };
  it("accepts good input", () => expect(validateSetup(good)).toEqual({}));
  it("rejects missing and malformed addresses", () => {
    expect(validateSetup({ ...good, serverUrl: "" }).serverUrl).toBe("Enter the server address.");
    expect(validateSetup({ ...good, serverUrl: "not a url" }).serverUrl).toMatch(/web address/);
    expect(validateSetup({ ...good, serverUrl: "ftp://x" }).serverUrl).toMatch(/web address/);
  });
  it("needs a code and a name", () => {
    const e = validateSetup({ ...good, enrollmentCode: " ", teacherName: "" });
    expect(Object.keys(e).sort()).toEqual(["enrollmentCode", "teacherName"]);
  });
});
