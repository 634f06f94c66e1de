//! The web report page's JSON calls under `/report/api/`: thin callers of
//! the service layer, for the device of the signed-in account, answering
//! what the agent API answers a device (plus what the page shows).

use super::session::Reporter;
use crate::api::agent::{self, UpdatesQuery};
use crate::cookies::Cookies;
use crate::error::{AppError, Json, Path, Query};
use crate::service::{announcements, convert, intake, kb, web};
use crate::state::AppState;
use crate::store::{MessageRecord, TicketRecord, now_utc};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use handraise_wire as wire;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Who is signed in, and what the page needs first.
#[derive(Debug, Serialize)]
pub struct Me {
    pub email: String,
    pub name: Option<String>,
    /// Sent back in `X-CSRF-Token` with every change.
    pub csrf_token: String,
    pub school: Option<String>,
    pub building: Option<String>,
    pub announcements: Vec<wire::Announcement>,
    #[serde(with = "time::serde::rfc3339")]
    pub server_time: OffsetDateTime,
}

/// `GET /report/api/me` — 401 when nobody is signed in.
pub async fn me(
    State(state): State<AppState>,
    Reporter(session): Reporter,
) -> Result<Json<Me>, AppError> {
    let now = now_utc();
    let list = announcements::for_device(state.store(), &session.device, now).await?;
    Ok(Json(Me {
        email: session.reporter.email,
        name: session.reporter.name,
        csrf_token: session.csrf_token,
        school: session.device.school,
        building: session.device.building,
        announcements: list.into_iter().map(convert::announcement).collect(),
        server_time: now,
    }))
}

