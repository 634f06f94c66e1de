//! Self-help search on the server, for the web report page (the app searches
//! its own cached copy with SQLite's FTS5): published articles whose title,
//! keywords or text hold the words typed, best first, in the chosen category.

use crate::store::ArticleRecord;
use handraise_wire::Category;

/// The most hits one search answers.
pub const MAX_HITS: usize = 8;
/// The longest snippet, in characters.
const SNIPPET_CHARS: usize = 160;

/// A search hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub slug: String,
    pub title: String,
    pub snippet: String,
    pub categories: Vec<Category>,
}

/// The words of a text, lowercased (letters and digits; at least two characters).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_lowercase)
        .collect()
}

/// Whether `word` (typed) matches a word of the article: equal, or a prefix
/// of it (the teacher is still typing).
fn matches(word: &str, in_text: &[String]) -> bool {
    in_text.iter().any(|w| w.starts_with(word))
}

/// The body as plain text for a snippet: Markdown's marks dropped.
fn snippet(body: &str) -> String {
    let plain: String = body
        .lines()
        .map(|l| l.trim_start_matches(['#', '>', '-', '*', ' ']).trim())
        .map(|l| {
            l.trim_start_matches(|c: char| c.is_ascii_digit())
                .trim_start_matches(['.', ')'])
                .trim()
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .replace(['*', '_', '`'], "");
    let mut out: String = plain.chars().take(SNIPPET_CHARS).collect();
    if plain.chars().count() > SNIPPET_CHARS {
        out.push('…');
    }
    out
}

/// Every published article (in `category`, when given), by title: browsing the help.
pub fn browse(articles: &[ArticleRecord], category: Option<Category>) -> Vec<Hit> {
    let mut list: Vec<&ArticleRecord> = articles
        .iter()
        .filter(|a| a.published)
        .filter(|a| category.is_none_or(|c| a.categories.contains(&c)))
        .collect();
    list.sort_by(|a, b| a.title.cmp(&b.title));
    list.into_iter().map(hit).collect()
}

fn hit(a: &ArticleRecord) -> Hit {
    Hit {
        slug: a.slug.clone(),
        title: a.title.clone(),
        snippet: snippet(&a.body),
        categories: a.categories.clone(),
    }
}

/// The published articles matching `query` (every typed word, in the title,
/// keywords or body) and `category` (when given), best first: a word in the
/// title counts most, then keywords, then the body. With no words, the
/// category's articles by title.
pub fn search(articles: &[ArticleRecord], query: &str, category: Option<Category>) -> Vec<Hit> {
    let typed = words(query);
    if typed.is_empty() && category.is_none() {
        return Vec::new();
    }
    let mut scored: Vec<(u32, &ArticleRecord)> = articles
        .iter()
        .filter(|a| a.published)
        .filter(|a| category.is_none_or(|c| a.categories.contains(&c)))
        .filter_map(|a| {
            let (title, keywords, body) = (
                words(&a.title),
                words(&a.keywords.join(" ")),
                words(&a.body),
            );
            let mut score = 0;
            for w in &typed {
                let s = 3 * u32::from(matches(w, &title))
                    + 2 * u32::from(matches(w, &keywords))
                    + u32::from(matches(w, &body));
                if s == 0 {
                    return None;
                }
                score += s;
            }
            Some((score, a))
        })
        .collect();
    scored.sort_by(|(sa, a), (sb, b)| sb.cmp(sa).then_with(|| a.title.cmp(&b.title)));
    scored
        .into_iter()
        .take(MAX_HITS)
        .map(|(_, a)| hit(a))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(
        slug: &str,
        title: &str,
        body: &str,
        cats: &[Category],
        published: bool,
    ) -> ArticleRecord {
        ArticleRecord {
            slug: slug.into(),
            title: title.into(),
            body: body.into(),
            categories: cats.to_vec(),
            keywords: vec!["projector".into()],
            published,
            version: 1,
        }
    }

    #[test]
    fn words_typed_find_published_articles_best_first() {
        let list = [
            article(
                "a",
                "Printer jammed",
                "Open the **tray**.",
                &[Category::Printer],
                true,
            ),
            article(
                "b",
                "Projector shows nothing",
                "1. Check the cable",
                &[Category::Display],
                true,
            ),
            article("c", "Printer draft", "tray", &[Category::Printer], false),
        ];
        let hits = search(&list, "print tra", None);
        assert_eq!(
            hits.iter().map(|h| h.slug.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
        assert_eq!(hits[0].snippet, "Open the tray.");
        let by_keyword = search(&list, "proj", Some(Category::Display));
        assert_eq!(by_keyword[0].snippet, "Check the cable");
        assert!(search(&list, "cable", Some(Category::Printer)).is_empty());
        assert_eq!(search(&list, "", Some(Category::Printer)).len(), 1);
        assert!(search(&list, "  ", None).is_empty());
        let all = browse(&list, None);
        assert_eq!(
            all.iter().map(|h| h.slug.as_str()).collect::<Vec<_>>(),
            ["a", "b"],
            "published ones, by title"
        );
        assert_eq!(browse(&list, Some(Category::Display)).len(), 1);
    }
}
