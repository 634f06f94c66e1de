//! HandRaise wire protocol, version 1.
//!
//! Serde types: every request and response body of the agent API (`/api/v1/...`)
//! and of the technician API (`/api/v1/tech/...`); and the limits and checks of
//! what a teacher sends (text lengths, choices and their defaults, screenshot
//! types) as plain functions and constants, which the tray app's UI receives
//! through its generated bindings ([`typescript`]). The agent and the server both
//! depend on this crate and on nothing of each other.
//!
//! Compatibility rule: a field added after v1 shipped is an `Option` or carries
//! `#[serde(default)]`, so an older agent keeps talking to a newer server and the
//! other way round. Unknown fields are ignored on input.

mod choices;
mod email;
mod enroll;
mod limits;
mod snapshot;
mod tech;
pub mod typescript;

pub use choices::{Category, ParseChoiceError, Scope, TicketStatus, Urgency};
pub use email::{EmailError, MAX_EMAIL_CHARS, check_email, check_email_domain};
pub use enroll::{EnrollRefusal, MACHINE_ID_HEX_CHARS};
pub use limits::{
    ImageType, MAX_DETAILS_CHARS, MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, MAX_MESSAGE_CHARS,
    MAX_ROOM_CHARS, MAX_SCREENSHOT_BYTES, MAX_SUMMARY_CHARS, TextError, TextField, char_count,
    check_optional_text, check_text, image_dimensions, image_dimensions_ok,
};
pub use snapshot::{
    Battery, Cpu, DeviceSnapshot, DirectoryJoin, Disk, Display, JoinKind, Memory, NetInterface,
    ProcessInfo, Reachability, SNAPSHOT_SCHEMA_VERSION, Wifi,
};
pub use tech::{
    AnnouncementDetail, AnnouncementInput, ArticleInput, AssignRequest, MeTooRoomCount,
    NoteRequest, ReplyRequest, RevokeResponse, StatusChangeRequest, TechMessage, TechTicket,
    TechTicketList,
};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Path prefix of every v1 endpoint.
pub const API_PREFIX: &str = "/api/v1";

/// Longest long-poll wait the server honours, in seconds.
pub const MAX_UPDATES_WAIT_SECS: u64 = 30;

/// Error body of every non-2xx answer: `{ "code", "message" }`.
///
/// `code` is a stable machine-readable token (`bad_request`, `payload_too_large`,
/// `unsupported_media_type`, `invalid`, `unauthorized`, `forbidden`, `not_found`,
/// `conflict`, `rate_limited`, `quota_exceeded` (a device's daily quota, with `Retry-After`),
/// `shutting_down`, `internal`, and the enrollment refusals of [`EnrollRefusal`]); `message`
/// is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

/// `POST /api/v1/enroll` — no Authorization header; the enrollment token is in the body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrollRequest {
    pub token: String,
    pub hostname: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    /// A stable identifier of the computer: the hex SHA-256 of a HandRaise prefix and the
    /// OS machine id, so the raw id never leaves the machine. Lets the server refuse a
    /// computer whose device was revoked. Added after v1: older agents leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_id: Option<String>,
}

/// Answer to a successful enrollment (201). The secret is shown once; the
/// server keeps only its hash.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub device_id: Uuid,
    pub device_secret: String,
    /// The school and building the device was enrolled in: the enrollment token's when it
    /// names them, else what the device said. Added after v1 (older servers leave them out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building: Option<String>,
}

impl std::fmt::Debug for EnrollResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrollResponse")
            .field("device_id", &self.device_id)
            .field("device_secret", &"<redacted>")
            .field("school", &self.school)
            .field("building", &self.building)
            .finish()
    }
}

/// Who reported the problem, as the device knows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reporter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// What the teacher did with a self-help article before filing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelfHelpOutcome {
    /// "Still broken": read it, it did not help.
    StillBroken,
    /// Shown beside the form but not opened.
    Shown,
}

/// One self-help article tried before the ticket was filed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SelfHelpAttempt {
    pub article_slug: String,
    #[cfg_attr(feature = "ts", ts(type = "\"still_broken\" | \"shown\""))]
    pub outcome: SelfHelpOutcome,
}

/// `POST /api/v1/tickets` — the client id is the idempotency key: a repeat
/// returns the already-stored ticket with 200 instead of 201.
///
/// Only `client_id`, `created_at`, `category` and `summary` are required; the
/// server fills `urgency = whenever` and `scope = me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTicket {
    /// UUID v7 generated on the device.
    pub client_id: Uuid,
    /// The device clock when the teacher pressed submit.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub category: Category,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<Urgency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter: Option<Reporter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<DeviceSnapshot>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub self_help: Vec<SelfHelpAttempt>,
    /// Set when the device could not reach the server at submit time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_at_submit: Option<bool>,
    /// Announcement this report is a "me too" for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announcement_id: Option<i64>,
}

