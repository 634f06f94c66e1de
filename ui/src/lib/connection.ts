// Plain words for "Check my connection" and the "Copy for the technician" text block.
import type { Check, ConnectionReport, FactItem } from "./bindings";
import { factLine } from "./facts";
import { formatNumber, has, t } from "./i18n/i18n.svelte";

/** "Finding websites by name (DNS)", … (an unknown key is shown as it is). */
export function checkName(key: string): string {
  const k = `conn.check.${key}`;
  return has(k) ? t(k) : key;
}

/** "Works (12 ms)", "Not working", "Not checked". */
export function checkResult(c: Pick<Check, "ok" | "ms">): string {
  if (c.ok === null) return t("conn.skipped");
  if (!c.ok) return t("conn.fail");
  return c.ms != null ? `${t("conn.ok")} (${t("conn.ms", { ms: formatNumber(Math.round(c.ms)) })})` : t("conn.ok");
}

/** The one-sentence verdict, with the offer to report when the app suggests a category. */
export function verdictSentence(r: Pick<ConnectionReport, "verdict" | "suggest_category">): string {
  const k = `conn.verdict.${r.verdict}`;
  const verdict = has(k) ? t(k) : r.verdict;
  if (!r.suggest_category) return t("conn.sentence", { verdict });
  const ask = r.suggest_category === "wifi" ? t("conn.ask.wifi") : t("conn.ask.other");
  return t("conn.sentenceAsk", { verdict, ask });
}

/** Plain text for the clipboard: the facts, then the last connection check if there is one. */
export function technicianText(facts: FactItem[], report: ConnectionReport | null, when: string): string {
  const lines = [t("about.copy.title", { time: when }), ""];
  for (const f of facts) lines.push(factLine(f));
  if (report) {
    lines.push("", t("about.copy.connection"));
    for (const c of report.checks) {
      let line = t("conn.line", { name: checkName(c.key), result: checkResult(c) });
      if (c.target) line += ` [${c.target}]`;
      if (c.detail) line += ` — ${c.detail}`;
      lines.push(line);
    }
    lines.push(verdictSentence({ verdict: report.verdict, suggest_category: null }));
  }
  return lines.join("\n") + "\n";
}
