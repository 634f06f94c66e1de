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
    /// The ticket this one was merged into as a duplicate.
    pub merged_into: Option<i64>,
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

/// A "this fixed it" reported by a device for an article (idempotent by
/// `client_id`).
#[derive(Debug, Clone)]
pub struct NewDeflection {
    pub client_id: Uuid,
    pub slug: String,
    pub created_at: OffsetDateTime,
    pub received_at: OffsetDateTime,
}

/// A stored deflection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeflectionRecord {
    pub client_id: Uuid,
    pub slug: String,
    pub device_id: Uuid,
    pub received_at: OffsetDateTime,
}

/// A teacher's "me too" on an announcement (idempotent by `client_id`).
#[derive(Debug, Clone)]
pub struct NewMeToo {
    pub client_id: Uuid,
    pub announcement_id: i64,
    pub room: Option<String>,
    pub reporter_json: Option<String>,
    pub created_at: OffsetDateTime,
    pub received_at: OffsetDateTime,
}

/// "Me too" reports of one announcement from one room of one school.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeTooRoom {
    pub school: Option<String>,
    pub room: Option<String>,
    pub reports: i64,
    pub last_at: OffsetDateTime,
}

/// An announcement with what the list page shows around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncementSummary {
    pub announcement: AnnouncementRecord,
    pub me_too: i64,
    pub linked_tickets: i64,
}

/// The facts of one ticket that the dashboard, the knowledge-base
/// statistics and the CSV export are computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketFacts {
    pub number: i64,
    pub device_id: Uuid,
    pub hostname: Option<String>,
    pub school: Option<String>,
    pub building: Option<String>,
    pub room: Option<String>,
    pub category: Category,
    pub urgency: Urgency,
    pub scope: Scope,
    pub status: TicketStatus,
    pub summary: String,
    pub assignee: Option<String>,
    pub self_help_json: Option<String>,
    pub announcement_id: Option<i64>,
    pub received_at: OffsetDateTime,
    /// The first technician reply.
    pub first_response_at: Option<OffsetDateTime>,
    /// When a resolved or closed ticket last became so; `None` while open.
    pub resolved_at: Option<OffsetDateTime>,
    /// When the retention policy removed its screenshot and snapshot.
    pub media_purged_at: Option<OffsetDateTime>,
}

/// What a retention purge removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Tickets that lost a screenshot or a snapshot, ascending.
    pub tickets: Vec<i64>,
    pub screenshots: u64,
    pub screenshot_bytes: u64,
    pub snapshots: u64,
}

/// Days after which resolved and closed tickets lose their screenshots and
/// device snapshots.
pub const DEFAULT_RETENTION_DAYS: u32 = 365;

/// What a console user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Works tickets and sees devices.
    Technician,
    /// Also manages users, enrollment tokens, devices and the SLA policy.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Technician => "technician",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "technician" => Some(Role::Technician),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A console user. Every user has a technician record (`technician_name`),
/// the same record that technician API tokens and assignments name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub technician_id: i64,
    pub technician_name: String,
    pub created_at: OffsetDateTime,
    pub disabled: bool,
}

/// A user to create. `technician_name` is created if missing, or linked when
/// a technician of that name exists (made by `tech-token create`).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub role: Role,
    pub password_hash: String,
    pub technician_name: String,
}

/// A live console session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: UserRecord,
    pub csrf_token: String,
    pub expires_at: OffsetDateTime,
}

/// An enrollment token as listed to admins (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollTokenRecord {
    pub id: i64,
    pub label: String,
    pub created_at: OffsetDateTime,
    pub revoked: bool,
}

/// A device with what the devices page shows around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSummary {
    pub device: DeviceRecord,
    pub agent_version: Option<String>,
    pub open_tickets: i64,
}

/// Hours until a ticket is due, by impact. K-12 defaults: class-stopping or
/// building/district scope 4 h, room 8 h, individual 24 h.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaPolicy {
    /// Urgency `now` ("stopping my class right now").
    pub class_stopping_hours: u32,
    /// Scope `building` or `district`.
    pub wide_hours: u32,
    /// Scope `room`.
    pub room_hours: u32,
    /// Scope `me`.
    pub individual_hours: u32,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        Self {
            class_stopping_hours: 4,
            wide_hours: 4,
            room_hours: 8,
            individual_hours: 24,
        }
    }
}

impl SlaPolicy {
    /// Hours allowed for a ticket of this urgency and scope.
    pub fn hours_for(&self, urgency: Urgency, scope: Scope) -> u32 {
        if urgency == Urgency::Now {
            return self.class_stopping_hours;
        }
        match scope {
            Scope::Building | Scope::District => self.wide_hours,
            Scope::Room => self.room_hours,
            Scope::Me => self.individual_hours,
        }
    }
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

