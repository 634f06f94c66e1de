import { describe, expect, it } from "vitest";
import { TEXT_LIMITS, type TextField } from "../../src/lib/bindings";
import { charCount, firstErrorField, validateMessage, validateReport, validateSetup } from "../../src/lib/validation";

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

// The same values the agent's and the server's tests send (`every_field_takes_its_longest_value_
// and_refuses_one_more`): the longest accepted value of every field, padded with spaces (which do
// not count) and made of characters that are two UTF-16 units each, and one character more.
describe("the limits are the agent's and the server's", () => {
  const errorFor = (field: TextField, value: string): string | null | undefined => {
    if (field === "message") return validateMessage(value);
    return validateReport({ ...ok, [field]: value })[field];
  };
  for (const field of Object.keys(TEXT_LIMITS) as TextField[]) {
    const { maxChars, required } = TEXT_LIMITS[field];
    it(`${field}: ${maxChars} characters, counted as Rust counts them`, () => {
      const longest = ` ${"😀".repeat(maxChars)} `;
      expect(longest.trim().length).toBe(2 * maxChars);
      expect(charCount(longest.trim())).toBe(maxChars);
      expect(errorFor(field, longest)).toBeFalsy();
      expect(errorFor(field, "é".repeat(maxChars + 1))).toBeTruthy();
      if (required) expect(errorFor(field, "  ")).toBeTruthy();
      else expect(errorFor(field, "  ")).toBeFalsy();
    });
  }
  it("match the wire values", () => {
    expect(TEXT_LIMITS).toEqual({
      summary: { maxChars: 200, required: true },
      details: { maxChars: 20000, required: false },
      room: { maxChars: 200, required: false },
      message: { maxChars: 20000, required: true },
    });
  });
});

describe("validateSetup", () => {
  const good = { serverUrl: "https://helpdesk.district.org", enrollmentCode: "ABC-123", teacherName: "Ms. Lee", room: "", email: "" };
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
