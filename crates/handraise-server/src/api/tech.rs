//! Technician endpoints (`/api/v1/tech/...`).

use crate::auth::{AdminTechAuth, TechAuth};
use crate::error::{AppError, Json, Path, Query};
use crate::service::{announcements, kb, tickets};
use crate::state::AppState;
use crate::store::{TicketFilter, TicketOrder, TicketQuery, now_utc};
use axum::extract::State;
use axum::http::StatusCode;
use handraise_wire as wire;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: Option<wire::TicketStatus>,
    /// Tickets per page (default 50, at most 200).
    #[serde(default)]
    limit: Option<usize>,
    /// The `next_cursor` of the page before: tickets numbered below it.
    #[serde(default)]
    cursor: Option<i64>,
}

/// `GET /api/v1/tech/tickets[?status=S][&limit=N][&cursor=C]` — a page, newest first,
/// without messages; `next_cursor` when more follow.
pub async fn list_tickets(
    State(state): State<AppState>,
    _tech: TechAuth,
    Query(q): Query<ListQuery>,
) -> Result<Json<wire::TechTicketList>, AppError> {
    let query = TicketQuery {
        filter: TicketFilter {
            statuses: q.status.into_iter().collect(),
            ..TicketFilter::default()
        },
        order: TicketOrder::Newest,
        before: q.cursor,
        offset: 0,
        limit: tickets::page_size(q.limit)?,
    };
    let (page, more) = tickets::page(state.store(), query).await?;
    let next_cursor = if more {
        page.last().map(|d| d.ticket.number)
    } else {
        None
    };
    Ok(Json(wire::TechTicketList {
        tickets: page.iter().map(super::tech_ticket).collect(),
        next_cursor,
    }))
}

/// `GET /api/v1/tech/tickets/{number}`.
pub async fn get_ticket(
    State(state): State<AppState>,
    _tech: TechAuth,
    Path(number): Path<i64>,
) -> Result<Json<wire::TechTicket>, AppError> {
    let detail = tickets::get(state.store(), number).await?;
    Ok(Json(super::tech_ticket(&detail)))
}

/// `POST /api/v1/tech/tickets/{number}/status`.
pub async fn set_status(
    State(state): State<AppState>,
    _tech: TechAuth,
    Path(number): Path<i64>,
    Json(req): Json<wire::StatusChangeRequest>,
) -> Result<Json<wire::TechTicket>, AppError> {
    let detail =
        tickets::set_status(state.store(), state.feed(), number, req.status, now_utc()).await?;
    Ok(Json(super::tech_ticket(&detail)))
}

/// `POST /api/v1/tech/tickets/{number}/assign`.
pub async fn assign(
    State(state): State<AppState>,
    _tech: TechAuth,
    Path(number): Path<i64>,
    Json(req): Json<wire::AssignRequest>,
) -> Result<Json<wire::TechTicket>, AppError> {
    let detail = tickets::assign(
        state.store(),
        state.feed(),
        number,
        req.assignee.as_deref(),
        now_utc(),
    )
    .await?;
    Ok(Json(super::tech_ticket(&detail)))
}

/// `POST /api/v1/tech/tickets/{number}/reply` — reaches the teacher.
pub async fn reply(
    State(state): State<AppState>,
    TechAuth(tech): TechAuth,
    Path(number): Path<i64>,
    Json(req): Json<wire::ReplyRequest>,
) -> Result<Json<wire::TechTicket>, AppError> {
    let detail = tickets::reply(
        state.store(),
        state.feed(),
        &tech,
        number,
        &req.body,
        now_utc(),
    )
    .await?;
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
    let detail = tickets::note(state.store(), &tech, number, &req.body, now_utc()).await?;
    Ok(Json(super::tech_ticket(&detail)))
}

/// `POST /api/v1/tech/kb` — 201, or 409 when the slug exists.
pub async fn create_article(
    State(state): State<AppState>,
    _tech: TechAuth,
    Json(a): Json<wire::ArticleInput>,
) -> Result<(StatusCode, Json<wire::Article>), AppError> {
    let article = kb::save(state.store(), a, kb::Save::Create, now_utc()).await?;
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
    let article = kb::save(state.store(), a, kb::Save::Replace, now_utc()).await?;
    Ok(Json(super::article(article)))
}

/// `POST /api/v1/tech/kb/{slug}/unpublish`.
pub async fn unpublish_article(
    State(state): State<AppState>,
    _tech: TechAuth,
    Path(slug): Path<String>,
) -> Result<Json<wire::Article>, AppError> {
    let article = kb::unpublish(state.store(), &slug, now_utc()).await?;
    Ok(Json(super::article(article)))
}

/// `POST /api/v1/tech/announcements` — 201.
pub async fn create_announcement(
    State(state): State<AppState>,
    _tech: TechAuth,
    Json(a): Json<wire::AnnouncementInput>,
) -> Result<(StatusCode, Json<wire::Announcement>), AppError> {
    let created = announcements::create(state.store(), a, now_utc()).await?;
    Ok((StatusCode::CREATED, Json(super::announcement(created))))
}

/// `GET /api/v1/tech/announcements/{id}`: the announcement and its "me too" reports by room.
pub async fn get_announcement(
    State(state): State<AppState>,
    _tech: TechAuth,
    Path(id): Path<i64>,
) -> Result<Json<wire::AnnouncementDetail>, AppError> {
    let (record, rooms) = announcements::with_rooms(state.store(), id).await?;
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
    let (ended, _) = announcements::end(state.store(), state.feed(), id, None, now_utc()).await?;
    Ok(Json(super::announcement(ended)))
}

/// `POST /api/v1/tech/devices/{device_id}/revoke` — admins only (403 for a
/// technician's token), as on the console.
pub async fn revoke_device(
    State(state): State<AppState>,
    _admin: AdminTechAuth,
    Path(device_id): Path<Uuid>,
) -> Result<Json<wire::RevokeResponse>, AppError> {
    state.revoke_device(device_id).await?;
    Ok(Json(wire::RevokeResponse {
        device_id,
        revoked: true,
    }))
}
