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
//! [`render_markdown`] (the console's preview) is `handraise_markdown::to_html`, the one
//! renderer the tray app uses too.

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

/// The console's article preview. It is the renderer the tray app shows teachers too
/// (`handraise-markdown`), so the preview is what the teacher will see.
pub use handraise_markdown::to_html as render_markdown;

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
}
