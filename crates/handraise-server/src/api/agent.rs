//! Agent endpoints: enrollment, tickets, messages, screenshots, the updates
//! long-poll, the knowledge base and announcements.

use super::{ClientIp, optional_text, required_text};
use crate::auth::{DeviceAuth, hash_secret, new_secret};
use crate::error::{Json, Path, Query};
use crate::store::{Inserted, NewDevice, NewTeacherMessage, NewTicketRecord, now_utc};
use crate::{AppError, AppState};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use handraise_wire as wire;
use serde::Deserialize;
use std::time::Duration;
use uuid::Uuid;

/// Feed entries per page.
pub const UPDATES_PAGE: usize = 100;
/// Longest text accepted in short free-text fields (hostname, room, …).
const SHORT_TEXT: usize = 200;

/// `POST /api/v1/enroll`.
pub async fn enroll(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(req): Json<wire::EnrollRequest>,
) -> Result<(StatusCode, Json<wire::EnrollResponse>), AppError> {
    state.check_enroll_rate(ip)?;
    if req.token.trim().is_empty() {
        return Err(AppError::InvalidToken);
    }
    let secret = new_secret();
    let device = NewDevice {
        id: Uuid::now_v7(),
        secret_hash: hash_secret(&secret),
        hostname: required_text("hostname", &req.hostname, 255)?,
        school: optional_text("school", req.school.as_deref(), SHORT_TEXT)?,
        building: optional_text("building", req.building.as_deref(), SHORT_TEXT)?,
        os: optional_text("os", req.os.as_deref(), SHORT_TEXT)?,
        model: optional_text("model", req.model.as_deref(), SHORT_TEXT)?,
        agent_version: optional_text("agent_version", req.agent_version.as_deref(), 64)?,
        enrolled_at: now_utc(),
    };
    let token_hash = hash_secret(req.token.trim());
    let device_id = device.id;
    state
        .db(move |s| s.enroll_device(&token_hash, &device))
        .await?;
    tracing::info!(%device_id, %ip, "device enrolled");
    Ok((
        StatusCode::CREATED,
        Json(wire::EnrollResponse {
            device_id,
            device_secret: secret,
        }),
    ))
}

/// `POST /api/v1/tickets` — 201 new, 200 repeat of this device's client id.
pub async fn create_ticket(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Json(t): Json<wire::NewTicket>,
) -> Result<(StatusCode, Json<wire::TicketReceipt>), AppError> {
    let summary = wire::check_text(wire::TextField::Summary, &t.summary)?
        .unwrap_or_default()
        .to_owned();
    wire::check_optional_text(wire::TextField::Details, t.details.as_deref())?;
    let record = NewTicketRecord {
        client_id: t.client_id,
        device_id: device.id,
        created_at: t.created_at,
        received_at: now_utc(),
        category: t.category,
        urgency: t.urgency.unwrap_or_default(),
        scope: t.scope.unwrap_or_default(),
        summary,
        details: t.details.filter(|d| !d.trim().is_empty()),
        room: wire::check_optional_text(wire::TextField::Room, t.room.as_deref())?
            .map(str::to_owned),
        reporter_json: t.reporter.as_ref().map(to_json).transpose()?,
        snapshot_json: t.snapshot.as_ref().map(to_json).transpose()?,
        self_help_json: if t.self_help.is_empty() {
            None
        } else {
            Some(to_json(&t.self_help)?)
        },
        offline_at_submit: t.offline_at_submit.unwrap_or(false),
        announcement_id: t.announcement_id,
    };
    let inserted = state.db(move |s| s.insert_ticket(&record)).await?;
    let status = created_or_ok(&inserted);
    Ok((status, Json(super::receipt(&inserted.into_inner()))))
}

/// Serialises a JSON column.
fn to_json<T: serde::Serialize>(v: &T) -> Result<String, AppError> {
    serde_json::to_string(v).map_err(AppError::internal)
}

