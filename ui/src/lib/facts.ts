// Device facts in the teacher's language. The agent sends each fact as a key and its value in
// parts (bindings.ts `FactItem`); the label (`fact.<key>`) and the words of each part (its
// `phrase`) come from the catalogues, numbers are written the local way.
import type { FactItem, FactPart } from "./bindings";
import { formatNumber, has, t } from "./i18n/i18n.svelte";

/** "Memory", "Memoria" (an unknown key is shown as it is). */
export function factLabel(f: Pick<FactItem, "key">): string {
  const key = `fact.${f.key}`;
  return has(key) ? t(key) : f.key;
}

function partText(p: FactPart): string {
  const args: Record<string, string> = {};
  for (const [name, v] of Object.entries(p.args)) {
    args[name] = typeof v === "number" ? formatNumber(v, { maximumFractionDigits: 1 }) : v;
  }
  return t(p.phrase, args);
}

/** "3.4 GB of 8 GB used", "3,4 GB de 8 GB en uso": the parts joined with "; ". */
export function factValue(f: Pick<FactItem, "parts">): string {
  return f.parts.map(partText).join("; ");
}

/** "Memory: 3.4 GB of 8 GB used", one line of the facts list. */
export function factLine(f: FactItem): string {
  return t("facts.item", { label: factLabel(f), value: factValue(f) });
}
