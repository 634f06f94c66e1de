//! Persistence behind a small synchronous trait.
//!
//! The trait is synchronous on purpose: handlers call it through
//! `tokio::task::spawn_blocking`, and a PostgreSQL backend can implement it with
//! a blocking client later. Rows here are storage records, not wire types; the
//! API layer converts at the edge. Choice enums (category, status, …) are plain
//! values and shared with the wire crate.

mod sqlite;

pub use sqlite::{MIGRATIONS, SqliteStore};

use handraise_wire::{AnnouncementKind, Category, Scope, TicketStatus, Urgency};
use std::path::Path;
use time::OffsetDateTime;
use uuid::Uuid;

/// Errors of the store. `Conflict`, `NotFound` and `InvalidToken` are expected
/// outcomes that map to 4xx answers; the rest are faults.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    #[error("unknown or revoked enrollment token")]
    InvalidToken,
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Outcome of an idempotent insert keyed by a client id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted<T> {
    /// The row was new and has been stored.
    Created(T),
    /// The same client already sent it; this is the stored row, unchanged.
    Existing(T),
}

impl<T> Inserted<T> {
    pub fn is_created(&self) -> bool {
        matches!(self, Inserted::Created(_))
    }
    pub fn into_inner(self) -> T {
        match self {
            Inserted::Created(t) | Inserted::Existing(t) => t,
        }
    }
}

/// A device as the server knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: Uuid,
    pub hostname: String,
    pub school: Option<String>,
    pub building: Option<String>,
    pub os: Option<String>,
    pub model: Option<String>,
    pub enrolled_at: OffsetDateTime,
    pub last_seen_at: Option<OffsetDateTime>,
    pub revoked: bool,
}

/// A device to enroll.
#[derive(Debug, Clone)]
pub struct NewDevice {
    pub id: Uuid,
    pub secret_hash: String,
    pub hostname: String,
    pub school: Option<String>,
    pub building: Option<String>,
    pub os: Option<String>,
    pub model: Option<String>,
    pub agent_version: Option<String>,
    pub enrolled_at: OffsetDateTime,
}

/// A technician account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Technician {
    pub id: i64,
    pub name: String,
}

/// A ticket to store. JSON columns are opaque strings to the store.
#[derive(Debug, Clone)]
pub struct NewTicketRecord {
    pub client_id: Uuid,
    pub device_id: Uuid,
    pub created_at: OffsetDateTime,
    pub received_at: OffsetDateTime,
    pub category: Category,
    pub urgency: Urgency,
    pub scope: Scope,
    pub summary: String,
    pub details: Option<String>,
    pub room: Option<String>,
    pub reporter_json: Option<String>,
    pub snapshot_json: Option<String>,
    pub self_help_json: Option<String>,
    pub offline_at_submit: bool,
    pub announcement_id: Option<i64>,
}

/// A stored ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketRecord {
    pub number: i64,
    pub client_id: Uuid,
    pub device_id: Uuid,
    pub status: TicketStatus,
    pub category: Category,
    pub urgency: Urgency,
    pub scope: Scope,
    pub summary: String,
    pub details: Option<String>,
    pub room: Option<String>,
    pub reporter_json: Option<String>,
    pub snapshot_json: Option<String>,
    pub self_help_json: Option<String>,
    pub offline_at_submit: bool,
    pub announcement_id: Option<i64>,
    pub assignee: Option<String>,
    pub created_at: OffsetDateTime,
    pub received_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Who wrote a message, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Teacher,
    Technician,
    /// Internal note: never shown to the device.
    Note,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Teacher => "teacher",
            MessageKind::Technician => "technician",
            MessageKind::Note => "note",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "teacher" => Some(MessageKind::Teacher),
            "technician" => Some(MessageKind::Technician),
            "note" => Some(MessageKind::Note),
            _ => None,
        }
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    pub id: Uuid,
    pub ticket_number: i64,
    pub kind: MessageKind,
    pub author: Option<String>,
    pub body: String,
    /// Server clock at receipt.
    pub at: OffsetDateTime,
}

