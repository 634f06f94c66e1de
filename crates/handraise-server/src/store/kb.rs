//! The knowledge base: articles, their change feed and "this fixed it"
//! deflections.

use super::records::*;
use super::{Inserted, StoreResult};
use time::OffsetDateTime;
use uuid::Uuid;

/// Knowledge-base articles and deflections. Every write bumps the
/// knowledge base's version, which agents sync from.
pub trait KbStore {
    /// Stores the article with a new version: over one of the same slug with
    /// `replace`, else `Conflict` when the slug exists.
    fn save_article(
        &self,
        article: &ArticleRecordInput,
        replace: bool,
        now: OffsetDateTime,
    ) -> StoreResult<ArticleRecord>;
    /// Creates or replaces.
    fn put_article(
        &self,
        a: &ArticleRecordInput,
        now: OffsetDateTime,
    ) -> StoreResult<ArticleRecord> {
        self.save_article(a, true, now)
    }
    /// `NotFound` for an unknown slug.
    fn unpublish_article(&self, slug: &str, now: OffsetDateTime) -> StoreResult<ArticleRecord>;
    fn article(&self, slug: &str) -> StoreResult<Option<ArticleRecord>>;
    /// Current version and every article with `version > since`.
    fn kb_changes(&self, since: i64) -> StoreResult<(i64, Vec<ArticleRecord>)>;
    /// Inserts the articles whose slug does not exist yet, in one
    /// transaction; existing ones are left alone. Returns the slugs inserted.
    fn seed_articles(
        &self,
        articles: &[ArticleRecordInput],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<String>>;
    /// Idempotent on `client_id` (this device: `Existing`; another device:
    /// `Conflict`); `NotFound` for an unknown slug. One per device and
    /// article (a unique index): another client id from the same device is
    /// `Existing` and not stored. Returns the article's deflection count.
    fn insert_deflection(
        &self,
        device_id: Uuid,
        deflection: &NewDeflection,
    ) -> StoreResult<Inserted<i64>>;
    fn deflections(&self) -> StoreResult<Vec<DeflectionRecord>>;
}
