//! What the agent keeps of the server and the device to work offline: the last device
//! snapshot, the knowledge base (with an FTS5 index), the active announcements, and the
//! articles that fixed a problem ("deflections").

use handraise_wire::{
    Announcement, AnnouncementList, Article, Category, DeviceSnapshot, KbChanges,
};
use rusqlite::{Transaction, params};
use serde::Serialize;
use time::OffsetDateTime;

use super::rows::{Cells, Col, all, first, ms, ts};
use super::{Store, meta};
use crate::error::StoreError;

/// One self-help search hit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KbHit {
    pub slug: String,
    pub title: String,
    /// A short excerpt of the body around the matched words.
    pub snippet: String,
    pub categories: Vec<Category>,
    /// Lower is better (bm25, boosted for the category).
    pub score: f64,
}

/// A cached snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedSnapshot {
    pub snapshot: DeviceSnapshot,
    pub collected_at: OffsetDateTime,
    /// Collected with CPU sampling and processes (not the quick variant).
    pub full: bool,
}

/// The first columns of a `kb_articles` row: slug, title, text (body or snippet), categories.
fn read_head(c: &Cells<'_, '_>) -> Result<(String, String, String, Vec<Category>), StoreError> {
    Ok((
        c.get(0)?,
        c.get(1)?,
        c.get(2)?,
        c.parse(3, "categories", Col::choices)?,
    ))
}

/// A KB row `(slug, title, snippet, categories, score)` as a search hit.
fn read_hit(r: &rusqlite::Row<'_>) -> Result<KbHit, StoreError> {
    let c = Cells::of(r, "kb_articles");
    let (slug, title, snippet, categories) = read_head(&c)?;
    Ok(KbHit {
        slug,
        title,
        snippet,
        categories,
        score: c.get(4)?,
    })
}

/// Turns free text into a safe FTS5 query: each word quoted, prefix-matched,
/// any of them may match. `None` when there is no word.
fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{}\"*", w.to_lowercase()))
        .collect();
    if words.is_empty() {
        None
    } else {
        Some(words.join(" OR "))
    }
}

fn remove_article(tx: &Transaction<'_>, slug: &str) -> Result<(), StoreError> {
    tx.execute("DELETE FROM kb_fts WHERE slug = ?1", [slug])?;
    tx.execute("DELETE FROM kb_articles WHERE slug = ?1", [slug])?;
    Ok(())
}

fn insert_article(tx: &Transaction<'_>, a: &Article) -> Result<(), StoreError> {
    let categories = a
        .categories
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let keywords = a.keywords.join(" ");
    tx.execute(
        "INSERT INTO kb_articles (slug, title, body, categories, keywords, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![a.slug, a.title, a.body, categories, keywords, a.version],
    )?;
    tx.execute(
        "INSERT INTO kb_fts (slug, title, body, keywords, categories) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![a.slug, a.title, a.body, keywords, categories],
    )?;
    Ok(())
}

impl Store {
    pub fn cached_snapshot(&self) -> Result<Option<CachedSnapshot>, StoreError> {
        first(
            &self.conn,
            "SELECT collected_ms, full, json FROM snapshot_cache WHERE id = 1",
            [],
            |r| {
                let c = Cells::of(r, "snapshot_cache");
                Ok(CachedSnapshot {
                    snapshot: c.parse(2, "json", Col::json)?,
                    collected_at: c.time_ms(0, "collected_ms")?,
                    full: c.get(1)?,
                })
            },
        )
    }

