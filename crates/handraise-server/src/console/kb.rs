//! The knowledge-base pages: the article list with its figures, the editor
//! with its live preview, publishing and unpublishing. Every change goes
//! through [`crate::service`], as the technician API's do.

use super::pages::*;
use super::session::Signed;
use super::{ConsoleError, Fields, Form, Notice, Page, get_field, refusal, see_other};
use crate::error::AppError;
use crate::kb::render_markdown;
use crate::service;
use crate::service::kb::Save;
use crate::state::AppState;
use crate::stats::{self, ArticleStats};
use crate::store::{SessionRecord, now_utc};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use handraise_wire::{self as wire, Category};
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, Deserialize, Default)]
pub(super) struct KbQuery {
    #[serde(default)]
    category: String,
}

/// How often each article was shown, fixed things or was followed by a ticket.
async fn article_stats(state: &AppState) -> Result<HashMap<String, ArticleStats>, AppError> {
    let facts = state.db(|s| s.ticket_facts()).await?;
    let deflections = state.db(|s| s.deflections()).await?;
    Ok(stats::article_stats(&facts, &deflections))
}

pub(super) async fn list(
    State(state): State<AppState>,
    Signed(s): Signed,
    Query(q): Query<KbQuery>,
    mut notice: Notice,
) -> Page {
    let articles = service::kb::list(state.store()).await?;
    let st = article_stats(&state).await?;
    let category: Option<Category> = q.category.parse().ok();
    let total = articles.len();
    let rows = articles
        .into_iter()
        .filter(|a| category.is_none_or(|c| a.categories.contains(&c)))
        .map(|a| {
            let s = st.get(&a.slug).copied().unwrap_or_default();
            ArticleRow {
                categories: a
                    .categories
                    .iter()
                    .map(|c| Category::label(*c))
                    .collect::<Vec<_>>()
                    .join(", "),
                slug: a.slug,
                title: a.title,
                published: a.published,
                shown: s.shown,
                fixed: s.fixed,
                filed_after: s.filed_after,
                still_broken: s.still_broken,
            }
        })
        .collect();
    let categories = Opt::categories("Every category", &q.category);
    Ok(render(
        notice.status,
        &KbListPage {
            c: notice.chrome("Knowledge base", &s, "kb"),
            rows,
            categories,
            filtered: category.is_some(),
            total,
        },
    ))
}

fn checks(selected: &[Category]) -> Vec<Check> {
    Category::ALL
        .iter()
        .map(|c| Check {
            value: c.as_str(),
            label: c.label(),
            checked: selected.contains(c),
        })
        .collect()
}

/// The article form as posted.
fn article_from_form(p: &[(String, String)]) -> Result<(wire::ArticleInput, String), AppError> {
    let mut categories = Vec::new();
    for (k, v) in p {
        if k == "categories" {
            categories.push(
                v.parse::<Category>()
                    .map_err(|e| AppError::Invalid(e.to_string()))?,
            );
        }
    }
    let keywords_text = get_field(p, "keywords").to_owned();
    let input = wire::ArticleInput {
        slug: get_field(p, "slug").trim().to_owned(),
        title: get_field(p, "title").to_owned(),
        // Browsers send CRLF line ends from a textarea; store plain newlines.
        body: get_field(p, "body").replace("\r\n", "\n"),
        categories,
        keywords: keywords_text
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect(),
        published: get_field(p, "published") == "true",
    };
    Ok((input, keywords_text))
}

/// The editor's values: the article edited (slug and version; `None` for a
/// new one) and the form as shown.
struct Editing {
    existing: Option<(String, i64)>,
    input: wire::ArticleInput,
    keywords: String,
}