/// `POST /report/api/sign-out`.
pub async fn sign_out(
    State(state): State<AppState>,
    cookies: Cookies,
    headers: HeaderMap,
    Reporter(_): Reporter,
) -> Result<Response, AppError> {
    if let Some(token) = cookies.get(&headers, super::session::REPORT_COOKIE) {
        web::sign_out(state.store(), token).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let gone = cookies.set(super::session::REPORT_COOKIE, "", 0);
    if let Ok(v) = gone.parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    category: Option<wire::Category>,
}

/// A self-help hit as the page shows it.
#[derive(Debug, Serialize)]
pub struct Hit {
    slug: String,
    title: String,
    snippet: String,
    categories: Vec<wire::Category>,
}

/// `GET /report/api/kb/search?q=…&category=…` — searched on the server.
pub async fn search(
    State(state): State<AppState>,
    Reporter(_): Reporter,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Vec<Hit>>, AppError> {
    let query: String =
        q.q.chars()
            .take(wire::TextField::Summary.max_chars())
            .collect();
    let hits = kb::search(state.store(), query, q.category).await?;
    Ok(Json(hits.into_iter().map(Hit::from).collect()))
}

impl From<crate::service::kb_search::Hit> for Hit {
    fn from(h: crate::service::kb_search::Hit) -> Self {
        Hit {
            slug: h.slug,
            title: h.title,
            snippet: h.snippet,
            categories: h.categories,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct BrowseQuery {
    #[serde(default)]
    category: Option<wire::Category>,
}

/// `GET /report/api/kb?category=…` — every published article (of the category), by title.
pub async fn browse(
    State(state): State<AppState>,
    Reporter(_): Reporter,
    Query(q): Query<BrowseQuery>,
) -> Result<Json<Vec<Hit>>, AppError> {
    let hits = kb::browse(state.store(), q.category).await?;
    Ok(Json(hits.into_iter().map(Hit::from).collect()))
}

/// An article with its HTML from the one renderer (`handraise-markdown`).
#[derive(Debug, Serialize)]
pub struct ArticleView {
    #[serde(flatten)]
    article: wire::Article,
    html: String,
}

/// `GET /report/api/kb/{slug}` — a published article.
pub async fn article(
    State(state): State<AppState>,
    Reporter(_): Reporter,
    Path(slug): Path<String>,
) -> Result<Json<ArticleView>, AppError> {
    let a = kb::get(state.store(), &slug).await?;
    if !a.published {
        return Err(AppError::NotFound);
    }
    let html = handraise_markdown::to_html(&a.body);
    Ok(Json(ArticleView {
        article: convert::article(a),
        html,
    }))
}

#[derive(Debug, Deserialize)]
pub struct Fixed {
    client_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

/// `POST /report/api/kb/{slug}/fixed` — "this fixed it", counted as the
/// app's are.
pub async fn fixed(
    State(state): State<AppState>,
    Reporter(session): Reporter,
    Path(slug): Path<String>,
    Json(f): Json<Fixed>,
) -> Result<StatusCode, AppError> {
    let inserted = kb::record_deflection(
        state.store(),
        &session.device,
        &slug,
        f.client_id,
        f.created_at,
        now_utc(),
    )
    .await?;
    Ok(agent::created_or_ok(&inserted))
}

/// `POST /report/api/tickets` — a report, with the reporter the ID token
/// named; 201 new, 200 for a repeat of its client id (a report sent again
/// after the connection came back).
pub async fn create_ticket(
    State(state): State<AppState>,
    Reporter(session): Reporter,
    Json(mut t): Json<wire::NewTicket>,
) -> Result<(StatusCode, Json<wire::TicketReceipt>), AppError> {
    t.reporter = Some(web::reporter(&session.reporter));
    agent::file_ticket(&state, session.device.id, t).await
}

/// A ticket in "My tickets".
#[derive(Debug, Serialize)]
pub struct MyTicket {
    #[serde(flatten)]
    ticket: wire::DeviceTicket,
    details: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

fn my_ticket(t: &TicketRecord, messages: &[MessageRecord]) -> MyTicket {
    MyTicket {
        ticket: convert::device_ticket(t, messages),
        details: t.details.clone(),
        created_at: t.created_at,
    }
}

/// `GET /report/api/tickets` — this account's tickets, newest first.
pub async fn tickets(
    State(state): State<AppState>,
    Reporter(session): Reporter,
) -> Result<Json<Vec<MyTicket>>, AppError> {
    let list = web::my_tickets(state.store(), &session.device).await?;
    Ok(Json(list.iter().map(|(t, m)| my_ticket(t, m)).collect()))
}

/// `GET /report/api/tickets/{client_id}`.
pub async fn ticket(
    State(state): State<AppState>,
    Reporter(session): Reporter,
    Path(client_id): Path<Uuid>,
) -> Result<Json<MyTicket>, AppError> {
    let (t, m) = intake::device_ticket(state.store(), session.device.id, client_id).await?;
    Ok(Json(my_ticket(&t, &m)))
}

/// `POST /report/api/tickets/{client_id}/messages` — 201 new, 200 repeat.
pub async fn message(
    State(state): State<AppState>,
    Reporter(session): Reporter,
    Path(ticket): Path<Uuid>,
    Json(m): Json<wire::NewMessage>,
) -> Result<(StatusCode, Json<wire::MessageReceipt>), AppError> {
    agent::file_message(&state, session.device.id, ticket, m).await
}

/// `PUT /report/api/tickets/{client_id}/screenshot` — the image the teacher
/// chose, checked as the app's are (type, magic bytes, size, daily bytes).
pub async fn screenshot(
    State(state): State<AppState>,
    Reporter(session): Reporter,
    Path(ticket): Path<Uuid>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<wire::ScreenshotReceipt>, AppError> {
    agent::store_screenshot(&state, session.device.id, ticket, &headers, body)
        .await
        .map(Json)
}

/// `POST /report/api/announcements/{id}/me-too`.
pub async fn me_too(
    State(state): State<AppState>,
    Reporter(session): Reporter,
    Path(id): Path<i64>,
    Json(mut req): Json<wire::MeTooRequest>,
) -> Result<(StatusCode, Json<wire::MeTooReceipt>), AppError> {
    req.reporter = Some(web::reporter(&session.reporter));
    agent::add_me_too(&state, &session.device, id, req).await
}

/// `GET /report/api/updates?cursor=N&wait=S` — this account's updates feed,
/// the app's long-poll.
pub async fn updates(
    State(state): State<AppState>,
    Reporter(session): Reporter,
    Query(q): Query<UpdatesQuery>,
) -> Result<Json<wire::UpdatesPage>, AppError> {
    agent::long_poll(&state, session.device.id, q.cursor, q.wait)
        .await
        .map(Json)
}
