//! Knowledge-base documents and Markdown.
//!
//! An article as a file is Markdown with front matter between two `---`
//! lines: `title`, `slug`, `categories`, `keywords` and `published`. Values
//! are written as JSON (a string, an array of strings, `true`/`false`), which
//! is also valid YAML; on reading, a bare string and a bare comma-separated
//! list are accepted too, so hand-written files stay simple. The body is
//! everything after the closing `---` line, byte for byte, so export → import
//! changes nothing. The shipped defaults (`kb/*.md`) use the same format.
//!
//! [`render_markdown`] is the safe subset the tray app renders
//! (`ui/src/lib/markdown.ts`): headings, paragraphs, numbered and bulleted
//! lists, `**bold**`, `*italic*`, `` `code` `` and links shown as their text.
//! Every piece of source text is HTML-escaped before markup is added.

use handraise_wire::{ArticleInput, Category};
use std::fmt::Write as _;
use std::str::FromStr;

/// One article as a document.
pub type ArticleDoc = ArticleInput;

/// Why a document could not be read: the 1-based line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct DocError {
    pub line: usize,
    pub message: String,
}

fn err(line: usize, message: impl Into<String>) -> DocError {
    DocError {
        line,
        message: message.into(),
    }
}

/// The front-matter keys, in the order they are written.
const KEYS: [&str; 5] = ["title", "slug", "categories", "keywords", "published"];

