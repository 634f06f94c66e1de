//! Every record the store reads and writes, by domain: plain values, not
//! wire types (the API layer converts at the edge). Choice enums are the
//! wire crate's.

use handraise_wire::{AnnouncementKind, Category, EnrollRefusal, Scope, TicketStatus, Urgency};
use time::OffsetDateTime;
use uuid::Uuid;

// ---- Devices -----------------------------------------------------------

/// A device as the server knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: Uuid,
    pub hostname: String,
    /// Where it is, as enrolled; announcements are scoped by these.
    pub school: Option<String>,
    pub building: Option<String>,
    pub os: Option<String>,
    pub model: Option<String>,
    pub enrolled_at: OffsetDateTime,
    /// Written at most once a minute.
    pub last_seen_at: Option<OffsetDateTime>,
    pub revoked: bool,
    /// The agent's hashed machine identifier, when it sent one.
    pub machine_id: Option<String>,
    /// An admin allowed this (revoked) device's computer to enroll again.
    pub reenroll_allowed: bool,
}

/// A device to enroll.
#[derive(Debug, Clone)]
pub struct NewDevice {
    pub id: Uuid,
    /// SHA-256 of the device secret; the secret itself is never stored.
    pub secret_hash: String,
    pub hostname: String,
    pub school: Option<String>,
    pub building: Option<String>,
    pub os: Option<String>,
    pub model: Option<String>,
    /// The agent's version at enrollment.
    pub agent_version: Option<String>,
    /// The agent's hashed machine identifier, when it sent one.
    pub machine_id: Option<String>,
    pub enrolled_at: OffsetDateTime,
}

impl NewDevice {
    /// A device known by its id, secret hash and hostname only; the caller
    /// fills in what else it reported.
    pub fn new(
        id: Uuid,
        secret_hash: String,
        hostname: String,
        enrolled_at: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            secret_hash,
            hostname,
            school: None,
            building: None,
            os: None,
            model: None,
            agent_version: None,
            machine_id: None,
            enrolled_at,
        }
    }
}

/// What an enrollment is decided from, read inside its transaction.
#[derive(Debug, Clone)]
pub struct EnrollContext {
    /// The token presented; `None` when no token has that hash.
    pub token: Option<EnrollTokenRecord>,
    /// Devices enrolled before from the same computer (same machine id), newest first;
    /// empty when the agent sent no machine id.
    pub same_machine: Vec<DeviceRecord>,
}

/// An enrollment the service decided: the device to store, and the device of the same
/// computer it follows (a re-enrollment), if any.
#[derive(Debug, Clone)]
pub struct NewEnrollment {
    pub device: NewDevice,
    pub previous_device: Option<Uuid>,
}

/// Decides, from [`EnrollContext`], the enrollment to write or why it is refused.
pub type DecideEnrollment<'a> =
    dyn FnMut(&EnrollContext) -> Result<NewEnrollment, EnrollRefusal> + 'a;

/// A computer that enrolled again: a new device with the machine id of an earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReenrollmentRecord {
    pub machine_id: String,
    pub previous_device: Uuid,
    pub previous_hostname: String,
    pub previous_revoked: bool,
    pub device: Uuid,
    pub hostname: String,
    pub at: OffsetDateTime,
    /// The label of the enrollment token used.
    pub token_label: Option<String>,
}

/// A device with what the devices page shows around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSummary {
    pub device: DeviceRecord,
    pub agent_version: Option<String>,
    pub open_tickets: i64,
}

// ---- Tickets, messages and the feed ------------------------------------

/// A ticket to store. JSON columns are opaque strings to the store.
#[derive(Debug, Clone)]
pub struct NewTicketRecord {
    pub client_id: Uuid,
    pub device_id: Uuid,
    /// The status it starts in (the caller's rule: `new`).
    pub status: TicketStatus,
    /// Device clock when filed; server clock when received.
    pub created_at: OffsetDateTime,
    pub received_at: OffsetDateTime,
    pub category: Category,
    pub urgency: Urgency,
    pub scope: Scope,
    pub summary: String,
    pub details: Option<String>,
    pub room: Option<String>,
    /// JSON of the wire reporter, device snapshot and self-help steps.
    pub reporter_json: Option<String>,
    pub snapshot_json: Option<String>,
    pub self_help_json: Option<String>,
    /// Queued on the device while the server was unreachable.
    pub offline_at_submit: bool,
    /// The announcement the teacher filed it under, if any.
    pub announcement_id: Option<i64>,
}

