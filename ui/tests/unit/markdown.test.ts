import { describe, expect, it } from "vitest";
import { escapeHtml, renderInline, renderMarkdown } from "../../src/lib/markdown";

describe("renderMarkdown", () => {
  it("escapes raw HTML so <script> renders as text", () => {
    const html = renderMarkdown('Hello <script>alert("x")</script> & <img src=x onerror=alert(1)>');
    expect(html).not.toContain("<script>");
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(html).toContain("&amp;");
    const div = document.createElement("div");
    div.innerHTML = html;
    expect(div.querySelector("script")).toBeNull();
    expect(div.querySelector("img")).toBeNull();
    expect(div.textContent).toContain('<script>alert("x")</script>');
  });

  it("escapes HTML inside list items, headings, bold and code", () => {
    const html = renderMarkdown("# <b>T</b>\n1. **<i>x</i>**\n- `<svg onload=1>`");
    const div = document.createElement("div");
    div.innerHTML = html;
    expect(div.querySelector("b, i, svg")).toBeNull();
    expect(div.querySelector("h3")?.textContent).toBe("<b>T</b>");
    expect(div.querySelector("ol li strong")?.textContent).toBe("<i>x</i>");
    expect(div.querySelector("ul li code")?.textContent).toBe("<svg onload=1>");
  });

  it("renders numbered steps as an ordered list", () => {
    const md = "Try these steps:\n\n1. Check the cable.\n2. Press **Input** on the remote.\n3. Wait *ten* seconds.";
    const div = document.createElement("div");
    div.innerHTML = renderMarkdown(md);
    expect(div.querySelector("p")?.textContent).toBe("Try these steps:");
    const items = [...div.querySelectorAll("ol > li")].map((li) => li.textContent);
    expect(items).toEqual(["Check the cable.", "Press Input on the remote.", "Wait ten seconds."]);
    expect(div.querySelector("ol li strong")?.textContent).toBe("Input");
    expect(div.querySelector("ol li em")?.textContent).toBe("ten");
  });

  it("keeps numbering across blank lines and honours the start number", () => {
    const div = document.createElement("div");
    div.innerHTML = renderMarkdown("3. three\n\n4. four");
    const ol = div.querySelector("ol")!;
    expect(ol.getAttribute("start")).toBe("3");
    expect(ol.querySelectorAll("li").length).toBe(2);
  });

  it("renders headings, bullets and paragraphs", () => {
    const div = document.createElement("div");
    div.innerHTML = renderMarkdown("## Before you start\nSome text\nmore text\n\n- one\n* two\n\nEnd.", { baseHeadingLevel: 3 });
    expect(div.querySelector("h4")?.textContent).toBe("Before you start");
    expect(div.querySelector("p")?.textContent).toBe("Some text more text");
    expect([...div.querySelectorAll("ul > li")].map((l) => l.textContent)).toEqual(["one", "two"]);
    expect(div.querySelectorAll("p")[1].textContent).toBe("End.");
  });

  it("renders links as their text only, never as anchors", () => {
    const html = renderMarkdown("Go to [the portal](javascript:alert(1)) now");
    expect(html).not.toContain("<a");
    expect(html).not.toContain("javascript");
    expect(html).toContain("the portal");
  });

  it("escapes every special character", () => {
    expect(escapeHtml(`<>&"'`)).toBe("&lt;&gt;&amp;&quot;&#39;");
    expect(renderInline("a * b * c")).toBe("a * b * c");
  });
});