async fn edit_page(state: &AppState, s: &SessionRecord, mut n: Notice, e: Editing) -> Page {
    let (stats, title) = match &e.existing {
        Some((slug, _)) => {
            let stats = article_stats(state).await?.get(slug).copied();
            (
                Some(stats.unwrap_or_default()),
                format!("Edit {}", e.input.title),
            )
        }
        None => (None, "New article".to_owned()),
    };
    Ok(render(
        n.status,
        &KbEditPage {
            c: n.chrome(title, s, "kb"),
            preview: render_markdown(&e.input.body),
            categories: checks(&e.input.categories),
            f: ArticleForm {
                slug: e.input.slug,
                title: e.input.title,
                body: e.input.body,
                keywords: e.keywords,
                published: e.input.published,
            },
            version: e.existing.as_ref().map(|(_, v)| *v),
            existing: e.existing.map(|(slug, _)| slug),
            stats,
            error: n.error,
        },
    ))
}

pub(super) async fn new(State(state): State<AppState>, Signed(s): Signed) -> Page {
    let input = wire::ArticleInput {
        slug: String::new(),
        title: String::new(),
        body: "Say in one sentence what the teacher sees.\n\n1. First step\n2. Second step\n\nIf it still does not work, report it.\n".into(),
        categories: Vec::new(),
        keywords: Vec::new(),
        published: true,
    };
    let keywords = String::new();
    let editing = Editing {
        existing: None,
        input,
        keywords,
    };
    edit_page(&state, &s, Notice::default(), editing).await
}

/// The editor's form posted to `/console/kb` (a new article) or to
/// `/console/kb/{slug}` (that article): previewed, or saved and shown again
/// when refused.
pub(super) async fn save(
    State(state): State<AppState>,
    Signed(s): Signed,
    slug: Option<Path<String>>,
    Form(p): Form<Fields>,
) -> Page {
    let existing = match slug {
        Some(Path(slug)) => {
            let a = service::kb::get(state.store(), &slug).await?;
            Some((a.slug, a.version))
        }
        None => None,
    };
    let (mut input, keywords) = article_from_form(&p)?;
    if let Some((slug, _)) = &existing {
        input.slug = slug.clone();
    }
    let mut notice = Notice::default();
    if get_field(&p, "action") != "preview" {
        let how = match existing {
            Some(_) => Save::Replace,
            None => Save::Create,
        };
        let saved = service::kb::save(state.store(), input.clone(), how, now_utc()).await;
        match saved {
            Ok(a) => return Ok(see_other(&format!("/console/kb/{}?done=article", a.slug))),
            Err(e) => notice = Notice::refused(refusal(e)?),
        }
    }
    let editing = Editing {
        existing,
        input,
        keywords,
    };
    edit_page(&state, &s, notice, editing).await
}

pub(super) async fn edit(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(slug): Path<String>,
    notice: Notice,
) -> Page {
    let a = service::kb::get(state.store(), &slug).await?;
    let editing = Editing {
        existing: Some((a.slug.clone(), a.version)),
        keywords: a.keywords.join(", "),
        input: service::article_input(a),
    };
    edit_page(&state, &s, notice, editing).await
}

/// Publishes or unpublishes an article, as the last segment of the form's
/// address says.
pub(super) async fn publish(
    State(state): State<AppState>,
    _s: Signed,
    Path((slug, action)): Path<(String, String)>,
) -> Page {
    let (a, done) = match action.as_str() {
        "publish" => (
            service::kb::publish(state.store(), &slug, now_utc()).await?,
            "published",
        ),
        "unpublish" => (
            service::kb::unpublish(state.store(), &slug, now_utc()).await?,
            "unpublished",
        ),
        _ => return Err(AppError::NotFound.into()),
    };
    Ok(see_other(&format!("/console/kb/{}?done={done}", a.slug)))
}

/// The live preview: the posted body rendered, as an HTML fragment.
pub(super) async fn preview(_s: Signed, Form(p): Form<Fields>) -> Result<Response, ConsoleError> {
    let text = get_field(&p, "body");
    service::kb::check_body(text)?;
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        render_markdown(text),
    )
        .into_response())
}