/// `GET /api/v1/tickets/{client_id}` — this device's ticket, without notes.
pub async fn get_ticket(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Path(client_id): Path<Uuid>,
) -> Result<Json<wire::DeviceTicket>, AppError> {
    let (ticket, messages) = state
        .db(move |s| {
            let Some(ticket) = s.device_ticket(device.id, client_id)? else {
                return Ok(None);
            };
            let messages = s.messages(ticket.number, false)?;
            Ok(Some((ticket, messages)))
        })
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(super::device_ticket(&ticket, &messages)))
}

/// `POST /api/v1/tickets/{client_id}/messages` — 201 new, 200 repeat.
pub async fn post_message(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Path(ticket_client_id): Path<Uuid>,
    Json(m): Json<wire::NewMessage>,
) -> Result<(StatusCode, Json<wire::MessageReceipt>), AppError> {
    wire::check_text(wire::TextField::Message, &m.body)?;
    let message = NewTeacherMessage {
        id: m.client_id,
        body: m.body,
        created_at: m.created_at,
        received_at: now_utc(),
    };
    let inserted = state
        .db(move |s| s.insert_teacher_message(device.id, ticket_client_id, &message))
        .await?;
    let status = created_or_ok(&inserted);
    let (Inserted::Created(m) | Inserted::Existing(m)) = inserted;
    Ok((
        status,
        Json(wire::MessageReceipt {
            client_id: m.id,
            ticket_number: m.ticket_number,
            received_at: m.at,
        }),
    ))
}

/// `PUT /api/v1/tickets/{client_id}/screenshot` — PNG or JPEG, ≤ 10 MiB;
/// a repeat replaces the stored image.
pub async fn put_screenshot(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Path(ticket_client_id): Path<Uuid>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<wire::ScreenshotReceipt>, AppError> {
    let owned = state
        .db(move |s| s.device_ticket(device.id, ticket_client_id))
        .await?;
    if owned.is_none() {
        return Err(AppError::NotFound);
    }
    let image_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(wire::ImageType::from_content_type)
        .ok_or_else(|| {
            AppError::UnsupportedMediaType(
                "a screenshot must be sent as image/png or image/jpeg".into(),
            )
        })?;
    let content_type = image_type.mime();
    let limit = state.config().screenshot_limit_bytes;
    let too_large =
        || AppError::PayloadTooLarge(format!("a screenshot may be at most {limit} bytes"));
    let declared_len = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_len.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
        {
            too_large()
        } else {
            AppError::BadRequest(format!("could not read the body: {e}"))
        }
    })?;
    if wire::ImageType::sniff(&bytes) != Some(image_type) {
        return Err(AppError::UnsupportedMediaType(format!(
            "the body is not a {content_type} image"
        )));
    }
    let len = bytes.len() as u64;
    let number = state
        .db(move |s| s.put_screenshot(device.id, ticket_client_id, content_type, &bytes, now_utc()))
        .await?;
    Ok(Json(wire::ScreenshotReceipt {
        ticket_number: number,
        bytes: len,
    }))
}

#[derive(Debug, Deserialize)]
pub struct UpdatesQuery {
    #[serde(default)]
    cursor: Option<i64>,
    #[serde(default)]
    wait: Option<u64>,
}

/// `GET /api/v1/updates?cursor=N&wait=S` — a page of this device's feed,
/// holding the request up to `wait` seconds when there is nothing new.
pub async fn updates(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Query(q): Query<UpdatesQuery>,
) -> Result<Json<wire::UpdatesPage>, AppError> {
    let cursor = q.cursor.unwrap_or(0).max(0);
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(wire::MAX_UPDATES_WAIT_SECS));
    let deadline = tokio::time::Instant::now() + wait;
    let notify = state.feed().subscribe(device.id);
    let result = async {
        loop {
            // Register interest before reading, so an update written between
            // the read and the wait still wakes us.
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let page = fetch_page(&state, device.id, cursor).await?;
            if !page.updates.is_empty()
                || state.is_shutting_down()
                || tokio::time::Instant::now() >= deadline
            {
                return Ok(page);
            }
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(deadline) => {}
                () = state.shutdown_started() => {}
            }
        }
    }
    .await;
    state.feed().unsubscribe(device.id, notify);
    result.map(Json)
}

