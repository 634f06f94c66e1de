//! Knowledge-base articles from Markdown to safe HTML, in one place: the console's preview
//! (what the technician sees while writing) and the tray app (what the teacher reads) both
//! call [`to_html`], so the teacher sees exactly what the technician previewed.
//!
//! The Markdown is parsed by pulldown-cmark (CommonMark, no extensions); this crate writes
//! the HTML itself from a strict allow-list, so nothing an author types can become markup
//! outside it:
//!
//! - Elements: `p`, `h3`–`h6` (a `#` heading is an `h3`: articles sit under an `h2` title),
//!   `ol` (with `start` when it is not 1), `ul`, `li`, `strong`, `em`, `code`, `pre`,
//!   `blockquote`, `hr` and `br`. No other element, and no other attribute, is ever written.
//! - Links are shown as their text only: the address is dropped, whatever its scheme, so
//!   there is nothing to click (an article is read beside the report form, not browsed).
//! - Images are shown as their alt text and never loaded.
//! - Raw HTML (a `<script>`, an `<img onerror=…>`, a comment) is shown as text.
//! - Every piece of text is HTML-escaped (`& < > " '`).

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use std::fmt::Write as _;

/// The heading level a Markdown `#` becomes.
pub const BASE_HEADING_LEVEL: usize = 3;

/// Renders an article's Markdown to safe HTML (see the crate documentation for what may
/// appear in it).
pub fn to_html(markdown: &str) -> String {
    let mut w = Writer {
        out: String::with_capacity(markdown.len() + markdown.len() / 4),
        closers: Vec::new(),
        raw: None,
    };
    for event in Parser::new_ext(markdown, Options::empty()) {
        w.event(event);
    }
    w.out
}

/// HTML-escapes text (quotes too, so it is safe in attributes).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    push_escaped(&mut out, s);
    out
}

fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

struct Writer {
    out: String,
    /// What each open tag closes with ("" for a tag that writes nothing).
    closers: Vec<&'static str>,
    /// The text of the raw HTML block being read, shown as a paragraph of text.
    raw: Option<String>,
}

fn heading(level: HeadingLevel) -> usize {
    (level as usize + BASE_HEADING_LEVEL - 1).min(6)
}

const HEADINGS: [(&str, &str); 4] = [
    ("<h3>", "</h3>"),
    ("<h4>", "</h4>"),
    ("<h5>", "</h5>"),
    ("<h6>", "</h6>"),
];

impl Writer {
    fn open(&mut self, open: &str, close: &'static str) {
        self.out.push_str(open);
        self.closers.push(close);
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => self.open("<p>", "</p>"),
            Tag::Heading { level, .. } => {
                let (open, close) = HEADINGS[heading(level) - BASE_HEADING_LEVEL];
                self.open(open, close);
            }
            Tag::BlockQuote(_) => self.open("<blockquote>", "</blockquote>"),
            Tag::CodeBlock(CodeBlockKind::Fenced(_) | CodeBlockKind::Indented) => {
                self.open("<pre><code>", "</code></pre>")
            }
            Tag::HtmlBlock => {
                self.raw = Some(String::new());
                self.closers.push("");
            }
            Tag::List(Some(start)) if start != 1 => {
                let _ = write!(self.out, "<ol start=\"{start}\">");
                self.closers.push("</ol>");
            }
            Tag::List(Some(_)) => self.open("<ol>", "</ol>"),
            Tag::List(None) => self.open("<ul>", "</ul>"),
            Tag::Item => self.open("<li>", "</li>"),
            Tag::Emphasis => self.open("<em>", "</em>"),
            Tag::Strong => self.open("<strong>", "</strong>"),
            // Links and images (and anything not on the allow-list): their text only.
            _ => self.closers.push(""),
        }
    }

    fn end(&mut self, tag: TagEnd) {
        if tag == TagEnd::HtmlBlock
            && let Some(raw) = self.raw.take()
        {
            let text = raw.trim_end();
            if !text.is_empty() {
                self.out.push_str("<p>");
                push_escaped(&mut self.out, text);
                self.out.push_str("</p>");
            }
        }
        if let Some(close) = self.closers.pop() {
            self.out.push_str(close);
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Html(html) => match &mut self.raw {
                Some(raw) => raw.push_str(&html),
                None => push_escaped(&mut self.out, &html),
            },
            Event::Text(text)
            | Event::InlineHtml(text)
            | Event::InlineMath(text)
            | Event::DisplayMath(text)
            | Event::FootnoteReference(text) => push_escaped(&mut self.out, &text),
            Event::Code(code) => {
                self.out.push_str("<code>");
                push_escaped(&mut self.out, &code);
                self.out.push_str("</code>");
            }
            Event::SoftBreak => self.out.push(' '),
            Event::HardBreak => self.out.push_str("<br>"),
            Event::Rule => self.out.push_str("<hr>"),
            Event::TaskListMarker(done) => self.out.push_str(if done { "[x] " } else { "[ ] " }),
        }
    }
}

#[cfg(test)]
mod tests;
