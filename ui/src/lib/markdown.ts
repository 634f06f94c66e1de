// A tiny, safe Markdown renderer for self-help articles.
// Supports: headings (#..######), paragraphs, numbered and bulleted lists, **bold**, *italic*,
// `code`, and links (rendered as their text only). Every piece of source text is HTML-escaped
// before any markup is added, so raw HTML in an article is shown as text, never executed.

export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** Inline formatting on one run of raw text; returns safe HTML. */
export function renderInline(raw: string): string {
  // Split out code spans first so their content is not formatted.
  const parts = raw.split(/(`[^`]+`)/g);
  return parts
    .map((part) => {
      if (part.length > 2 && part.startsWith("`") && part.endsWith("`")) {
        return `<code>${escapeHtml(part.slice(1, -1))}</code>`;
      }
      // Links → their text (URL dropped). Images → their alt text.
      let text = part.replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1");
      text = escapeHtml(text);
      text = text.replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, "<strong>$1</strong>");
      text = text.replace(/__(?=\S)([\s\S]*?\S)__/g, "<strong>$1</strong>");
      text = text.replace(/(^|[^*\w])\*(?=\S)([^*]*?\S)\*(?!\*)/g, "$1<em>$2</em>");
      text = text.replace(/(^|[^_\w])_(?=\S)([^_]*?\S)_(?![_\w])/g, "$1<em>$2</em>");
      return text;
    })
    .join("");
}

type Block =
  | { kind: "heading"; level: number; text: string }
  | { kind: "para"; lines: string[] }
  | { kind: "list"; ordered: boolean; start: number; items: string[] };

const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const ORDERED = /^\s{0,3}(\d{1,9})[.)]\s+(.*)$/;
const BULLET = /^\s{0,3}[-*+]\s+(.*)$/;

function parse(src: string): Block[] {
  const lines = src.replace(/\r\n?/g, "\n").split("\n");
  const blocks: Block[] = [];
  let cur: Block | null = null;
  const close = () => {
    if (cur) blocks.push(cur);
    cur = null;
  };
  for (const line of lines) {
    if (line.trim() === "") {
      // Blank lines end paragraphs; lists may continue after a blank line.
      if (cur && cur.kind === "para") close();
      continue;
    }
    const h = HEADING.exec(line);
    if (h) {
      close();
      blocks.push({ kind: "heading", level: h[1].length, text: h[2] });
      continue;
    }
    const o = ORDERED.exec(line);
    if (o) {
      if (!(cur && cur.kind === "list" && cur.ordered)) {
        close();
        cur = { kind: "list", ordered: true, start: parseInt(o[1], 10), items: [] };
      }
      cur.items.push(o[2]);
      continue;
    }
    const b = BULLET.exec(line);
    if (b) {
      if (!(cur && cur.kind === "list" && !cur.ordered)) {
        close();
        cur = { kind: "list", ordered: false, start: 1, items: [] };
      }
      cur.items.push(b[1]);
      continue;
    }
    if (cur && cur.kind === "list") {
      if (/^\s+/.test(line) && cur.items.length > 0) {
        // Indented continuation of the last list item.
        cur.items[cur.items.length - 1] += " " + line.trim();
        continue;
      }
      close();
    }
    if (!cur) cur = { kind: "para", lines: [] };
    (cur as { kind: "para"; lines: string[] }).lines.push(line.trim());
  }
  close();
  return blocks;
}

export interface RenderOptions {
  /** Heading level that a Markdown `#` maps to (default 3, so articles sit under an h2). */
  baseHeadingLevel?: number;
}

/** Render Markdown to safe HTML. */
export function renderMarkdown(src: string, opts: RenderOptions = {}): string {
  const base = opts.baseHeadingLevel ?? 3;
  return parse(src ?? "")
    .map((b) => {
      switch (b.kind) {
        case "heading": {
          const lvl = Math.min(6, base + b.level - 1);
          return `<h${lvl}>${renderInline(b.text)}</h${lvl}>`;
        }
        case "para":
          return `<p>${renderInline(b.lines.join(" "))}</p>`;
        case "list": {
          const items = b.items.map((i) => `<li>${renderInline(i)}</li>`).join("");
          if (b.ordered) {
            const start = b.start !== 1 ? ` start="${b.start}"` : "";
            return `<ol${start}>${items}</ol>`;
          }
          return `<ul>${items}</ul>`;
        }
      }
    })
    .join("\n");
}
