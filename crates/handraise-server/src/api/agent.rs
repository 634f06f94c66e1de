//! Agent endpoints: enrollment, tickets, messages, screenshots, the updates
//! long-poll, the knowledge base and announcements.

use super::ClientIp;
use crate::auth::{DeviceAuth, hash_secret, new_secret};
use crate::error::{AppError, Json, Path, Query};
use crate::service::{announcements, enrollment, intake, kb};
use crate::state::AppState;
use crate::store::{Inserted, now_utc};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use handraise_wire as wire;
use serde::Deserialize;
use std::time::Duration;
use uuid::Uuid;

/// `POST /api/v1/enroll`.
pub async fn enroll(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(req): Json<wire::EnrollRequest>,
) -> Result<(StatusCode, Json<wire::EnrollResponse>), AppError> {
    state.check_enroll_rate(ip)?;
    let secret = new_secret();
    let enrolled = enrollment::enroll(state.store(), hash_secret(&secret), &req, now_utc()).await?;
    tracing::info!(device_id = %enrolled.device_id, %ip, "device enrolled");
    Ok((
        StatusCode::CREATED,
        Json(wire::EnrollResponse {
            device_id: enrolled.device_id,
            device_secret: secret,
            school: enrolled.school,
            building: enrolled.building,
        }),
    ))
}

/// `POST /api/v1/tickets` — 201 new, 200 repeat of this device's client id.
pub async fn create_ticket(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Json(t): Json<wire::NewTicket>,
) -> Result<(StatusCode, Json<wire::TicketReceipt>), AppError> {
    file_ticket(&state, device.id, t).await
}

/// Files `device`'s ticket: 201 new, 200 with the first receipt for a repeat of its
/// client id. The agent API's and the web report page's.
pub async fn file_ticket(
    state: &AppState,
    device: Uuid,
    t: wire::NewTicket,
) -> Result<(StatusCode, Json<wire::TicketReceipt>), AppError> {
    let inserted =
        intake::create_ticket(state.store(), state.quotas(), device, t, now_utc()).await?;
    let status = created_or_ok(&inserted);
    Ok((status, Json(super::receipt(&inserted.into_inner()))))
}

/// `GET /api/v1/tickets/{client_id}` — this device's ticket, without notes.
pub async fn get_ticket(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Path(client_id): Path<Uuid>,
) -> Result<Json<wire::DeviceTicket>, AppError> {
    let (ticket, messages) = intake::device_ticket(state.store(), device.id, client_id).await?;
    Ok(Json(super::device_ticket(&ticket, &messages)))
}

/// `POST /api/v1/tickets/{client_id}/messages` — 201 new, 200 repeat.
pub async fn post_message(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Path(ticket_client_id): Path<Uuid>,
    Json(m): Json<wire::NewMessage>,
) -> Result<(StatusCode, Json<wire::MessageReceipt>), AppError> {
    file_message(&state, device.id, ticket_client_id, m).await
}

/// Adds `device`'s message to its ticket: 201 new, 200 for a repeat. The agent API's and
/// the web report page's.
pub async fn file_message(
    state: &AppState,
    device: Uuid,
    ticket_client_id: Uuid,
    m: wire::NewMessage,
) -> Result<(StatusCode, Json<wire::MessageReceipt>), AppError> {
    let inserted = intake::post_message(
        state.store(),
        state.quotas(),
        device,
        ticket_client_id,
        m,
        now_utc(),
    )
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
    store_screenshot(&state, device.id, ticket_client_id, &headers, body)
        .await
        .map(Json)
}

/// Stores the screenshot `body` of `device`'s ticket: its type by header and
/// magic bytes, its size (refused early by `Content-Length`), the device's
/// daily bytes. The agent API's upload and the web report page's both.
pub async fn store_screenshot(
    state: &AppState,
    device: Uuid,
    ticket_client_id: Uuid,
    headers: &HeaderMap,
    body: Body,
) -> Result<wire::ScreenshotReceipt, AppError> {
    intake::check_owner(state.store(), device, ticket_client_id).await?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    let content_type = intake::screenshot_type(declared.as_deref())?;
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
    let len = bytes.len() as u64;
    let number = intake::put_screenshot(
        state.store(),
        state.quotas(),
        device,
        ticket_client_id,
        content_type,
        bytes.into(),
        now_utc(),
    )
    .await?;
    Ok(wire::ScreenshotReceipt {
        ticket_number: number,
        bytes: len,
    })
}