/// Reads a document. Structure only: the caller validates the values
/// (slug characters, lengths) as it would for the API.
pub fn parse(text: &str) -> Result<ArticleDoc, DocError> {
    let mut rest = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut line_no = 0;
    let mut next_line = |rest: &mut &str| -> Option<String> {
        if rest.is_empty() {
            return None;
        }
        let (line, tail) = match rest.find('\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (*rest, ""),
        };
        *rest = tail;
        line_no += 1;
        Some(line.trim_end_matches('\r').to_owned())
    };
    match next_line(&mut rest) {
        Some(l) if l.trim_end() == "---" => {}
        _ => {
            return Err(err(
                1,
                "the file must start with a '---' line (front matter)",
            ));
        }
    }
    let mut title = None;
    let mut slug = None;
    let mut categories = None;
    let mut keywords = None;
    let mut published = None;
    let mut closed = false;
    let mut current = 1;
    while let Some(line) = next_line(&mut rest) {
        current += 1;
        if line.trim_end() == "---" {
            closed = true;
            break;
        }
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(err(
                current,
                format!("expected 'key: value', found {line:?}"),
            ));
        };
        let key = key.trim();
        let value = value.trim();
        let dup = || err(current, format!("{key:?} appears twice"));
        match key {
            "title" => {
                if title.replace(string_value(value, current)?).is_some() {
                    return Err(dup());
                }
            }
            "slug" => {
                if slug.replace(string_value(value, current)?).is_some() {
                    return Err(dup());
                }
            }
            "categories" => {
                let mut list = Vec::new();
                for c in list_value(value, current)? {
                    list.push(Category::from_str(&c).map_err(|_| {
                        err(
                            current,
                            format!(
                                "unknown category {c:?} (use {})",
                                Category::ALL
                                    .iter()
                                    .map(|c| c.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        )
                    })?);
                }
                if categories.replace(list).is_some() {
                    return Err(dup());
                }
            }
            "keywords" => {
                if keywords.replace(list_value(value, current)?).is_some() {
                    return Err(dup());
                }
            }
            "published" => {
                let v = match value {
                    "true" | "yes" => true,
                    "false" | "no" => false,
                    other => {
                        return Err(err(
                            current,
                            format!("published must be true or false, not {other:?}"),
                        ));
                    }
                };
                if published.replace(v).is_some() {
                    return Err(dup());
                }
            }
            other => {
                return Err(err(
                    current,
                    format!("unknown key {other:?} (use {})", KEYS.join(", ")),
                ));
            }
        }
    }
    if !closed {
        return Err(err(
            current,
            "the front matter has no closing '---' line".to_owned(),
        ));
    }
    let title = title.ok_or_else(|| err(current, "the front matter has no title"))?;
    let slug = slug.ok_or_else(|| err(current, "the front matter has no slug"))?;
    Ok(ArticleDoc {
        slug,
        title,
        body: rest.to_owned(),
        categories: categories.unwrap_or_default(),
        keywords: keywords.unwrap_or_default(),
        published: published.unwrap_or(true),
    })
}

fn string_value(value: &str, line: usize) -> Result<String, DocError> {
    if value.starts_with('"') {
        serde_json::from_str(value).map_err(|e| err(line, format!("bad quoted string: {e}")))
    } else {
        Ok(value.to_owned())
    }
}

fn list_value(value: &str, line: usize) -> Result<Vec<String>, DocError> {
    if value.starts_with('[') {
        if let Ok(list) = serde_json::from_str::<Vec<String>>(value) {
            return Ok(list);
        }
        // A YAML flow list without quotes: [a, b].
        let inner = value
            .strip_prefix('[')
            .and_then(|v| v.strip_suffix(']'))
            .ok_or_else(|| err(line, "a list must end with ']'"))?;
        if inner.contains('"') {
            return Err(err(line, "bad list: use [\"a\", \"b\"] or a, b"));
        }
        return Ok(split_list(inner));
    }
    Ok(split_list(value))
}

fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Writes a document that [`parse`] reads back unchanged.
pub fn format(doc: &ArticleDoc) -> String {
    let mut out = String::with_capacity(doc.body.len() + 256);
    let categories: Vec<&str> = doc.categories.iter().map(|c| c.as_str()).collect();
    let _ = writeln!(out, "---");
    let _ = writeln!(out, "title: {}", json(&doc.title));
    let _ = writeln!(out, "slug: {}", json(&doc.slug));
    let _ = writeln!(out, "categories: {}", json(&categories));
    let _ = writeln!(out, "keywords: {}", json(&doc.keywords));
    let _ = writeln!(out, "published: {}", doc.published);
    let _ = writeln!(out, "---");
    out.push_str(&doc.body);
    out
}

macro_rules! default_articles {
    ($($file:literal),* $(,)?) => {
        /// The articles shipped with the server (`kb/*.md`), loaded by `init`.
        pub const DEFAULT_FILES: &[(&str, &str)] = &[
            $(($file, include_str!(concat!("../kb/", $file)))),*
        ];
    };
}

default_articles!(
    "projector-no-signal.md",
    "projector-wrong-colours-or-flicker.md",
    "board-not-responding-to-touch.md",
    "board-no-sound.md",
    "microphone-not-picked-up.md",
    "headphones-no-sound.md",
    "printer-offline.md",
    "printer-jammed.md",
    "printing-to-wrong-printer.md",
    "wifi-connected-no-internet.md",
    "wifi-not-connecting.md",
    "site-blocked.md",
    "video-call-choppy.md",
    "password-expired.md",
    "account-locked-out.md",
    "forgot-password.md",
    "sign-in-time-wrong.md",
    "app-wont-load.md",
    "website-not-loading-properly.md",
    "app-asks-for-update.md",
    "computer-slow.md",
    "disk-full.md",
    "computer-wont-wake.md",
    "keyboard-or-mouse-dead.md",
    "laptop-not-charging.md",
    "computer-wont-turn-on.md",
    "request-new-equipment.md",
    "classroom-phone-or-bell.md",
    "how-to-report-a-problem.md",
);

/// The shipped articles, parsed. A file that does not parse is a bug caught
/// by the unit tests; it is skipped (and logged) here.
pub fn defaults() -> Vec<ArticleDoc> {
    DEFAULT_FILES
        .iter()
        .filter_map(|(name, text)| match parse(text) {
            Ok(doc) => Some(doc),
            Err(e) => {
                tracing::error!(file = name, error = %e, "a shipped article does not parse");
                None
            }
        })
        .collect()
}

// ---- Markdown ----------------------------------------------------------------

/// HTML-escapes text (also quotes, so it is safe in attributes).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
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
    out
}

