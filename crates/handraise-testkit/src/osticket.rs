//! A stand-in for osTicket's ticket API, since osTicket itself (PHP, MySQL)
//! cannot be installed here. It reproduces what osTicket's repository
//! documents (`setup/doc/api.md`, `setup/doc/api/tickets.md`) and nothing
//! more:
//!
//! - `POST /api/tickets.json` with `X-API-Key`; a key is bound to a client
//!   address (here 127.0.0.1): another key or address answers `401 API key
//!   not authorized`.
//! - Required `name`, `email`, `subject`, `message`; a ticket missing one, or
//!   with an email without `@`, answers `500 Unable to create new ticket:
//!   validation errors` (osTicket's validation failures come back as 500),
//!   creating nothing. Malformed JSON answers `400`.
//! - `attachments`: `[{"name": "data:<type>;base64,<data>"}]` (RFC 2397),
//!   decoded and kept.
//! - `201 Created` with the new ticket's number as plain text.
//!
//! Faults a test can ask for: refuse the next ticket by validation
//! (`refuse_next`), or create the next one and lose the answer
//! (`lose_next_receipt`: the body is cut off after the status line).

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// A ticket the stand-in holds.
#[derive(Debug, Clone)]
pub struct OsTicket {
    pub number: String,
    pub name: String,
    pub email: String,
    pub subject: String,
    /// The message, a data URL decoded to text.
    pub message: String,
    pub priority_id: Option<i64>,
    /// Attachment name, MIME type and bytes.
    pub attachments: Vec<(String, String, Vec<u8>)>,
}

#[derive(Debug, Default)]
pub struct Desk {
    pub tickets: Vec<OsTicket>,
    /// Requests answered, of any outcome.
    pub requests: usize,
    /// The next valid ticket is refused by validation (500).
    pub refuse_next: bool,
    /// The next ticket is created and its answer lost.
    pub lose_next_receipt: bool,
}

/// The stand-in's state, shared with the test.
#[derive(Clone)]
pub struct StandIn {
    pub url: String,
    pub key: String,
    state: Arc<Mutex<Desk>>,
}

impl StandIn {
    pub fn desk(&self) -> MutexGuard<'_, Desk> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Clone)]
struct App {
    key: String,
    state: Arc<Mutex<Desk>>,
}

fn text(status: StatusCode, body: &str) -> Response {
    (status, [("content-type", "text/plain")], body.to_owned()).into_response()
}

/// A data URL's type and bytes (`data:[type][;charset=…][;base64],data`).
pub fn data_url(url: &str) -> Option<(String, Vec<u8>)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let mut parts = meta.split(';');
    let mime = parts
        .next()
        .filter(|m| !m.is_empty())
        .unwrap_or("text/plain");
    let bytes = if meta.split(';').any(|p| p == "base64") {
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .ok()?
    } else {
        percent_decode(data)?
    };
    Some((mime.to_owned(), bytes))
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

async fn create(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut desk = app.state.lock().unwrap_or_else(|e| e.into_inner());
    desk.requests += 1;
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    if key != Some(app.key.as_str()) || !peer.ip().is_loopback() {
        return text(StatusCode::UNAUTHORIZED, "API key not authorized");
    }
    let Ok(v) = serde_json::from_str::<Value>(&body) else {
        return text(StatusCode::BAD_REQUEST, "Invalid JSON");
    };
    let field = |k: &str| v[k].as_str().unwrap_or_default().trim().to_owned();
    let mut errors = Vec::new();
    for k in ["name", "email", "subject", "message"] {
        if field(k).is_empty() {
            errors.push(format!("{k}: required"));
        }
    }
    if !field("email").is_empty() && !field("email").contains('@') {
        errors.push("email: Valid email required".into());
    }
    if errors.is_empty() && desk.refuse_next {
        desk.refuse_next = false;
        errors.push("email: This email address is banned".into());
    }
    if !errors.is_empty() {
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!(
                "Unable to create new ticket: validation errors:\n{}",
                errors.join("\n")
            ),
        );
    }
    let message = field("message");
    let message = data_url(&message)
        .map(|(_, b)| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or(message);
    let mut attachments = Vec::new();
    for a in v["attachments"].as_array().cloned().unwrap_or_default() {
        for (name, url) in a.as_object().cloned().unwrap_or_default() {
            let Some((mime, bytes)) = url.as_str().and_then(data_url) else {
                return text(StatusCode::BAD_REQUEST, "Incorrectly encoded attachment");
            };
            attachments.push((name, mime, bytes));
        }
    }
    let number = (100_001 + desk.tickets.len()).to_string();
    desk.tickets.push(OsTicket {
        number: number.clone(),
        name: field("name"),
        email: field("email"),
        subject: field("subject"),
        message,
        priority_id: v["priorityId"].as_i64(),
        attachments,
    });
    if desk.lose_next_receipt {
        desk.lose_next_receipt = false;
        // The status line goes out, then the connection breaks: the ticket
        // exists and the client never reads its number.
        let broken = futures_util::stream::once(async {
            Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other("lost"))
        });
        return (StatusCode::CREATED, Body::from_stream(broken)).into_response();
    }
    text(StatusCode::CREATED, &number)
}

/// Starts the stand-in on 127.0.0.1 (a port of its own) accepting API key
/// `key`; it runs until the runtime ends.
pub async fn start(key: &str) -> anyhow::Result<StandIn> {
    let state = Arc::new(Mutex::new(Desk::default()));
    let app = axum::Router::new()
        .route("/api/tickets.json", post(create))
        .with_state(App {
            key: key.to_owned(),
            state: Arc::clone(&state),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    Ok(StandIn {
        url: format!("http://{addr}"),
        key: key.to_owned(),
        state,
    })
}