/// A teacher message to store.
#[derive(Debug, Clone)]
pub struct NewTeacherMessage {
    pub id: Uuid,
    pub body: String,
    pub created_at: OffsetDateTime,
    pub received_at: OffsetDateTime,
}

/// A ticket with what a technician sees around it.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketDetail {
    pub ticket: TicketRecord,
    pub device_hostname: Option<String>,
    pub school: Option<String>,
    pub building: Option<String>,
    pub has_screenshot: bool,
    /// All messages, notes included, oldest first.
    pub messages: Vec<MessageRecord>,
}

/// What an entry of the per-device updates feed says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedKind {
    Status {
        status: TicketStatus,
        assignee: Option<String>,
    },
    Reply(MessageRecord),
}

/// One entry of a device's updates feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    pub seq: i64,
    pub ticket_number: i64,
    pub ticket_client_id: Uuid,
    pub at: OffsetDateTime,
    pub kind: FeedKind,
}

/// A knowledge-base article to create or replace.
#[derive(Debug, Clone)]
pub struct ArticleRecordInput {
    pub slug: String,
    pub title: String,
    pub body: String,
    pub categories: Vec<Category>,
    pub keywords: Vec<String>,
    pub published: bool,
}

/// A stored knowledge-base article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleRecord {
    pub slug: String,
    pub title: String,
    pub body: String,
    pub categories: Vec<Category>,
    pub keywords: Vec<String>,
    pub published: bool,
    pub version: i64,
}

/// An announcement to create.
#[derive(Debug, Clone)]
pub struct NewAnnouncement {
    pub kind: AnnouncementKind,
    pub title: String,
    pub message: String,
    pub school: Option<String>,
    pub building: Option<String>,
    pub category: Option<Category>,
    pub starts_at: OffsetDateTime,
    pub ends_at: Option<OffsetDateTime>,
}

/// A stored announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncementRecord {
    pub id: i64,
    pub kind: AnnouncementKind,
    pub title: String,
    pub message: String,
    pub school: Option<String>,
    pub building: Option<String>,
    pub category: Option<Category>,
    pub starts_at: OffsetDateTime,
    pub ends_at: Option<OffsetDateTime>,
}

