//! The knowledge base: checking articles, editing them, the agents' sync
//! and "this fixed it" deflections.

use super::run;
use super::text::{check_len, optional_text, required_text};
use crate::error::AppError;
use crate::store::{
    ArticleRecord, ArticleRecordInput, DeviceRecord, Inserted, NewDeflection, Store, StoreError,
};
use handraise_wire as wire;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// Longest slug, title, body and keyword of an article, and most keywords.
const MAX_SLUG_CHARS: usize = 100;
const MAX_TITLE_CHARS: usize = 200;
const MAX_BODY_CHARS: usize = 100_000;
const MAX_KEYWORD_CHARS: usize = 100;
const MAX_KEYWORDS: usize = 50;

/// Checks an article body's length, as the console's preview does too.
pub fn check_body(body: &str) -> Result<(), AppError> {
    check_len("body", body, MAX_BODY_CHARS)
}

/// Checks an article as the API, the console and `kb import` receive it:
/// slug of a-z, 0-9 and '-', title 1-200 characters, body up to 100,000,
/// keywords trimmed (blank ones dropped), categories deduplicated.
pub fn article_record(a: wire::ArticleInput) -> Result<ArticleRecordInput, AppError> {
    let slug = a.slug.trim().to_owned();
    let slug_ok = !slug.is_empty()
        && slug.len() <= MAX_SLUG_CHARS
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !slug_ok {
        return Err(AppError::Invalid(
            "slug must be 1-100 characters of a-z, 0-9 and '-'".into(),
        ));
    }
    let title = required_text("title", &a.title, MAX_TITLE_CHARS)?;
    check_body(&a.body)?;
    let mut keywords = Vec::with_capacity(a.keywords.len());
    for k in &a.keywords {
        if let Some(k) = optional_text("keyword", Some(k), MAX_KEYWORD_CHARS)?
            && !keywords.contains(&k)
        {
            keywords.push(k);
        }
    }
    if keywords.len() > MAX_KEYWORDS {
        return Err(AppError::Invalid("at most 50 keywords".into()));
    }
    let mut categories = Vec::with_capacity(a.categories.len());
    for c in a.categories {
        if !categories.contains(&c) {
            categories.push(c);
        }
    }
    Ok(ArticleRecordInput {
        slug,
        title,
        body: a.body,
        categories,
        keywords,
        published: a.published,
    })
}

/// A stored article as the editable document the API, the console and `kb export` use.
pub fn article_input(a: ArticleRecord) -> wire::ArticleInput {
    let (slug, title, body) = (a.slug, a.title, a.body);
    let (categories, keywords, published) = (a.categories, a.keywords, a.published);
    wire::ArticleInput {
        slug,
        title,
        body,
        categories,
        keywords,
        published,
    }
}

/// Every article, published or not, by title.
pub async fn list(store: &Arc<dyn Store>) -> Result<Vec<ArticleRecord>, AppError> {
    let (_, mut list) = changes(store, 0).await?;
    list.sort_by(|a, b| {
        a.title
            .to_lowercase()
            .cmp(&b.title.to_lowercase())
            .then(a.slug.cmp(&b.slug))
    });
    Ok(list)
}

/// The knowledge base's version and the articles changed after `since`
/// (what agents sync).
pub async fn changes(
    store: &Arc<dyn Store>,
    since: i64,
) -> Result<(i64, Vec<ArticleRecord>), AppError> {
    let since = since.max(0);
    run(store, move |s| s.kb_changes(since)).await
}