/// A stored ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketRecord {
    /// The server's number for it; the device knows it by `client_id`.
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
    /// The technician working it.
    pub assignee: Option<String>,
    /// Times: filed (device clock), received and last changed (server clock).
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

/// A screenshot of a device's ticket to store (or replace).
#[derive(Debug, Clone, Copy)]
pub struct NewScreenshot<'a> {
    pub ticket_client_id: Uuid,
    /// `image/png` or `image/jpeg`, checked against the bytes by the caller.
    pub content_type: &'a str,
    pub bytes: &'a [u8],
    pub uploaded_at: OffsetDateTime,
}

/// A technician reply or internal note to store, its id made by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTechMessage {
    pub id: Uuid,
    pub kind: MessageKind,
    pub author: String,
    pub body: String,
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

/// An entry to add to the feed of the ticket's device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedWrite {
    Status {
        status: TicketStatus,
        assignee: Option<String>,
    },
    /// A reply written in the same change (by its id).
    Reply { message_id: Uuid },
}

/// What one change does to one ticket, decided by the caller; the store
/// writes exactly this. Any non-empty change sets `updated_at`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketChange {
    pub number: i64,
    /// The new status.
    pub status: Option<TicketStatus>,
    /// The new assignee by technician name (created if missing); `Some(None)`
    /// unassigns.
    pub assignee: Option<Option<String>>,
    pub messages: Vec<NewTechMessage>,
    /// Records the ticket as a duplicate of this one (`Conflict` when it
    /// already is one).
    pub merged_into: Option<i64>,
    pub feed: Vec<FeedWrite>,
}

impl TicketChange {
    /// A change of ticket `number` that does nothing yet.
    pub fn of(number: i64) -> Self {
        Self {
            number,
            ..Self::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.assignee.is_none()
            && self.messages.is_empty()
            && self.merged_into.is_none()
            && self.feed.is_empty()
    }
}

// ---- Knowledge base ----------------------------------------------------

/// A knowledge-base article to create or replace.
#[derive(Debug, Clone)]
pub struct ArticleRecordInput {
    pub slug: String,
    pub title: String,
    /// Markdown.
    pub body: String,
    /// What self-help matches it by.
    pub categories: Vec<Category>,
    pub keywords: Vec<String>,
    /// Unpublished articles stay in the store but leave agents' caches.
    pub published: bool,
}

/// A stored knowledge-base article: the input and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleRecord {
    pub slug: String,
    pub title: String,
    pub body: String,
    pub categories: Vec<Category>,
    pub keywords: Vec<String>,
    pub published: bool,
    /// The knowledge base's version at the article's last change.
    pub version: i64,
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

// ---- Announcements -----------------------------------------------------

/// An announcement to create.
#[derive(Debug, Clone)]
pub struct NewAnnouncement {
    pub kind: AnnouncementKind,
    pub title: String,
    pub message: String,
    /// Who sees it: the whole district when `None`, else this school (and
    /// building, when named).
    pub school: Option<String>,
    pub building: Option<String>,
    /// The category it concerns, if one.
    pub category: Option<Category>,
    /// Shown from `starts_at` until `ends_at` (open-ended when `None`).
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

/// A teacher's "me too" on an announcement (idempotent by `client_id`).
#[derive(Debug, Clone)]
pub struct NewMeToo {
    pub client_id: Uuid,
    pub announcement_id: i64,
    pub room: Option<String>,
    /// JSON of the wire `Reporter`, opaque to the store.
    pub reporter_json: Option<String>,
    /// Device clock when sent; server clock when received.
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

// ---- Technicians, users and sessions -----------------------------------

/// A technician account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Technician {
    pub id: i64,
    pub name: String,
}

/// A technician API token as listed (the token itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TechTokenRecord {
    pub id: i64,
    pub user_id: i64,
    pub user_email: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    /// `None`: never expires (tokens made before tokens could expire).
    pub expires_at: Option<OffsetDateTime>,
    pub revoked: bool,
}

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
    /// The linked technician record.
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

/// A console session to store: the hash of its cookie token, its user, its
/// CSRF token and when it ends.
#[derive(Debug, Clone, Copy)]
pub struct NewSessionRecord<'a> {
    pub token_hash: &'a str,
    pub user_id: i64,
    pub csrf_token: &'a str,
    pub expires_at: OffsetDateTime,
}