/// Answer to `POST /api/v1/tickets` (201 new, 200 repeat).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketReceipt {
    pub client_id: Uuid,
    /// Human ticket number, `#1234` in the UI.
    pub number: i64,
    pub status: TicketStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
}

/// `POST /api/v1/tickets/{ticket_client_id}/messages` — a teacher message on
/// one of this device's tickets. `client_id` is the idempotency key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewMessage {
    pub client_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub body: String,
}

/// Answer to a message post (201 new, 200 repeat).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageReceipt {
    pub client_id: Uuid,
    pub ticket_number: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
}

/// Answer to `PUT /api/v1/tickets/{ticket_client_id}/screenshot` (body: the
/// image bytes, `Content-Type: image/png` or `image/jpeg`, ≤ 10 MiB). A repeat
/// upload replaces the stored image and answers the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenshotReceipt {
    pub ticket_number: i64,
    pub bytes: u64,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Teacher,
    Technician,
}

/// One message on a ticket as the device sees it (internal notes never appear).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketMessage {
    /// Client id for teacher messages; server-generated id for technician replies.
    pub id: Uuid,
    pub author: Author,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// `GET /api/v1/tickets/{ticket_client_id}` — one of this device's tickets.
/// Another device's ticket answers 404.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceTicket {
    pub client_id: Uuid,
    pub number: i64,
    pub status: TicketStatus,
    pub category: Category,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default)]
    pub messages: Vec<TicketMessage>,
}

/// What happened to a ticket, in the updates feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UpdateKind {
    /// The status (and possibly the assignee) changed.
    Status {
        status: TicketStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assignee: Option<String>,
    },
    /// A technician replied to the teacher.
    Reply { message: TicketMessage },
    /// A kind this agent does not know yet; skipped, the cursor still advances.
    #[serde(other)]
    Unknown,
}

/// One entry of the updates feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    /// Position in the feed; strictly increasing per device.
    pub seq: i64,
    pub ticket_client_id: Uuid,
    pub ticket_number: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(flatten)]
    pub kind: UpdateKind,
}

/// `GET /api/v1/updates?cursor=N&wait=S` — updates after `cursor` for this
/// device's tickets only. With `wait` (seconds, ≤ 30) the server holds the
/// request until something arrives or the wait ends, then answers (possibly with
/// no updates). The agent stores `cursor` and sends it back next time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdatesPage {
    pub updates: Vec<Update>,
    pub cursor: i64,
    /// More updates are ready beyond this page; ask again at once.
    #[serde(default)]
    pub more: bool,
    /// The server database's generation: it changes when the database is
    /// restored from a backup. An agent that sees it change sends again every
    /// ticket, message and event it had sent (the server answers repeats with
    /// their first receipt) and reads the feed from the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<String>,
}

/// A knowledge-base article as the agent caches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Article {
    pub slug: String,
    pub title: String,
    /// Markdown; steps are a numbered list.
    pub body: String,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "Category[]"))]
    pub categories: Vec<Category>,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// An unpublished article is sent once with `false` so caches drop it.
    pub published: bool,
    /// Knowledge-base version at which this article last changed.
    pub version: i64,
}

/// `GET /api/v1/kb?since=VERSION` — articles changed after `since` (0 = all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KbChanges {
    /// Current knowledge-base version; send it as `since` next time.
    pub version: i64,
    pub articles: Vec<Article>,
}

/// How far an announcement reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnouncementKind {
    Outage,
    Notice,
}

/// An active announcement that applies to this device's school and building.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    pub id: i64,
    pub kind: AnnouncementKind,
    pub title: String,
    pub message: String,
    /// `None` = district-wide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school: Option<String>,
    /// `None` = the whole school (or district).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
}

/// `GET /api/v1/announcements` — active announcements for this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnouncementList {
    pub announcements: Vec<Announcement>,
    /// Server clock, for the device's clock-skew fact.
    #[serde(with = "time::serde::rfc3339")]
    pub server_time: OffsetDateTime,
}

/// `POST /api/v1/announcements/{id}/me-too` — "Me too — add my room": the teacher is
/// counted against an outage instead of filing a new ticket. `client_id` (UUID v7) is the
/// idempotency key, as for tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeTooRequest {
    pub client_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter: Option<Reporter>,
}

/// Answer to a "me too" (201 new, 200 repeat): how many reports the announcement has now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeTooReceipt {
    pub announcement_id: i64,
    pub reports: i64,
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
}

#[cfg(test)]
mod tests;