async fn fetch_page(
    state: &AppState,
    device: Uuid,
    cursor: i64,
) -> Result<wire::UpdatesPage, AppError> {
    let mut entries = state
        .db(move |s| s.updates(device, cursor, UPDATES_PAGE + 1))
        .await?;
    let more = entries.len() > UPDATES_PAGE;
    entries.truncate(UPDATES_PAGE);
    let updates: Vec<wire::Update> = entries.iter().map(super::update).collect();
    Ok(wire::UpdatesPage {
        cursor: updates.last().map_or(cursor, |u| u.seq),
        updates,
        more,
    })
}

#[derive(Debug, Deserialize)]
pub struct KbQuery {
    #[serde(default)]
    since: Option<i64>,
}

/// `GET /api/v1/kb?since=V`.
pub async fn kb(
    State(state): State<AppState>,
    DeviceAuth(_device): DeviceAuth,
    Query(q): Query<KbQuery>,
) -> Result<Json<wire::KbChanges>, AppError> {
    let since = q.since.unwrap_or(0).max(0);
    let (version, articles) = state.db(move |s| s.kb_changes(since)).await?;
    Ok(Json(wire::KbChanges {
        version,
        articles: articles.into_iter().map(super::article).collect(),
    }))
}

/// `GET /api/v1/announcements` — active ones for this device's school and
/// building.
pub async fn announcements(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
) -> Result<Json<wire::AnnouncementList>, AppError> {
    let now = now_utc();
    let list = state
        .db(move |s| {
            s.active_announcements(now, device.school.as_deref(), device.building.as_deref())
        })
        .await?;
    Ok(Json(wire::AnnouncementList {
        announcements: list.into_iter().map(super::announcement).collect(),
        server_time: now,
    }))
}

/// `POST /api/v1/announcements/{id}/me-too` — 201 new, 200 repeat of the
/// same `client_id`; 404 when the announcement is unknown, ended or not
/// visible to this device.
pub async fn me_too(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Path(id): Path<i64>,
    Json(req): Json<wire::MeTooRequest>,
) -> Result<(StatusCode, Json<wire::MeTooReceipt>), AppError> {
    let inserted = crate::service::me_too(&state, device, id, req).await?;
    let status = created_or_ok(&inserted);
    Ok((
        status,
        Json(wire::MeTooReceipt {
            announcement_id: id,
            reports: inserted.into_inner(),
        }),
    ))
}

/// Body of `POST /api/v1/kb/{slug}/deflections`. Kept here until the agent
/// sends it; it belongs in `handraise-wire` then.
#[derive(Debug, Deserialize)]
pub struct DeflectionRequest {
    pub client_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

/// Answer to a deflection (201 new, 200 repeat).
#[derive(Debug, serde::Serialize)]
pub struct DeflectionReceipt {
    pub article_slug: String,
    /// The article's "this fixed it" count now.
    pub deflections: i64,
}

/// `POST /api/v1/kb/{slug}/deflections` — "this fixed it": the teacher did
/// not file a ticket after reading the article. 201 new, 200 repeat of the
/// same `client_id`; 404 for an unknown slug.
pub async fn deflection(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Path(slug): Path<String>,
    Json(req): Json<DeflectionRequest>,
) -> Result<(StatusCode, Json<DeflectionReceipt>), AppError> {
    let inserted =
        crate::service::record_deflection(&state, &device, &slug, req.client_id, req.created_at)
            .await?;
    let status = created_or_ok(&inserted);
    Ok((
        status,
        Json(DeflectionReceipt {
            article_slug: slug,
            deflections: inserted.into_inner(),
        }),
    ))
}

/// 201 for a new row, 200 for a repeat of one already stored (the idempotent answer).
fn created_or_ok<T>(inserted: &Inserted<T>) -> StatusCode {
    if inserted.is_created() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}
