//! Technician endpoints (`/api/v1/tech/...`).

use crate::auth::TechAuth;
use crate::error::AppError;
use crate::error::{Json, Path, Query};
use crate::service;
use crate::state::AppState;
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

/// `POST /api/v1/tech/kb` — 201, or 409 when the slug exists.
pub async fn create_article(
    State(state): State<AppState>,
    _tech: TechAuth,
    Json(a): Json<wire::ArticleInput>,
) -> Result<(StatusCode, Json<wire::Article>), AppError> {
    let article = service::create_article(&state, a).await?;
    Ok((StatusCode::CREATED, Json(super::article(article))))
}

/// `PUT /api/v1/tech/kb/{slug}` — creates or replaces; the version is bumped.
pub async fn put_article(
    State(state): State<AppState>,
    _tech: TechAuth,
    Path(slug): Path<String>,
    Json(a): Json<wire::ArticleInput>,
) -> Result<Json<wire::Article>, AppError> {
    if a.slug.trim() != slug {
        return Err(AppError::Invalid(
            "the slug in the body differs from the one in the path".into(),
        ));
    }
    let article = service::save_article(&state, a).await?;
    Ok(Json(super::article(article)))
}

/// `POST /api/v1/tech/kb/{slug}/unpublish`.
pub async fn unpublish_article(
    State(state): State<AppState>,
    _tech: TechAuth,
    Path(slug): Path<String>,
) -> Result<Json<wire::Article>, AppError> {
    let article = service::unpublish_article(&state, &slug).await?;
    Ok(Json(super::article(article)))
}

/// `POST /api/v1/tech/announcements` — 201.
pub async fn create_announcement(
    State(state): State<AppState>,
    _tech: TechAuth,
    Json(a): Json<wire::AnnouncementInput>,
) -> Result<(StatusCode, Json<wire::Announcement>), AppError> {
    let created = service::create_announcement(&state, a).await?;
    Ok((StatusCode::CREATED, Json(super::announcement(created))))
}

/// `GET /api/v1/tech/announcements/{id}`: the announcement and its "me too" reports by room.
pub async fn get_announcement(
    State(state): State<AppState>,
    _tech: TechAuth,
    Path(id): Path<i64>,
) -> Result<Json<wire::AnnouncementDetail>, AppError> {
    let record = service::announcement(&state, id).await?;
    let rooms = state.db(move |s| s.me_too_by_room(id)).await?;
    let me_too_by_room: Vec<wire::MeTooRoomCount> = rooms
        .into_iter()
        .map(|r| wire::MeTooRoomCount {
            school: r.school,
            room: r.room,
            reports: r.reports,
        })
        .collect();
    Ok(Json(wire::AnnouncementDetail {
        announcement: super::announcement(record),
        me_too_total: me_too_by_room.iter().map(|r| r.reports).sum(),
        me_too_by_room,
    }))
}

/// `POST /api/v1/tech/announcements/{id}/end`.
pub async fn end_announcement(
    State(state): State<AppState>,
    _tech: TechAuth,
    Path(id): Path<i64>,
) -> Result<Json<wire::Announcement>, AppError> {
    let (ended, _) = service::end_announcement(&state, id, None).await?;
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