    pub fn store_snapshot(
        &self,
        snapshot: &DeviceSnapshot,
        collected_at: OffsetDateTime,
        full: bool,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO snapshot_cache (id, collected_ms, full, json) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT(id) DO UPDATE SET collected_ms = excluded.collected_ms,
                 full = excluded.full, json = excluded.json",
            params![ms(collected_at), full, serde_json::to_string(snapshot)?],
        )?;
        Ok(())
    }

    /// The knowledge-base version of the cache (0 = empty).
    pub fn kb_version(&self) -> Result<i64, StoreError> {
        Ok(meta::number(&self.conn, meta::KB_VERSION)?.unwrap_or(0))
    }

    /// Applies knowledge-base changes and the new version in one transaction.
    pub fn apply_kb(&self, changes: &KbChanges, now: OffsetDateTime) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        for a in &changes.articles {
            remove_article(&tx, &a.slug)?;
            if a.published {
                insert_article(&tx, a)?;
            }
        }
        meta::set(&tx, meta::KB_VERSION, Some(&changes.version.to_string()))?;
        meta::set(&tx, meta::KB_REFRESHED, Some(&ts(now)))?;
        tx.commit()?;
        Ok(())
    }

    /// Full-text search of the cached knowledge base, best first (bm25 with
    /// title ×10, keywords ×5, body ×1; articles of `category` rank twice as
    /// well). An empty query lists the articles of `category`.
    pub fn search_kb(
        &self,
        query: &str,
        category: Option<Category>,
        limit: usize,
    ) -> Result<Vec<KbHit>, StoreError> {
        let limit = i64::try_from(limit.clamp(1, 100)).unwrap_or(10);
        let cat = category.map(|c| c.as_str()).unwrap_or("");
        match fts_query(query) {
            Some(q) => all(
                &self.conn,
                "SELECT slug, title, snippet(kb_fts, 2, '', '', '…', 16), categories,
                        bm25(kb_fts, 0.0, 10.0, 1.0, 5.0, 0.0)
                          * (CASE WHEN ?2 <> '' AND (' ' || categories || ' ') LIKE ('% ' || ?2 || ' %')
                                  THEN 2.0 ELSE 1.0 END) AS score
                 FROM kb_fts WHERE kb_fts MATCH ?1
                 ORDER BY score, slug LIMIT ?3",
                params![q, cat, limit],
                read_hit,
            ),
            None if !cat.is_empty() => all(
                &self.conn,
                "SELECT slug, title, substr(body, 1, 160), categories, 0.0 FROM kb_articles
                 WHERE (' ' || categories || ' ') LIKE ('% ' || ?1 || ' %')
                 ORDER BY title, slug LIMIT ?2",
                params![cat, limit],
                read_hit,
            ),
            None => Ok(Vec::new()),
        }
    }

    /// Every cached article (of one category, when given), by title: the Help articles list.
    pub fn kb_browse(&self, category: Option<Category>) -> Result<Vec<KbHit>, StoreError> {
        let cat = category.map(|c| c.as_str()).unwrap_or("");
        all(
            &self.conn,
            "SELECT slug, title, substr(body, 1, 160), categories, 0.0 FROM kb_articles
             WHERE ?1 = '' OR (' ' || categories || ' ') LIKE ('% ' || ?1 || ' %')
             ORDER BY title COLLATE NOCASE, slug",
            params![cat],
            read_hit,
        )
    }

    /// One cached article.
    pub fn kb_article(&self, slug: &str) -> Result<Option<Article>, StoreError> {
        first(
            &self.conn,
            "SELECT slug, title, body, categories, keywords, version FROM kb_articles WHERE slug = ?1",
            [slug],
            |r| {
                let c = Cells::of(r, "kb_articles");
                let (slug, title, body, categories) = read_head(&c)?;
                let keywords: String = c.get(4)?;
                Ok(Article {
                    slug,
                    title,
                    body,
                    categories,
                    keywords: keywords.split_whitespace().map(str::to_owned).collect(),
                    published: true,
                    version: c.get(5)?,
                })
            },
        )
    }

    /// "This fixed it": the teacher solved the problem with an article.
    pub fn record_deflection(&self, slug: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO deflections (article_slug, at) VALUES (?1, ?2)",
            params![slug, ts(now)],
        )?;
        Ok(())
    }

    /// Replaces the cached announcements with the server's active list.
    pub fn replace_announcements(
        &self,
        list: &AnnouncementList,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute("DELETE FROM announcements", [])?;
        for a in &list.announcements {
            tx.execute(
                "INSERT OR REPLACE INTO announcements (id, json) VALUES (?1, ?2)",
                params![a.id, serde_json::to_string(a)?],
            )?;
        }
        meta::set(&tx, meta::ANN_REFRESHED, Some(&ts(now)))?;
        tx.commit()?;
        Ok(())
    }

    /// Cached announcements still active at `now`.
    pub fn announcements(&self, now: OffsetDateTime) -> Result<Vec<Announcement>, StoreError> {
        let all = all(
            &self.conn,
            "SELECT json FROM announcements ORDER BY id",
            [],
            |r| Cells::of(r, "announcements").parse(0, "json", Col::json::<Announcement>),
        )?;
        Ok(all
            .into_iter()
            .filter(|a| a.ends_at.is_none_or(|end| end > now))
            .collect())
    }
}