    /// Marks `duplicate` as merged into `into`: the duplicate is closed (its
    /// device's feed gets a `status` entry) and both tickets get an internal
    /// note by `author`. `Conflict` when merging a ticket into itself, into a
    /// ticket that is itself merged, or twice. Returns the duplicate.
    fn merge_ticket(
        &self,
        duplicate: i64,
        into: i64,
        author: &str,
        now: OffsetDateTime,
    ) -> StoreResult<TicketDetail>;

    // Console users and sessions.
    /// `Conflict` when the email is taken or the technician already has a user.
    fn create_user(&self, user: &NewUser, now: OffsetDateTime) -> StoreResult<UserRecord>;
    /// The user (case-insensitive email) and their password hash.
    fn user_by_email(&self, email: &str) -> StoreResult<Option<(UserRecord, String)>>;
    fn list_users(&self) -> StoreResult<Vec<UserRecord>>;
    /// Disables (ending every session) or re-enables a user; `NotFound` when unknown.
    fn set_user_disabled(
        &self,
        id: i64,
        disabled: bool,
        now: OffsetDateTime,
    ) -> StoreResult<UserRecord>;
    /// Every technician, by name.
    fn technicians(&self) -> StoreResult<Vec<Technician>>;
    fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf_token: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// The session if it exists, has not expired and its user is enabled.
    fn session(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<Option<SessionRecord>>;
    /// Deletes the session (and every expired one).
    fn delete_session(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<()>;

    // Administration.
    fn list_enroll_tokens(&self) -> StoreResult<Vec<EnrollTokenRecord>>;
    /// `NotFound` when unknown.
    fn revoke_enroll_token(&self, id: i64, now: OffsetDateTime) -> StoreResult<()>;
    /// Every device, most recently seen first.
    fn list_devices(&self) -> StoreResult<Vec<DeviceSummary>>;
    fn sla_policy(&self) -> StoreResult<SlaPolicy>;
    fn set_sla_policy(&self, policy: &SlaPolicy) -> StoreResult<()>;

    // Knowledge base, continued.
    fn article(&self, slug: &str) -> StoreResult<Option<ArticleRecord>>;
    /// Inserts the articles whose slug does not exist yet, in one
    /// transaction; existing ones (a district's edits) are left alone.
    /// Returns the slugs inserted.
    fn seed_articles(
        &self,
        articles: &[ArticleRecordInput],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<String>>;
    /// Idempotent on `client_id` (this device: `Existing`; another device:
    /// `Conflict`); `NotFound` for an unknown slug. Returns the article's
    /// deflection count.
    fn insert_deflection(
        &self,
        device_id: Uuid,
        deflection: &NewDeflection,
    ) -> StoreResult<Inserted<i64>>;
    fn deflections(&self) -> StoreResult<Vec<DeflectionRecord>>;

    // Announcements, continued.
    fn announcement(&self, id: i64) -> StoreResult<Option<AnnouncementRecord>>;
    /// Every announcement, newest first, with its counts.
    fn list_announcements(&self) -> StoreResult<Vec<AnnouncementSummary>>;
    /// Idempotent on `client_id`: a repeat from this device is `Existing`
    /// whatever the announcement's state; another device's id is a
    /// `Conflict`. A new one needs the announcement active at `received_at`
    /// and visible to `device` (as in `active_announcements`), else
    /// `NotFound`. Returns the announcement's number of reports.
    fn insert_me_too(&self, device: &DeviceRecord, me_too: &NewMeToo)
    -> StoreResult<Inserted<i64>>;
    /// Reports by school and room, most first.
    fn me_too_by_room(&self, announcement_id: i64) -> StoreResult<Vec<MeTooRoom>>;
    /// Links the tickets `numbers` to the announcement (`None` unlinks them), all or none:
    /// `NotFound` (and nothing changed) when the announcement or any ticket is unknown.
    fn link_tickets(
        &self,
        numbers: &[i64],
        announcement_id: Option<i64>,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Tickets linked to the announcement, oldest first.
    fn announcement_tickets(&self, announcement_id: i64) -> StoreResult<Vec<TicketRecord>>;
    /// Ends the announcement and, in the same transaction, sends `message`
    /// as a reply by `author` to every linked open ticket and resolves it
    /// (each device's feed gets the reply and the status). Returns the
    /// announcement and the tickets resolved.
    fn end_announcement_resolving(
        &self,
        id: i64,
        author: &str,
        message: &str,
        now: OffsetDateTime,
    ) -> StoreResult<(AnnouncementRecord, Vec<TicketDetail>)>;

    // Dashboard and retention.
    /// Every ticket's facts, by number.
    fn ticket_facts(&self) -> StoreResult<Vec<TicketFacts>>;
    fn retention_days(&self) -> StoreResult<u32>;
    fn set_retention_days(&self, days: u32) -> StoreResult<()>;
    /// Removes the screenshots and snapshots of tickets resolved or closed
    /// before `closed_before` (ticket text and history stay), in one
    /// transaction.
    fn purge_media(
        &self,
        closed_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<PurgeReport>;

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
