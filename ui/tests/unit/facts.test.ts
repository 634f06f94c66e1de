import { afterEach, describe, expect, it } from "vitest";
import type { FactItem, FactKey } from "../../src/lib/bindings";
import { factLabel, factLine, factValue } from "../../src/lib/facts";
import { applyLocale, i18n } from "../../src/lib/i18n/i18n.svelte";

const memory: FactItem = { key: "memory", parts: [{ phrase: "fact.memory.used", args: { used: 3.4, total: 8 } }] };
const network: FactItem = {
  key: "network",
  parts: [
    { phrase: "fact.value", args: { value: "wlan0 192.168.1.23" } },
    { phrase: "fact.network.gateway", args: { address: "192.168.1.1" } },
  ],
};

function speak(locale: "en" | "es") {
  i18n.override = locale;
  applyLocale();
}

describe("device facts in the teacher's language", () => {
  afterEach(() => speak("en"));

  it("English: label from the catalogue, parts joined, numbers the English way", () => {
    speak("en");
    expect(factLabel(memory)).toBe("Memory");
    expect(factValue(memory)).toBe("3.4 GB of 8 GB used");
    expect(factLine(network)).toBe("Network: wlan0 192.168.1.23; gateway 192.168.1.1");
  });

  it("Spanish: the same facts in Spanish words, with a decimal comma", () => {
    speak("es");
    expect(factLine(memory)).toBe("Memoria: 3,4 GB de 8 GB en uso");
    expect(factLine(network)).toBe("Red: wlan0 192.168.1.23; puerta de enlace 192.168.1.1");
    expect(factValue({ parts: [{ phrase: "fact.cpu.unknown", args: {} }] })).toBe("desconocido");
  });

  it("an unknown key (a newer agent) shows the key, not a blank", () => {
    expect(factLabel({ key: "gpu" as FactKey })).toBe("gpu");
  });
});