/// A technician API token to store: its hash, whose it is and when it ends.
#[derive(Debug, Clone, Copy)]
pub struct NewTechTokenRecord<'a> {
    pub token_hash: &'a str,
    pub user_id: i64,
    pub expires_at: Option<OffsetDateTime>,
}

/// A live console session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: UserRecord,
    pub csrf_token: String,
    pub expires_at: OffsetDateTime,
}

// ---- Administration ----------------------------------------------------

/// An enrollment token to store (its hash only).
#[derive(Debug, Clone, Copy)]
pub struct NewEnrollToken<'a> {
    pub token_hash: &'a str,
    pub label: &'a str,
    /// The school and building every device it enrolls gets, whatever the device says.
    pub school: Option<&'a str>,
    pub building: Option<&'a str>,
    /// `None`: never expires.
    pub expires_at: Option<OffsetDateTime>,
    /// `None`: no limit.
    pub max_uses: Option<u32>,
}

impl<'a> NewEnrollToken<'a> {
    /// A token bound to no place, never expiring, without a use limit.
    pub fn new(token_hash: &'a str, label: &'a str) -> Self {
        NewEnrollToken {
            token_hash,
            label,
            school: None,
            building: None,
            expires_at: None,
            max_uses: None,
        }
    }
}

/// An enrollment token as listed to admins (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollTokenRecord {
    pub id: i64,
    pub label: String,
    pub school: Option<String>,
    pub building: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub max_uses: Option<u32>,
    /// Devices it enrolled (counted since enrollments were recorded).
    pub uses: u32,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked: bool,
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

/// Days after which resolved and closed tickets lose their screenshots and
/// device snapshots.
pub const DEFAULT_RETENTION_DAYS: u32 = 365;

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
    /// JSON of the self-help steps the teacher tried.
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

/// Which of a device's daily quotas a write counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaKind {
    Tickets,
    Messages,
    ScreenshotBytes,
}

/// How a device's write is counted: on which UTC day, and whether the day's
/// total after it is admitted. The service decides (`service::intake`); the
/// store counts and asks inside the write's transaction, and refuses with
/// [`StoreError::OverQuota`](super::StoreError::OverQuota) before writing.
#[derive(Clone, Copy)]
pub struct Quota<'a> {
    /// Days since 1970-01-01, UTC.
    pub day: i64,
    /// Whether the day's total of a kind may become this much.
    pub admit: &'a dyn Fn(QuotaKind, u64) -> bool,
}

impl std::fmt::Debug for Quota<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quota")
            .field("day", &self.day)
            .finish_non_exhaustive()
    }
}

impl Quota<'static> {
    /// Counts without limit (tools and tests that write as a device).
    pub fn unlimited(day: i64) -> Self {
        fn always(_: QuotaKind, _: u64) -> bool {
            true
        }
        Quota {
            day,
            admit: &always,
        }
    }
}

// ---- Ticket lists --------------------------------------------------------

/// Which tickets a list shows; every condition is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    /// Any of these statuses; every status when empty.
    pub statuses: Vec<TicketStatus>,
    pub category: Option<Category>,
    /// The device's school, exactly.
    pub school: Option<String>,
    /// The device's building, exactly.
    pub building: Option<String>,
    /// `Some(None)`: unassigned; `Some(Some(name))`: that technician's.
    pub assignee: Option<Option<String>>,
}

/// The order of a ticket list.
#[derive(Debug, Clone, Copy)]
pub enum TicketOrder {
    /// Newest first (by number).
    Newest,
    /// By this rank of urgency and scope, highest first, then oldest first.
    Ranked(fn(Urgency, Scope) -> u32),
}

/// A page of a ticket list: the tickets matching `filter` in `order`,
/// numbered below `before` (when given), skipping `offset`, at most `limit`.
#[derive(Debug, Clone)]
pub struct TicketQuery {
    pub filter: TicketFilter,
    pub order: TicketOrder,
    pub before: Option<i64>,
    pub offset: usize,
    pub limit: usize,
}

/// What the queue's filters offer: tickets per status, and the schools and
/// buildings of devices that filed tickets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFacets {
    pub by_status: Vec<(TicketStatus, usize)>,
    pub schools: Vec<String>,
    pub buildings: Vec<String>,
}

impl TicketFacets {
    /// How many tickets are in `status`.
    pub fn count(&self, status: TicketStatus) -> usize {
        self.by_status
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    }
}

/// What a database copy holds, checked without changing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyFacts {
    pub schema_version: u32,
    /// Rows of the main tables, by table name.
    pub counts: Vec<(String, u64)>,
}
