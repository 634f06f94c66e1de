//! Technician endpoints (`/api/v1/tech/...`).

use super::{check_len, optional_text, required_text};
use crate::auth::TechAuth;
use crate::error::{Json, Path, Query};
use crate::store::{ArticleRecordInput, NewAnnouncement, now_utc};
use crate::{AppError, AppState, service};
use axum::extract::State;
use axum::http::StatusCode;
use handraise_wire as wire;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: Option<wire::TicketStatus>,
}

/// `GET /api/v1/tech/tickets[?status=S]` — newest first.
pub async fn list_tickets(
    State(state): State<AppState>,
    _tech: TechAuth,
    Query(q): Query<ListQuery>,
) -> Result<Json<wire::TechTicketList>, AppError> {
    let tickets = service::tickets(&state, q.status).await?;
    Ok(Json(wire::TechTicketList {
        tickets: tickets.iter().map(super::tech_ticket).collect(),
    }))
}

/// `GET /api/v1/tech/tickets/{number}`.
pub async fn get_ticket(
    State(state): State<AppState>,
    _tech: TechAuth,
    Path(number): Path<i64>,
) -> Result<Json<wire::TechTicket>, AppError> {
    let detail = service::ticket(&state, number).await?;
    Ok(Json(super::tech_ticket(&detail)))
}

/// `POST /api/v1/tech/tickets/{number}/status`.
pub async fn set_status(
    State(state): State<AppState>,
    _tech: TechAuth,
    Path(number): Path<i64>,
    Json(req): Json<wire::StatusChangeRequest>,
) -> Result<Json<wire::TechTicket>, AppError> {
    let detail = service::set_status(&state, number, req.status).await?;
    Ok(Json(super::tech_ticket(&detail)))
}

/// `POST /api/v1/tech/tickets/{number}/assign`.
pub async fn assign(
    State(state): State<AppState>,
    _tech: TechAuth,
    Path(number): Path<i64>,
    Json(req): Json<wire::AssignRequest>,
) -> Result<Json<wire::TechTicket>, AppError> {
    let detail = service::assign(&state, number, req.assignee.as_deref()).await?;
    Ok(Json(super::tech_ticket(&detail)))
}

/// `POST /api/v1/tech/tickets/{number}/reply` — reaches the teacher.
pub async fn reply(
    State(state): State<AppState>,
    TechAuth(tech): TechAuth,
    Path(number): Path<i64>,
    Json(req): Json<wire::ReplyRequest>,
) -> Result<Json<wire::TechTicket>, AppError> {
    let detail = service::reply(&state, &tech, number, &req.body).await?;
    Ok(Json(super::tech_ticket(&detail)))
}

/// `POST /api/v1/tech/tickets/{number}/note` — internal, never reaches the
/// device.
pub async fn note(
    State(state): State<AppState>,
    TechAuth(tech): TechAuth,
    Path(number): Path<i64>,
    Json(req): Json<wire::NoteRequest>,
) -> Result<Json<wire::TechTicket>, AppError> {
    let detail = service::note(&state, &tech, number, &req.body).await?;
    Ok(Json(super::tech_ticket(&detail)))
}

fn article_input(a: wire::ArticleInput) -> Result<ArticleRecordInput, AppError> {
    let slug = a.slug.trim().to_owned();
    let slug_ok = !slug.is_empty()
        && slug.len() <= 100
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !slug_ok {
        return Err(AppError::Invalid(
            "slug must be 1-100 characters of a-z, 0-9 and '-'".into(),
        ));
    }
    let title = required_text("title", &a.title, 200)?;
    check_len("body", &a.body, 100_000)?;
    let mut keywords = Vec::with_capacity(a.keywords.len());
    for k in &a.keywords {
        if let Some(k) = optional_text("keyword", Some(k), 100)? {
            keywords.push(k);
        }
    }
    Ok(ArticleRecordInput {
        slug,
        title,
        body: a.body,
        categories: a.categories,
        keywords,
        published: a.published,
    })
}

/// `POST /api/v1/tech/kb` — 201, or 409 when the slug exists.
pub async fn create_article(
    State(state): State<AppState>,
    _tech: TechAuth,
    Json(a): Json<wire::ArticleInput>,
) -> Result<(StatusCode, Json<wire::Article>), AppError> {
    let input = article_input(a)?;
    let article = state
        .db(move |s| s.create_article(&input, now_utc()))
        .await?;
    Ok((StatusCode::CREATED, Json(super::article(article))))
}

/// `PUT /api/v1/tech/kb/{slug}` — creates or replaces; the version is bumped.
pub async fn put_article(
    State(state): State<AppState>,
    _tech: TechAuth,
    Path(slug): Path<String>,
    Json(a): Json<wire::ArticleInput>,
) -> Result<Json<wire::Article>, AppError> {
    let input = article_input(a)?;
    if input.slug != slug {
        return Err(AppError::Invalid(
            "the slug in the body differs from the one in the path".into(),
        ));
    }
    let article = state.db(move |s| s.put_article(&input, now_utc())).await?;
    Ok(Json(super::article(article)))
}

/// `POST /api/v1/tech/kb/{slug}/unpublish`.
pub async fn unpublish_article(
    State(state): State<AppState>,
    _tech: TechAuth,
    Path(slug): Path<String>,
) -> Result<Json<wire::Article>, AppError> {
    let article = state
        .db(move |s| s.unpublish_article(&slug, now_utc()))
        .await?;
    Ok(Json(super::article(article)))
}

/// `POST /api/v1/tech/announcements` — 201.
pub async fn create_announcement(
    State(state): State<AppState>,
    _tech: TechAuth,
    Json(a): Json<wire::AnnouncementInput>,
) -> Result<(StatusCode, Json<wire::Announcement>), AppError> {
    let now = now_utc();
    let starts_at = a.starts_at.map(crate::store::truncate_ms).unwrap_or(now);
    let ends_at = a.ends_at.map(crate::store::truncate_ms);
    if ends_at.is_some_and(|end| end <= starts_at) {
        return Err(AppError::Invalid("ends_at must be after starts_at".into()));
    }
    let input = NewAnnouncement {
        kind: a.kind,
        title: required_text("title", &a.title, 200)?,
        message: {
            check_len("message", &a.message, wire::MAX_MESSAGE_CHARS)?;
            a.message
        },
        school: optional_text("school", a.school.as_deref(), 200)?,
        building: optional_text("building", a.building.as_deref(), 200)?,
        category: a.category,
        starts_at,
        ends_at,
    };
    let created = state
        .db(move |s| s.create_announcement(&input, now))
        .await?;
    Ok((StatusCode::CREATED, Json(super::announcement(created))))
}

/// `POST /api/v1/tech/announcements/{id}/end`.
pub async fn end_announcement(
    State(state): State<AppState>,
    _tech: TechAuth,
    Path(id): Path<i64>,
) -> Result<Json<wire::Announcement>, AppError> {
    let ended = state.db(move |s| s.end_announcement(id, now_utc())).await?;
    Ok(Json(super::announcement(ended)))
}

/// `POST /api/v1/tech/devices/{device_id}/revoke`.
pub async fn revoke_device(
    State(state): State<AppState>,
    _tech: TechAuth,
    Path(device_id): Path<Uuid>,
) -> Result<Json<wire::RevokeResponse>, AppError> {
    service::revoke_device(&state, device_id).await?;
    Ok(Json(wire::RevokeResponse {
        device_id,
        revoked: true,
    }))
}