/// The server's persistence. Every method is one logical operation and, where
/// it writes, one transaction.
pub trait Store: Send + Sync {
    // Enrollment and devices.
    fn create_enroll_token(
        &self,
        token_hash: &str,
        label: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Checks the enrollment token and stores the device; `InvalidToken` when
    /// the token is unknown or revoked.
    fn enroll_device(&self, enroll_token_hash: &str, device: &NewDevice) -> StoreResult<()>;
    fn device_by_secret_hash(&self, secret_hash: &str) -> StoreResult<Option<DeviceRecord>>;
    fn device(&self, id: Uuid) -> StoreResult<Option<DeviceRecord>>;
    fn touch_device(&self, id: Uuid, now: OffsetDateTime) -> StoreResult<()>;
    /// `NotFound` for an unknown device.
    fn revoke_device(&self, id: Uuid, now: OffsetDateTime) -> StoreResult<()>;

    // Technicians.
    /// Creates the technician `name` if missing and adds a token for them.
    fn create_tech_token(
        &self,
        name: &str,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Technician>;
    fn technician_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<Technician>>;

    // Tickets, device side.
    /// Idempotent on `client_id`: the same device gets `Existing` and nothing
    /// changes; another device's client id is a `Conflict`.
    fn insert_ticket(&self, ticket: &NewTicketRecord) -> StoreResult<Inserted<TicketRecord>>;
    /// The ticket if it belongs to `device_id`.
    fn device_ticket(&self, device_id: Uuid, client_id: Uuid) -> StoreResult<Option<TicketRecord>>;
    /// Messages of a ticket, oldest first; notes only when asked for.
    fn messages(&self, number: i64, include_notes: bool) -> StoreResult<Vec<MessageRecord>>;
    /// Idempotent on the message id. `NotFound` when the ticket is not this
    /// device's; `Conflict` when the id was used elsewhere.
    fn insert_teacher_message(
        &self,
        device_id: Uuid,
        ticket_client_id: Uuid,
        message: &NewTeacherMessage,
    ) -> StoreResult<Inserted<MessageRecord>>;
    /// Stores (or replaces) the screenshot of this device's ticket; returns
    /// the ticket number. `NotFound` when the ticket is not this device's.
    fn put_screenshot(
        &self,
        device_id: Uuid,
        ticket_client_id: Uuid,
        content_type: &str,
        bytes: &[u8],
        now: OffsetDateTime,
    ) -> StoreResult<i64>;
    fn screenshot(&self, number: i64) -> StoreResult<Option<(String, Vec<u8>)>>;
    /// Feed entries of this device with `seq > after`, oldest first.
    fn updates(&self, device_id: Uuid, after: i64, limit: usize) -> StoreResult<Vec<FeedEntry>>;

    // Tickets, technician side. Mutations return the ticket afterwards;
    // `NotFound` for an unknown number.
    fn list_tickets(&self, status: Option<TicketStatus>) -> StoreResult<Vec<TicketDetail>>;
    fn ticket_detail(&self, number: i64) -> StoreResult<Option<TicketDetail>>;
    /// Changes the status; a real change writes a `status` feed entry.
    fn set_status(
        &self,
        number: i64,
        status: TicketStatus,
        now: OffsetDateTime,
    ) -> StoreResult<TicketDetail>;
    /// Assigns (creating the technician by name if missing) or unassigns;
    /// `new` becomes `assigned`; writes a `status` feed entry.
    fn assign(
        &self,
        number: i64,
        assignee: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<TicketDetail>;
    /// A technician reply (feed gets a `reply`) or an internal note (feed gets
    /// nothing).
    fn add_tech_message(
        &self,
        number: i64,
        kind: MessageKind,
        author: &str,
        body: &str,
        id: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<TicketDetail>;

    // Knowledge base.
    /// `Conflict` when the slug exists.
    fn create_article(
        &self,
        article: &ArticleRecordInput,
        now: OffsetDateTime,
    ) -> StoreResult<ArticleRecord>;
    /// Creates or replaces; bumps the version.
    fn put_article(
        &self,
        article: &ArticleRecordInput,
        now: OffsetDateTime,
    ) -> StoreResult<ArticleRecord>;
    /// `NotFound` for an unknown slug.
    fn unpublish_article(&self, slug: &str, now: OffsetDateTime) -> StoreResult<ArticleRecord>;
    /// Current version and every article with `version > since`.
    fn kb_changes(&self, since: i64) -> StoreResult<(i64, Vec<ArticleRecord>)>;

    // Announcements.
    fn create_announcement(
        &self,
        announcement: &NewAnnouncement,
        now: OffsetDateTime,
    ) -> StoreResult<AnnouncementRecord>;
    /// Sets `ends_at = now` unless it already ended; `NotFound` when unknown.
    fn end_announcement(&self, id: i64, now: OffsetDateTime) -> StoreResult<AnnouncementRecord>;
    /// Active at `now`, district-wide or for this school (and building when the
    /// announcement names one).
    fn active_announcements(
        &self,
        now: OffsetDateTime,
        school: Option<&str>,
        building: Option<&str>,
    ) -> StoreResult<Vec<AnnouncementRecord>>;

    // Operations.
    /// A consistent copy of the whole store at `dest`.
    fn backup(&self, dest: &Path) -> StoreResult<()>;
}

/// The current time, truncated to milliseconds (the store's resolution), so
/// an answer built from `now` equals one built from the stored row later.
pub fn now_utc() -> OffsetDateTime {
    truncate_ms(OffsetDateTime::now_utc())
}

/// Truncates to milliseconds.
pub fn truncate_ms(t: OffsetDateTime) -> OffsetDateTime {
    let ns = t.nanosecond();
    t.replace_nanosecond(ns - ns % 1_000_000).unwrap_or(t)
}

#[cfg(test)]
mod tests;
