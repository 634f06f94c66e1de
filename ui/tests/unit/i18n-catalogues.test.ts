import { afterEach, describe, expect, it } from "vitest";
import { en } from "../../src/lib/i18n/en";
import { es } from "../../src/lib/i18n/es";
import {
  applyLocale,
  detectSystemLocale,
  formatNumber,
  i18n,
  resolveLocale,
  t,
  tn,
} from "../../src/lib/i18n/i18n.svelte";
import { formatTime } from "../../src/lib/format";

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

// Keys whose Spanish text may legitimately equal the English one.
const SAME_IN_BOTH = new Set([
  "app.name",
  "nav.label",
  "lang.name.en",
  "lang.name.es",
  "facts.item",
  "fact.value",
  "error.prefix",
  "setup.server.hint",
  "conn.ms",
  "conn.line",
  "conn.sentence",
  "fact.screen.size",
  "fact.directory.entra",
]);

describe("message catalogues", () => {
  const enKeys = Object.keys(en).sort();
  const esKeys = Object.keys(es).sort();

  it("Spanish has every English key, with a non-empty string", () => {
    const missing = enKeys.filter((k) => typeof (es as Record<string, unknown>)[k] !== "string" || !(es as Record<string, string>)[k].trim());
    expect(missing).toEqual([]);
  });

  it("English has every Spanish key (no stray keys), with a non-empty string", () => {
    const extra = esKeys.filter((k) => !(k in en) || !(en as Record<string, string>)[k].trim());
    expect(extra).toEqual([]);
    expect(esKeys).toEqual(enKeys);
  });

  it("each Spanish string uses the same {placeholders} as the English one", () => {
    const wrong = enKeys.filter(
      (k) => placeholders((en as Record<string, string>)[k]).join() !== placeholders((es as Record<string, string>)[k]).join(),
    );
    expect(wrong).toEqual([]);
  });

  it("Spanish strings are translated (not English copied over)", () => {
    const same = enKeys.filter((k) => !SAME_IN_BOTH.has(k) && (en as Record<string, string>)[k] === (es as Record<string, string>)[k]);
    expect(same).toEqual([]);
  });

  it("plural pairs exist in both", () => {
    for (const k of enKeys.filter((k) => k.endsWith(".one"))) {
      expect(en).toHaveProperty(k.replace(/\.one$/, ".other"));
      expect(es).toHaveProperty(k.replace(/\.one$/, ".other"));
    }
  });
});

describe("locale", () => {
  afterEach(() => {
    i18n.override = null;
    i18n.system = "en";
    i18n.systemTag = "en";
    applyLocale();
  });

  it("maps OS tags to supported locales", () => {
    expect(resolveLocale("es-MX")).toBe("es");
    expect(resolveLocale("ES")).toBe("es");
    expect(resolveLocale("en_US")).toBe("en");
    expect(resolveLocale("fr-FR")).toBeNull();
    expect(resolveLocale(null)).toBeNull();
  });

  it("detects the first supported OS language, else English", () => {
    expect(detectSystemLocale({ languages: ["fr-FR", "es-419", "en"], language: "fr-FR" })).toEqual({ locale: "es", tag: "es-419" });
    expect(detectSystemLocale({ languages: [], language: "de-DE" })).toEqual({ locale: "en", tag: "en" });
  });

  it("the manual override wins over the OS; null follows the OS; <html lang> follows", () => {
    i18n.system = "es";
    applyLocale();
    expect(t("nav.report")).toBe("Informar de un problema");
    expect(document.documentElement.lang).toBe("es");
    i18n.override = "en";
    applyLocale();
    expect(t("nav.report")).toBe("Report a problem");
    expect(document.documentElement.lang).toBe("en");
    i18n.override = null;
    applyLocale();
    expect(t("nav.report")).toBe("Informar de un problema");
  });

  it("numbers and dates follow the active locale", () => {
    i18n.override = "en";
    applyLocale();
    expect(formatNumber(12345.5)).toBe("12,345.5");
    expect(tn("articles.count", 1234)).toBe("1,234 articles");
    const now = new Date(2026, 2, 3, 15, 0);
    expect(formatTime(new Date(2026, 2, 3, 14, 5).toISOString(), now)).toMatch(/^2:05\sPM$/);
    i18n.override = "es";
    applyLocale();
    expect(formatNumber(12345.5)).toBe("12.345,5");
    expect(tn("articles.count", 2)).toBe("2 artículos");
    expect(formatTime(new Date(2026, 2, 3, 14, 5).toISOString(), now)).toBe("14:05");
    expect(formatTime(new Date(2026, 1, 27, 9, 30).toISOString(), now)).toMatch(/27 feb/);
  });
});
