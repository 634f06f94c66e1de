//! The knowledge-base pages: the article list with its figures, the editor
//! with its live preview, publishing and unpublishing. Every change goes
//! through [`crate::service`], as the technician API's do.

use super::pages::*;
use super::session::Signed;
use super::{ConsoleError, Done, Page, get_field, pairs, refusal, see_other};
use crate::error::AppError;
use crate::kb::render_markdown;
use crate::service::{self, validate};
use crate::state::AppState;
use crate::stats::{self, ArticleStats};
use crate::store::SessionRecord;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
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
    done: Done,
) -> Page {
    let articles = service::articles(&state).await?;
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
    let mut categories = vec![Opt::new("", "Every category", &q.category)];
    categories.extend(
        Category::ALL
            .iter()
            .map(|c| Opt::new(c.as_str(), c.label(), &q.category)),
    );
    Ok(render(
        StatusCode::OK,
        &KbListPage {
            c: Chrome::signed("Knowledge base", &s, "kb").with_flash(done.0),
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

struct EditArgs {
    existing: Option<String>,
    input: wire::ArticleInput,
    keywords: String,
    version: Option<i64>,
    error: Option<String>,
    flash: Option<String>,
}

async fn edit_page(state: &AppState, s: &SessionRecord, status: StatusCode, a: EditArgs) -> Page {
    let stats = match &a.existing {
        Some(slug) => Some(
            article_stats(state)
                .await?
                .get(slug)
                .copied()
                .unwrap_or_default(),
        ),
        None => None,
    };
    let title = match &a.existing {
        Some(_) => format!("Edit {}", a.input.title),
        None => "New article".to_owned(),
    };
    Ok(render(
        status,
        &KbEditPage {
            c: Chrome::signed(title, s, "kb").with_flash(a.flash),
            preview: render_markdown(&a.input.body, 3),
            categories: checks(&a.input.categories),
            f: ArticleForm {
                slug: a.input.slug,
                title: a.input.title,
                body: a.input.body,
                keywords: a.keywords,
                published: a.input.published,
            },
            existing: a.existing,
            stats,
            version: a.version,
            error: a.error,
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
    edit_page(
        &state,
        &s,
        StatusCode::OK,
        EditArgs {
            existing: None,
            input,
            keywords: String::new(),
            version: None,
            error: None,
            flash: None,
        },
    )
    .await
}

pub(super) async fn create(State(state): State<AppState>, Signed(s): Signed, body: Bytes) -> Page {
    let p = pairs(&body)?;
    let (input, keywords) = article_from_form(&p)?;
    let args = |input, keywords, error| EditArgs {
        existing: None,
        input,
        keywords,
        version: None,
        error,
        flash: None,
    };
    if get_field(&p, "action") == "preview" {
        return edit_page(&state, &s, StatusCode::OK, args(input, keywords, None)).await;
    }
    match service::create_article(&state, input.clone()).await {
        Ok(a) => Ok(see_other(&format!("/console/kb/{}?done=article", a.slug))),
        Err(e) => {
            let error = Some(refusal(e)?);
            let args = args(input, keywords, error);
            edit_page(&state, &s, StatusCode::UNPROCESSABLE_ENTITY, args).await
        }
    }
}

pub(super) async fn edit(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(slug): Path<String>,
    done: Done,
) -> Page {
    let a = service::article(&state, &slug).await?;
    let keywords = a.keywords.join(", ");
    let version = Some(a.version);
    edit_page(
        &state,
        &s,
        StatusCode::OK,
        EditArgs {
            existing: Some(a.slug.clone()),
            input: service::article_input(a),
            keywords,
            version,
            error: None,
            flash: done.0,
        },
    )
    .await
}

pub(super) async fn save(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(slug): Path<String>,
    body: Bytes,
) -> Page {
    let current = service::article(&state, &slug).await?;
    let p = pairs(&body)?;
    let (mut input, keywords) = article_from_form(&p)?;
    input.slug = current.slug.clone();
    let args = |input, error| EditArgs {
        existing: Some(current.slug.clone()),
        input,
        keywords: keywords.clone(),
        version: Some(current.version),
        error,
        flash: None,
    };
    if get_field(&p, "action") == "preview" {
        return edit_page(&state, &s, StatusCode::OK, args(input, None)).await;
    }
    match service::save_article(&state, input.clone()).await {
        Ok(a) => Ok(see_other(&format!("/console/kb/{}?done=article", a.slug))),
        Err(e) => {
            let args = args(input, Some(refusal(e)?));
            edit_page(&state, &s, StatusCode::UNPROCESSABLE_ENTITY, args).await
        }
    }
}

pub(super) async fn publish(
    State(state): State<AppState>,
    _s: Signed,
    Path(slug): Path<String>,
) -> Page {
    let a = service::publish_article(&state, &slug).await?;
    Ok(see_other(&format!("/console/kb/{}?done=published", a.slug)))
}

pub(super) async fn unpublish(
    State(state): State<AppState>,
    _s: Signed,
    Path(slug): Path<String>,
) -> Page {
    let a = service::unpublish_article(&state, &slug).await?;
    Ok(see_other(&format!(
        "/console/kb/{}?done=unpublished",
        a.slug
    )))
}

/// The live preview: the posted body rendered, as an HTML fragment.
pub(super) async fn preview(_s: Signed, body: Bytes) -> Result<Response, ConsoleError> {
    let p = pairs(&body)?;
    let text = get_field(&p, "body");
    validate::check_len("body", text, 100_000)?;
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        render_markdown(text, 3),
    )
        .into_response())
}
