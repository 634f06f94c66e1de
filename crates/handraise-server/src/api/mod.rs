//! HTTP handlers and the conversions between storage rows and wire bodies.

pub mod agent;
pub mod tech;

use crate::AppState;
use crate::error::AppError;
use crate::store::{
    AnnouncementRecord, ArticleRecord, FeedEntry, FeedKind, MessageKind, MessageRecord,
    TicketDetail, TicketRecord,
};
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::IntoResponse;
use handraise_wire as wire;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// `GET /healthz`. While shutting down the guard middleware answers 503
/// before this runs.
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    if state.is_shutting_down() {
        return AppError::ShuttingDown.into_response();
    }
    axum::Json(wire::Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
    .into_response()
}

/// The peer address of the connection (unspecified when not served over
/// TCP, as in handler tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ci| ci.0.ip())
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        ))
    }
}

// ---- storage rows → wire bodies ----------------------------------------

pub(crate) fn ticket_message(m: &MessageRecord) -> Option<wire::TicketMessage> {
    let author = match m.kind {
        MessageKind::Teacher => wire::Author::Teacher,
        MessageKind::Technician => wire::Author::Technician,
        MessageKind::Note => return None,
    };
    Some(wire::TicketMessage {
        id: m.id,
        author,
        author_name: m.author.clone(),
        body: m.body.clone(),
        at: m.at,
    })
}

pub(crate) fn device_ticket(t: &TicketRecord, messages: &[MessageRecord]) -> wire::DeviceTicket {
    wire::DeviceTicket {
        client_id: t.client_id,
        number: t.number,
        status: t.status,
        category: t.category,
        summary: t.summary.clone(),
        assignee: t.assignee.clone(),
        messages: messages.iter().filter_map(ticket_message).collect(),
    }
}

pub(crate) fn receipt(t: &TicketRecord) -> wire::TicketReceipt {
    wire::TicketReceipt {
        client_id: t.client_id,
        number: t.number,
        status: t.status,
        received_at: t.received_at,
    }
}

pub(crate) fn update(e: &FeedEntry) -> wire::Update {
    let kind = match &e.kind {
        FeedKind::Status { status, assignee } => wire::UpdateKind::Status {
            status: *status,
            assignee: assignee.clone(),
        },
        FeedKind::Reply(m) => match ticket_message(m) {
            Some(message) => wire::UpdateKind::Reply { message },
            None => wire::UpdateKind::Unknown,
        },
    };
    wire::Update {
        seq: e.seq,
        ticket_client_id: e.ticket_client_id,
        ticket_number: e.ticket_number,
        at: e.at,
        kind,
    }
}

/// Decodes a JSON column written by this server; a bad value is logged and
/// dropped rather than failing the whole answer.
fn decode<T: serde::de::DeserializeOwned>(
    what: &str,
    number: i64,
    json: Option<&str>,
) -> Option<T> {
    let json = json?;
    match serde_json::from_str(json) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(ticket = number, field = what, error = %e, "undecodable stored JSON");
            None
        }
    }
}

pub(crate) fn tech_ticket(d: &TicketDetail) -> wire::TechTicket {
    let t = &d.ticket;
    wire::TechTicket {
        number: t.number,
        client_id: t.client_id,
        device_id: t.device_id,
        device_hostname: d.device_hostname.clone(),
        school: d.school.clone(),
        building: d.building.clone(),
        status: t.status,
        category: t.category,
        urgency: t.urgency,
        scope: t.scope,
        summary: t.summary.clone(),
        details: t.details.clone(),
        room: t.room.clone(),
        reporter: decode("reporter", t.number, t.reporter_json.as_deref()),
        assignee: t.assignee.clone(),
        created_at: t.created_at,
        received_at: t.received_at,
        updated_at: t.updated_at,
        snapshot: decode("snapshot", t.number, t.snapshot_json.as_deref()),
        self_help: decode("self_help", t.number, t.self_help_json.as_deref()).unwrap_or_default(),
        has_screenshot: d.has_screenshot,
        offline_at_submit: t.offline_at_submit,
        messages: d
            .messages
            .iter()
            .map(|m| wire::TechMessage {
                id: m.id,
                kind: m.kind.as_str().to_owned(),
                author: m.author.clone(),
                body: m.body.clone(),
                at: m.at,
            })
            .collect(),
    }
}

pub(crate) fn article(a: ArticleRecord) -> wire::Article {
    wire::Article {
        slug: a.slug,
        title: a.title,
        body: a.body,
        categories: a.categories,
        keywords: a.keywords,
        published: a.published,
        version: a.version,
    }
}

pub(crate) fn announcement(a: AnnouncementRecord) -> wire::Announcement {
    wire::Announcement {
        id: a.id,
        kind: a.kind,
        title: a.title,
        message: a.message,
        school: a.school,
        building: a.building,
        category: a.category,
        starts_at: a.starts_at,
        ends_at: a.ends_at,
    }
}
