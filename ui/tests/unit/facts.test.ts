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

  it("the Wi-Fi and the domain or Entra join, in plain words in both languages", () => {
    const wifi: FactItem = {
      key: "wifi",
      parts: [
        { phrase: "fact.wifi.networkSignal", args: { network: "Aula 12", signal: 87 } },
        { phrase: "fact.value", args: { value: "5 GHz" } },
      ],
    };
    const offline: FactItem = { key: "wifi", parts: [{ phrase: "fact.wifi.disconnected", args: {} }] };
    const hybrid: FactItem = {
      key: "directory",
      parts: [{ phrase: "fact.directory.hybrid", args: { domain: "district.local", tenant: "Lincoln Schools" } }],
    };
    const workgroup: FactItem = { key: "directory", parts: [{ phrase: "fact.directory.workgroup", args: {} }] };
    speak("en");
    expect(factLine(wifi)).toBe("Wi-Fi: Aula 12 (signal 87%); 5 GHz");
    expect(factLine(offline)).toBe("Wi-Fi: Not connected");
    expect(factLine(hybrid)).toBe("Joined to: domain district.local and Microsoft Entra (Lincoln Schools)");
    expect(factLine(workgroup)).toBe("Joined to: No domain (workgroup)");
    speak("es");
    expect(factLine(wifi)).toBe("Red Wi-Fi: Aula 12 (señal 87 %); 5 GHz");
    expect(factLine(offline)).toBe("Red Wi-Fi: Sin conexión");
    expect(factLine(hybrid)).toBe("Unido a: dominio district.local y Microsoft Entra (Lincoln Schools)");
    expect(factLine(workgroup)).toBe("Unido a: Ningún dominio (grupo de trabajo)");
  });

  it("an unknown key (a newer agent) shows the key, not a blank", () => {
    expect(factLabel({ key: "gpu" as FactKey })).toBe("gpu");
  });
});