/// What devices get of [`changes`]: a published article whole; an unpublished one
/// only as its slug and version (`published: false`, no title, body or keywords), so
/// caches drop it and a draft never leaves the server. A device fetching everything
/// (`since` 0) has nothing to drop and gets no unpublished articles at all.
pub async fn device_changes(
    store: &Arc<dyn Store>,
    since: i64,
) -> Result<(i64, Vec<ArticleRecord>), AppError> {
    let (version, articles) = changes(store, since).await?;
    let articles = articles
        .into_iter()
        .filter(|a| a.published || since > 0)
        .map(|a| {
            if a.published {
                a
            } else {
                ArticleRecord {
                    slug: a.slug,
                    title: String::new(),
                    body: String::new(),
                    categories: Vec::new(),
                    keywords: Vec::new(),
                    published: false,
                    version: a.version,
                }
            }
        })
        .collect();
    Ok((version, articles))
}

/// One article; `NotFound` when unknown.
pub async fn get(store: &Arc<dyn Store>, slug: &str) -> Result<ArticleRecord, AppError> {
    let slug = slug.to_owned();
    run(store, move |s| s.article(&slug))
        .await?
        .ok_or(AppError::NotFound)
}

/// How [`save`] treats an existing article of the same slug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Save {
    /// `Conflict` when the slug exists.
    Create,
    /// Replace it.
    Replace,
}

/// Checks and stores an article; its version is bumped so agents fetch it.
pub async fn save(
    store: &Arc<dyn Store>,
    a: wire::ArticleInput,
    mode: Save,
    now: OffsetDateTime,
) -> Result<ArticleRecord, AppError> {
    let input = article_record(a)?;
    let replace = mode == Save::Replace;
    run(store, move |s| s.save_article(&input, replace, now)).await
}

/// Unpublishes: agents drop it from their cache at their next sync.
pub async fn unpublish(
    store: &Arc<dyn Store>,
    slug: &str,
    now: OffsetDateTime,
) -> Result<ArticleRecord, AppError> {
    let slug = slug.to_owned();
    run(store, move |s| s.unpublish_article(&slug, now)).await
}

/// Publishes an existing article unchanged otherwise; `NotFound` when unknown.
pub async fn publish(
    store: &Arc<dyn Store>,
    slug: &str,
    now: OffsetDateTime,
) -> Result<ArticleRecord, AppError> {
    let a = get(store, slug).await?;
    let input = wire::ArticleInput {
        published: true,
        ..article_input(a)
    };
    save(store, input, Save::Replace, now).await
}

/// Loads the shipped articles whose slug is not in the store yet; a
/// district's own edits (and articles it unpublished) are never touched.
/// Returns the slugs added.
pub fn load_default_articles(
    store: &dyn Store,
    now: OffsetDateTime,
) -> Result<Vec<String>, StoreError> {
    let inputs: Vec<ArticleRecordInput> = crate::kb::defaults()
        .into_iter()
        .filter_map(|doc| match article_record(doc) {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::error!(error = %e, "a shipped article is not valid");
                None
            }
        })
        .collect();
    store.seed_articles(&inputs, now)
}

/// A device's "this fixed it" for an article: 201 new, 200 repeat.
pub async fn record_deflection(
    store: &Arc<dyn Store>,
    device: &DeviceRecord,
    slug: &str,
    client_id: Uuid,
    created_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Inserted<i64>, AppError> {
    let d = NewDeflection {
        client_id,
        slug: slug.to_owned(),
        created_at,
        received_at: now,
    };
    let device_id = device.id;
    run(store, move |s| s.insert_deflection(device_id, &d)).await
}

/// The published articles matching what the teacher typed (the web report
/// page's self-help; [`super::kb_search`]).
pub async fn search(
    store: &Arc<dyn Store>,
    query: String,
    category: Option<wire::Category>,
) -> Result<Vec<super::kb_search::Hit>, AppError> {
    let (_, articles) = changes(store, 0).await?;
    Ok(super::kb_search::search(&articles, &query, category))
}

/// Every published article (in `category`, when given), by title: the web report page's
/// help articles.
pub async fn browse(
    store: &Arc<dyn Store>,
    category: Option<wire::Category>,
) -> Result<Vec<super::kb_search::Hit>, AppError> {
    let (_, articles) = changes(store, 0).await?;
    Ok(super::kb_search::browse(&articles, category))
}
