//! The knowledge base: articles, their change feed and "this fixed it"
//! deflections.

use super::{Inserted, StoreResult};
use handraise_wire::Category;
use time::OffsetDateTime;
use uuid::Uuid;

/// A knowledge-base article to create or replace.
#[derive(Debug, Clone)]
pub struct ArticleRecordInput {
    pub slug: String,
    pub title: String,
    pub body: String,
    pub categories: Vec<Category>,
    pub keywords: Vec<String>,
    pub published: bool,
}

/// A stored knowledge-base article: the input and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleRecord {
    pub slug: String,
    pub title: String,
    pub body: String,
    pub categories: Vec<Category>,
    pub keywords: Vec<String>,
    pub published: bool,
    pub version: i64,
}

/// A "this fixed it" reported by a device for an article (idempotent by
/// `client_id`).
#[derive(Debug, Clone)]
pub struct NewDeflection {
    pub client_id: Uuid,
    pub slug: String,
    pub created_at: OffsetDateTime,
    pub received_at: OffsetDateTime,
}

/// A stored deflection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeflectionRecord {
    pub client_id: Uuid,
    pub slug: String,
    pub device_id: Uuid,
    pub received_at: OffsetDateTime,
}

/// Knowledge-base articles and deflections. Every write bumps the
/// knowledge base's version, which agents sync from.
pub trait KbStore {
    /// `Conflict` when the slug exists.
    fn create_article(
        &self,
        article: &ArticleRecordInput,
        now: OffsetDateTime,
    ) -> StoreResult<ArticleRecord>;
    /// Creates or replaces.
    fn put_article(
        &self,
        article: &ArticleRecordInput,
        now: OffsetDateTime,
    ) -> StoreResult<ArticleRecord>;
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
    /// `Conflict`); `NotFound` for an unknown slug. Returns the article's
    /// deflection count.
    fn insert_deflection(
        &self,
        device_id: Uuid,
        deflection: &NewDeflection,
    ) -> StoreResult<Inserted<i64>>;
    fn deflections(&self) -> StoreResult<Vec<DeflectionRecord>>;
}