/// Links and images become their text; the URL is dropped.
fn strip_links(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('[') {
        let close = rest[open..].find("](").map(|i| open + i);
        let end = close.and_then(|c| rest[c..].find(')').map(|i| c + i));
        match (close, end) {
            (Some(close), Some(end)) if !rest[open + 1..close].contains('[') => {
                let before = &rest[..open];
                out.push_str(before.strip_suffix('!').unwrap_or(before));
                out.push_str(&rest[open + 1..close]);
                rest = &rest[end + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = &rest[open + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Replaces `delim`…`delim` pairs whose content neither starts nor ends with
/// whitespace by `<tag>`…`</tag>`. `word_bound` refuses delimiters inside
/// words (for `_`).
fn emphasis(s: &str, delim: &str, tag: &str, word_bound: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find(delim) {
        let prev = rest[..start].chars().last().or_else(|| out.chars().last());
        let inner_start = start + delim.len();
        let ok_open = rest[inner_start..]
            .chars()
            .next()
            .is_some_and(|c| !c.is_whitespace())
            && !(word_bound && prev.is_some_and(|c| c.is_alphanumeric()))
            && !(delim == "*" && rest[inner_start..].starts_with('*'));
        let close = if ok_open {
            rest[inner_start..].find(delim).map(|i| inner_start + i)
        } else {
            None
        };
        match close {
            Some(end)
                if end > inner_start
                    && !rest[..end].ends_with(char::is_whitespace)
                    && !(word_bound
                        && rest[end + delim.len()..]
                            .chars()
                            .next()
                            .is_some_and(|c| c.is_alphanumeric())) =>
            {
                out.push_str(&rest[..start]);
                let _ = write!(out, "<{tag}>{}</{tag}>", &rest[inner_start..end]);
                rest = &rest[end + delim.len()..];
            }
            _ => {
                out.push_str(&rest[..inner_start]);
                rest = &rest[inner_start..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Inline formatting of one run of text; returns safe HTML.
pub fn render_inline(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 16);
    let mut rest = raw;
    loop {
        let code = rest.find('`').and_then(|a| {
            rest[a + 1..]
                .find('`')
                .filter(|len| *len > 0)
                .map(|len| (a, a + 1 + len))
        });
        let (text, code_span, tail) = match code {
            Some((a, b)) => (&rest[..a], Some(&rest[a + 1..b]), &rest[b + 1..]),
            None => (rest, None, ""),
        };
        let mut t = escape_html(&strip_links(text));
        t = emphasis(&t, "**", "strong", false);
        t = emphasis(&t, "__", "strong", false);
        t = emphasis(&t, "*", "em", false);
        t = emphasis(&t, "_", "em", true);
        out.push_str(&t);
        match code_span {
            Some(c) => {
                let _ = write!(out, "<code>{}</code>", escape_html(c));
                rest = tail;
            }
            None => break,
        }
    }
    out
}

enum Block {
    Heading(usize, String),
    Para(Vec<String>),
    List {
        ordered: bool,
        start: u64,
        items: Vec<String>,
    },
}

fn heading(line: &str) -> Option<(usize, String)> {
    let hashes = line.bytes().take_while(|b| *b == b'#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = &line[hashes..];
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let text = rest.trim().trim_end_matches('#').trim_end();
    Some((hashes, text.to_owned()))
}

fn indent_ok(line: &str) -> Option<&str> {
    let trimmed = line.trim_start_matches(' ');
    (line.len() - trimmed.len() <= 3).then_some(trimmed)
}

fn ordered_item(line: &str) -> Option<(u64, String)> {
    let t = indent_ok(line)?;
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=9).contains(&digits) {
        return None;
    }
    let after = &t[digits..];
    let after = after
        .strip_prefix('.')
        .or_else(|| after.strip_prefix(')'))?;
    if !after.starts_with(char::is_whitespace) {
        return None;
    }
    Some((t[..digits].parse().ok()?, after.trim().to_owned()))
}

fn bullet_item(line: &str) -> Option<String> {
    let t = indent_ok(line)?;
    let after = t
        .strip_prefix('-')
        .or_else(|| t.strip_prefix('*'))
        .or_else(|| t.strip_prefix('+'))?;
    if !after.starts_with(char::is_whitespace) {
        return None;
    }
    Some(after.trim().to_owned())
}

fn blocks(src: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut cur: Option<Block> = None;
    for line in src.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if matches!(cur, Some(Block::Para(_))) {
                out.extend(cur.take());
            }
            continue;
        }
        if let Some((level, text)) = heading(line) {
            out.extend(cur.take());
            out.push(Block::Heading(level, text));
            continue;
        }
        if let Some((n, text)) = ordered_item(line) {
            match &mut cur {
                Some(Block::List {
                    ordered: true,
                    items,
                    ..
                }) => items.push(text),
                _ => {
                    out.extend(cur.take());
                    cur = Some(Block::List {
                        ordered: true,
                        start: n,
                        items: vec![text],
                    });
                }
            }
            continue;
        }
        if let Some(text) = bullet_item(line) {
            match &mut cur {
                Some(Block::List {
                    ordered: false,
                    items,
                    ..
                }) => items.push(text),
                _ => {
                    out.extend(cur.take());
                    cur = Some(Block::List {
                        ordered: false,
                        start: 1,
                        items: vec![text],
                    });
                }
            }
            continue;
        }
        if let Some(Block::List { items, .. }) = &mut cur {
            if line.starts_with(char::is_whitespace)
                && let Some(last) = items.last_mut()
            {
                last.push(' ');
                last.push_str(line.trim());
                continue;
            }
            out.extend(cur.take());
        }
        match &mut cur {
            Some(Block::Para(lines)) => lines.push(line.trim().to_owned()),
            _ => cur = Some(Block::Para(vec![line.trim().to_owned()])),
        }
    }
    out.extend(cur);
    out
}

/// Renders Markdown to safe HTML; `#` becomes `<h{base}>`.
pub fn render_markdown(src: &str, base: usize) -> String {
    let mut out = String::with_capacity(src.len() + src.len() / 4);
    for b in blocks(src) {
        match b {
            Block::Heading(level, text) => {
                let l = (base + level - 1).min(6);
                let _ = write!(out, "<h{l}>{}</h{l}>", render_inline(&text));
            }
            Block::Para(lines) => {
                let _ = write!(out, "<p>{}</p>", render_inline(&lines.join(" ")));
            }
            Block::List {
                ordered,
                start,
                items,
            } => {
                let tag = if ordered { "ol" } else { "ul" };
                if ordered && start != 1 {
                    let _ = write!(out, "<ol start=\"{start}\">");
                } else {
                    let _ = write!(out, "<{tag}>");
                }
                for i in items {
                    let _ = write!(out, "<li>{}</li>", render_inline(&i));
                }
                let _ = write!(out, "</{tag}>");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_shipped_article_parses_and_the_set_covers_every_category() {
        assert!(DEFAULT_FILES.len() >= 25, "{}", DEFAULT_FILES.len());
        let mut slugs = BTreeSet::new();
        let mut categories = BTreeSet::new();
        for (name, text) in DEFAULT_FILES {
            let doc = parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(format!("{}.md", doc.slug), *name, "file name = slug");
            assert!(
                slugs.insert(doc.slug.clone()),
                "duplicate slug {}",
                doc.slug
            );
            assert!(!doc.categories.is_empty(), "{name} has no category");
            assert!(!doc.keywords.is_empty(), "{name} has no keywords");
            assert!(doc.body.contains("\n1. "), "{name} has no numbered steps");
            crate::service::article_record(doc.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
            categories.extend(doc.categories.iter().copied());
        }
        for c in Category::ALL {
            assert!(categories.contains(c), "no article for {}", c.as_str());
        }
        assert_eq!(defaults().len(), DEFAULT_FILES.len());
    }

    #[test]
    fn every_file_in_the_kb_folder_is_shipped() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("kb");
        let listed: BTreeSet<&str> = DEFAULT_FILES.iter().map(|(n, _)| *n).collect();
        for entry in std::fs::read_dir(dir).expect("kb folder") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            if name.ends_with(".md") {
                assert!(
                    listed.contains(name.as_str()),
                    "{name} is not in DEFAULT_FILES"
                );
            }
        }
    }

    #[test]
    fn format_then_parse_is_the_identity() {
        let docs = [
            ArticleDoc {
                slug: "a-b".into(),
                title: "Quotes \" and: colons, commas".into(),
                body: "No trailing newline".into(),
                categories: vec![Category::Printer, Category::Other],
                keywords: vec!["a, b".into(), "[x]".into(), "ünï".into()],
                published: false,
            },
            ArticleDoc {
                slug: "c".into(),
                title: "T".into(),
                body: "---\nlooks like front matter\n\n\n".into(),
                categories: vec![],
                keywords: vec![],
                published: true,
            },
        ];
        for d in docs {
            assert_eq!(parse(&format(&d)), Ok(d));
        }
    }

    #[test]
    fn hand_written_front_matter_is_accepted() {
        let doc = parse(
            "---\ntitle: Printer says offline\nslug: printer-offline\n\
             categories: [printer]\nkeywords: printer, offline\n---\nBody\n",
        )
        .expect("parses");
        assert_eq!(doc.title, "Printer says offline");
        assert_eq!(doc.categories, vec![Category::Printer]);
        assert_eq!(doc.keywords, vec!["printer", "offline"]);
        assert!(doc.published);
        assert_eq!(doc.body, "Body\n");
    }

    #[test]
    fn malformed_documents_name_the_line() {
        let cases = [
            ("title: x\n", 1),
            ("---\ntitle: x\nslug: y\ncategories: [teleport]\n---\n", 4),
            ("---\ntitle: x\nnonsense line\n---\n", 3),
            ("---\ntitle: x\nslug: y\ncolour: red\n---\n", 4),
            ("---\ntitle: \"unterminated\nslug: y\n---\n", 2),
            ("---\ntitle: x\nslug: y\n", 3),
            ("---\nslug: y\n---\nbody", 3),
            ("---\ntitle: a\ntitle: b\nslug: c\n---\n", 3),
            ("---\ntitle: a\nslug: c\npublished: maybe\n---\n", 4),
        ];
        for (text, line) in cases {
            let e = parse(text).expect_err(text);
            assert_eq!(e.line, line, "{text:?}: {e}");
        }
    }

    #[test]
    fn markdown_subset_renders_and_escapes() {
        let html = render_markdown(
            "# Fix it\n\nPress **Source** then *HDMI 1* or `Win+P`.\n\n\
             1. Check the cable\n2. Wait [ten seconds](https://x.example)\n\
             - a <script>alert(1)</script>\n- b\n",
            3,
        );
        assert_eq!(
            html,
            "<h3>Fix it</h3><p>Press <strong>Source</strong> then <em>HDMI 1</em> or \
             <code>Win+P</code>.</p><ol><li>Check the cable</li><li>Wait ten seconds</li></ol>\
             <ul><li>a &lt;script&gt;alert(1)&lt;/script&gt;</li><li>b</li></ul>"
        );
        assert_eq!(
            render_markdown("<img src=x onerror=alert(1)> file_name_here", 2),
            "<p>&lt;img src=x onerror=alert(1)&gt; file_name_here</p>"
        );
        assert_eq!(
            render_markdown("3. three\n4. four", 2),
            "<ol start=\"3\"><li>three</li><li>four</li></ol>"
        );
    }
}
