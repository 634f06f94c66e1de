//! Knowledge-base articles and deflections.

use super::rows::{ARTICLE_COLS, article_row, deflection_row, json_list, ms, rfc3339};
use super::{Sql, params};
use super::{SqlStore, all, changed, exec, exists, first, insert_unique, one, repeated};
use crate::store::{
    ArticleRecord, ArticleRecordInput, DeflectionRecord, Inserted, KbStore, NewDeflection,
    StoreError, StoreResult,
};
use time::OffsetDateTime;
use uuid::Uuid;

fn bump_kb_version(conn: &dyn Sql) -> StoreResult<i64> {
    one(
        conn,
        "UPDATE kb_meta SET version = version + 1 WHERE id = 1 RETURNING version",
        params![],
        |r| r.get(0),
    )
}

fn article_by_slug(conn: &dyn Sql, slug: &str) -> StoreResult<Option<ArticleRecord>> {
    first(
        conn,
        &format!("SELECT {ARTICLE_COLS} FROM kb_articles WHERE slug = ?1"),
        params![slug],
        article_row,
    )
}

fn article_exists(conn: &dyn Sql, slug: &str) -> StoreResult<bool> {
    exists(
        conn,
        "SELECT 1 FROM kb_articles WHERE slug = ?1",
        params![slug],
    )
}

/// Writes the article with a new version; with `replace`, over an existing
/// one of the same slug, else `Conflict` when the slug exists.
fn save(
    conn: &dyn Sql,
    a: &ArticleRecordInput,
    replace: bool,
    now: OffsetDateTime,
) -> StoreResult<ArticleRecord> {
    let version = bump_kb_version(conn)?;
    let on_conflict = if replace {
        " ON CONFLICT (slug) DO UPDATE SET title = excluded.title, body = excluded.body, \
         categories = excluded.categories, keywords = excluded.keywords, \
         published = excluded.published, version = excluded.version, \
         updated_at = excluded.updated_at"
    } else {
        ""
    };
    insert_unique(
        conn,
        &format!(
            "INSERT INTO kb_articles (slug, title, body, categories, keywords, published, \
             version, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8){on_conflict}"
        ),
        params![
            a.slug,
            a.title,
            a.body,
            json_list(&a.categories)?,
            json_list(&a.keywords)?,
            a.published,
            version,
            ms(now)
        ],
        || format!("an article with slug {:?} exists", a.slug),
    )?;
    article_by_slug(conn, &a.slug)?.ok_or(StoreError::NotFound)
}

fn deflection_count(conn: &dyn Sql, slug: &str) -> StoreResult<i64> {
    one(
        conn,
        "SELECT COUNT(*) FROM kb_deflections WHERE slug = ?1",
        params![slug],
        |r| r.get(0),
    )
}

impl KbStore for SqlStore {
    fn save_article(
        &self,
        a: &ArticleRecordInput,
        replace: bool,
        now: OffsetDateTime,
    ) -> StoreResult<ArticleRecord> {
        self.write(|tx| save(tx, a, replace, now))
    }

    fn unpublish_article(&self, slug: &str, now: OffsetDateTime) -> StoreResult<ArticleRecord> {
        self.write(|tx| {
            let version = bump_kb_version(tx)?;
            changed(exec(
                tx,
                "UPDATE kb_articles SET published = 0, version = ?2, updated_at = ?3 \
                 WHERE slug = ?1",
                params![slug, version, ms(now)],
            )?)?;
            article_by_slug(tx, slug)?.ok_or(StoreError::NotFound)
        })
    }

    fn article(&self, slug: &str) -> StoreResult<Option<ArticleRecord>> {
        self.read(|c| article_by_slug(c, slug))
    }

    fn kb_changes(&self, since: i64) -> StoreResult<(i64, Vec<ArticleRecord>)> {
        // One snapshot, so the version matches the articles.
        self.snapshot(|tx| {
            let version: i64 = one(
                tx,
                "SELECT version FROM kb_meta WHERE id = 1",
                params![],
                |r| r.get(0),
            )?;
            let articles = all(
                tx,
                &format!(
                    "SELECT {ARTICLE_COLS} FROM kb_articles WHERE version > ?1 ORDER BY version"
                ),
                params![since],
                article_row,
            )?;
            Ok((version, articles))
        })
    }

    fn seed_articles(
        &self,
        articles: &[ArticleRecordInput],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<String>> {
        self.write(|tx| {
            let mut inserted = Vec::new();
            for a in articles {
                if !article_exists(tx, &a.slug)? {
                    save(tx, a, false, now)?;
                    inserted.push(a.slug.clone());
                }
            }
            Ok(inserted)
        })
    }

    fn insert_deflection(&self, device_id: Uuid, d: &NewDeflection) -> StoreResult<Inserted<i64>> {
        self.write(|tx| {
            let sql = "SELECT device_id, slug FROM kb_deflections WHERE client_id = ?1";
            if repeated(tx, sql, d.client_id, device_id, &d.slug)? {
                return Ok(Inserted::Existing(deflection_count(tx, &d.slug)?));
            }
            if !article_exists(tx, &d.slug)? {
                return Err(StoreError::NotFound);
            }
            // One per device and article: another from the same device is
            // answered as the repeat it is.
            let added = exec(
                tx,
                "INSERT INTO kb_deflections (client_id, slug, device_id, created_at, \
                 received_at) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (slug, device_id) DO NOTHING",
                params![
                    d.client_id.to_string(),
                    d.slug,
                    device_id.to_string(),
                    rfc3339(d.created_at),
                    ms(d.received_at)
                ],
            )?;
            let count = deflection_count(tx, &d.slug)?;
            Ok(if added == 0 {
                Inserted::Existing(count)
            } else {
                Inserted::Created(count)
            })
        })
    }

    fn deflections(&self) -> StoreResult<Vec<DeflectionRecord>> {
        self.read(|c| {
            all(
                c,
                "SELECT client_id, slug, device_id, received_at FROM kb_deflections \
                 ORDER BY received_at",
                params![],
                deflection_row,
            )
        })
    }
}
