//! Technician API bodies (`/api/v1/tech/...`, `Authorization: Bearer <technician token>`).

use crate::{
    AnnouncementKind, Category, DeviceSnapshot, Reporter, Scope, SelfHelpAttempt, TicketStatus,
    Urgency,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// One message as a technician sees it (internal notes included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TechMessage {
    pub id: Uuid,
    /// `teacher`, `technician` or `note` (internal, never shown to the teacher).
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A ticket with everything a technician needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TechTicket {
    pub number: i64,
    pub client_id: Uuid,
    pub device_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building: Option<String>,
    pub status: TicketStatus,
    pub category: Category,
    pub urgency: Urgency,
    pub scope: Scope,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter: Option<Reporter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// The device clock at submit.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The server clock at first receipt.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<DeviceSnapshot>,
    #[serde(default)]
    pub self_help: Vec<SelfHelpAttempt>,
    #[serde(default)]
    pub has_screenshot: bool,
    #[serde(default)]
    pub offline_at_submit: bool,
    #[serde(default)]
    pub messages: Vec<TechMessage>,
}

/// `GET /api/v1/tech/tickets[?status=S][&limit=N][&cursor=C]`: a page, newest first. Its
/// tickets carry no `messages` (`GET /api/v1/tech/tickets/{number}` has them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TechTicketList {
    pub tickets: Vec<TechTicket>,
    /// The `cursor` of the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<i64>,
}

/// `POST /api/v1/tech/tickets/{number}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChangeRequest {
    pub status: TicketStatus,
}

/// `POST /api/v1/tech/tickets/{number}/assign` — `None` unassigns; the name of
/// a technician account otherwise (created if it does not exist).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignRequest {
    #[serde(default)]
    pub assignee: Option<String>,
}

/// `POST /api/v1/tech/tickets/{number}/reply` — visible to the teacher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyRequest {
    pub body: String,
}

/// `POST /api/v1/tech/tickets/{number}/note` — internal, never sent to the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteRequest {
    pub body: String,
}

/// `POST /api/v1/tech/kb` (create) and `PUT /api/v1/tech/kb/{slug}` (update).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleInput {
    pub slug: String,
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub categories: Vec<Category>,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default = "default_true")]
    pub published: bool,
}

fn default_true() -> bool {
    true
}

/// `POST /api/v1/tech/announcements`; `POST .../{id}/end` ends one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnouncementInput {
    pub kind: AnnouncementKind,
    pub title: String,
    pub message: String,
    #[serde(default)]
    pub school: Option<String>,
    #[serde(default)]
    pub building: Option<String>,
    #[serde(default)]
    pub category: Option<Category>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub starts_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
}

/// Answer to `POST /api/v1/tech/devices/{device_id}/revoke`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeResponse {
    pub device_id: Uuid,
    pub revoked: bool,
}

/// "Me too" reports from one room of one school.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeTooRoomCount {
    #[serde(default)]
    pub school: Option<String>,
    #[serde(default)]
    pub room: Option<String>,
    pub reports: i64,
}

/// `GET /api/v1/tech/announcements/{id}`: the announcement and who said "me too", by room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnouncementDetail {
    pub announcement: crate::Announcement,
    pub me_too_total: i64,
    #[serde(default)]
    pub me_too_by_room: Vec<MeTooRoomCount>,
}