#[derive(Debug, Deserialize)]
pub struct UpdatesQuery {
    #[serde(default)]
    pub cursor: Option<i64>,
    #[serde(default)]
    pub wait: Option<u64>,
}

/// `GET /api/v1/updates?cursor=N&wait=S` — a page of this device's feed,
/// holding the request up to `wait` seconds when there is nothing new.
pub async fn updates(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Query(q): Query<UpdatesQuery>,
) -> Result<Json<wire::UpdatesPage>, AppError> {
    long_poll(&state, device.id, q.cursor, q.wait)
        .await
        .map(Json)
}

/// A page of `device`'s feed after `cursor`, held up to `wait` seconds when
/// there is nothing new (one long-poll per device: a new one ends the one
/// before). The agent API's `/updates` and the web report page's both.
pub async fn long_poll(
    state: &AppState,
    device: Uuid,
    cursor: Option<i64>,
    wait: Option<u64>,
) -> Result<wire::UpdatesPage, AppError> {
    let cursor = cursor.unwrap_or(0).max(0);
    let wait = Duration::from_secs(wait.unwrap_or(0).min(wire::MAX_UPDATES_WAIT_SECS));
    let deadline = tokio::time::Instant::now() + wait;
    // One long-poll per device: this one ends the one before it.
    let poll = (!wait.is_zero()).then(|| state.long_polls().begin(device));
    let notify = state.feed().subscribe(device);
    let result = async {
        loop {
            // Register interest before reading, so an update written between
            // the read and the wait still wakes us.
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let page = fetch_page(state, device, cursor).await?;
            if !page.updates.is_empty()
                || state.is_shutting_down()
                || tokio::time::Instant::now() >= deadline
            {
                return Ok(page);
            }
            let replaced = async {
                match &poll {
                    Some(poll) => poll.replaced().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(deadline) => {}
                () = state.shutdown_started() => {}
                // A newer long-poll of this device took over: answer what there is.
                () = replaced => return fetch_page(state, device, cursor).await,
            }
        }
    }
    .await;
    state.feed().unsubscribe(device, notify);
    result
}

async fn fetch_page(
    state: &AppState,
    device: Uuid,
    cursor: i64,
) -> Result<wire::UpdatesPage, AppError> {
    let (entries, more) = intake::updates(state.store(), device, cursor).await?;
    let updates: Vec<wire::Update> = entries.iter().map(super::update).collect();
    let now = crate::store::now_utc();
    for u in &updates {
        let waited = (now - u.at).max(time::Duration::ZERO);
        state.metrics().update_delivered(waited.unsigned_abs());
    }
    Ok(wire::UpdatesPage {
        cursor: updates.last().map_or(cursor, |u| u.seq),
        updates,
        more,
        generation: Some(state.generation().await?),
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
    let (version, articles) = kb::device_changes(state.store(), q.since.unwrap_or(0)).await?;
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
    let list = announcements::for_device(state.store(), &device, now).await?;
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
    add_me_too(&state, &device, id, req).await
}

/// Counts `device` against announcement `id`: 201 new, 200 for a repeat. The agent API's
/// and the web report page's.
pub async fn add_me_too(
    state: &AppState,
    device: &crate::store::DeviceRecord,
    id: i64,
    req: wire::MeTooRequest,
) -> Result<(StatusCode, Json<wire::MeTooReceipt>), AppError> {
    let inserted = announcements::me_too(state.store(), device, id, req, now_utc()).await?;
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
    let inserted = kb::record_deflection(
        state.store(),
        &device,
        &slug,
        req.client_id,
        req.created_at,
        now_utc(),
    )
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
pub(crate) fn created_or_ok<T>(inserted: &Inserted<T>) -> StatusCode {
    if inserted.is_created() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}
