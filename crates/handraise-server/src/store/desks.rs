//! Help desks that tickets are forwarded to, and the forwarding outbox: one
//! row per forwarded ticket and one per teacher message on it, written in
//! the same transaction as the ticket or message they carry.

use super::records::{NewTeacherMessage, NewTicketRecord, TicketChange, TicketDetail};
use super::{Inserted, StoreResult};
use crate::store::Quota;
use crate::store::{MessageRecord, TicketRecord};
use time::OffsetDateTime;
use uuid::Uuid;

/// The kind of help desk, by its wire name. A new kind is a variant here,
/// its name in [`DeskKind::ALL`], and its client in `desk/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeskKind {
    /// Request Tracker 4.4/5 over REST2.
    Rt,
    /// Any desk that takes tickets by email: SMTP out, IMAP in.
    Email,
    /// osTicket's ticket API (create-only), replies by IMAP.
    OsTicket,
    /// A signed JSON POST per event: a notifier, never where a ticket is worked.
    Webhook,
}

impl DeskKind {
    pub const ALL: &[DeskKind] = &[
        DeskKind::Rt,
        DeskKind::Email,
        DeskKind::OsTicket,
        DeskKind::Webhook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeskKind::Rt => "rt",
            DeskKind::Email => "email",
            DeskKind::OsTicket => "osticket",
            DeskKind::Webhook => "webhook",
        }
    }

    /// Whether tickets can be forwarded there to be worked (a routing
    /// target, the default desk); a webhook only notifies.
    pub fn takes_tickets(self) -> bool {
        !matches!(self, DeskKind::Webhook)
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

/// What a desk needs beyond its URL, secret and queue, by kind (stored as
/// JSON; a field a kind does not use stays `None`). Never a secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeskOptions {
    /// email: the desk's email-to-ticket address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// email, osticket: HandRaise's own address (the desk answers it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The SMTP user (the desk's secret is its password); `None`: no auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_user: Option<String>,
    /// osticket: an SMTP server for teacher messages (email: the desk's URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_url: Option<String>,
    /// The IMAP mailbox replies are read from (`imap://` or `imaps://`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imap_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imap_user: Option<String>,
    /// The folder read (default `INBOX`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imap_folder: Option<String>,
}

/// A desk's credential. Never printed: `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct DeskSecret(pub String);

impl std::fmt::Debug for DeskSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeskSecret({} bytes)", self.0.len())
    }
}

/// A desk to add.
#[derive(Debug, Clone)]
pub struct NewDesk {
    pub kind: DeskKind,
    pub name: String,
    /// The desk's web base (for RT, without `/REST/2.0`).
    pub url: String,
    pub secret: DeskSecret,
    /// Where new tickets go (RT: the queue's name).
    pub queue: String,
    /// How often forwarded tickets are polled for replies.
    pub poll_secs: u32,
    pub options: DeskOptions,
    /// The IMAP mailbox's password, when the desk reads one.
    pub mailbox_secret: Option<DeskSecret>,
    pub created_at: OffsetDateTime,
}

/// A stored desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskRecord {
    pub id: i64,
    pub kind: DeskKind,
    pub name: String,
    pub url: String,
    pub secret: DeskSecret,
    pub queue: String,
    pub poll_secs: u32,
    pub options: DeskOptions,
    pub mailbox_secret: Option<DeskSecret>,
    pub enabled: bool,
    pub created_at: OffsetDateTime,
    pub last_success_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub last_error_at: Option<OffsetDateTime>,
}

/// A desk with its outbox counts, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskSummary {
    pub desk: DeskRecord,
    pub is_default: bool,
    /// Forwards (tickets and messages) waiting, delivered, given up on.
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
    /// Ticket forwards whose receipt was lost by a create-only desk.
    pub receipts_lost: i64,
    /// Mail in the desk's mailbox that answers no forwarded ticket, left there.
    pub unmatched_mail: i64,
}

/// A routing rule: tickets from `school`/`building` in `category` (each
/// `None` matches anything) go to desk `desk_id` (`None`: stay in HandRaise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRecord {
    pub id: i64,
    pub school: Option<String>,
    pub building: Option<String>,
    pub category: Option<handraise_wire::Category>,
    pub desk_id: Option<i64>,
}

/// Where an outbox item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardState {
    Queued,
    Sent,
    /// The desk refused it for good (its answer is in `last_error`).
    Failed,
}

impl ForwardState {
    pub fn as_str(self) -> &'static str {
        match self {
            ForwardState::Queued => "queued",
            ForwardState::Sent => "sent",
            ForwardState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(ForwardState::Queued),
            "sent" => Some(ForwardState::Sent),
            "failed" => Some(ForwardState::Failed),
            _ => None,
        }
    }
}

/// A ticket's forward to a desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardRecord {
    pub ticket_number: i64,
    pub desk_id: i64,
    pub state: ForwardState,
    /// The desk's id of the ticket (RT's number) once known.
    pub external_id: Option<String>,
    pub attempts: u32,
    pub next_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
    /// The desk's last history entry already read back (RT transaction id).
    pub last_seen: i64,
    pub polled_at: Option<OffsetDateTime>,
    /// A request that may create the ticket in the desk went out and its
    /// outcome is not recorded yet (set by `hold_forward`).
    pub in_flight: bool,
    /// A create-only desk may hold a second copy: a create went out and
    /// its answer never came.
    pub receipt_lost: bool,
}

/// A teacher message's forward to the desk of its ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageForwardRecord {
    pub message_id: Uuid,
    pub ticket_number: i64,
    pub state: ForwardState,
    /// The desk's id of the entry it made (RT transaction id) once known.
    pub external_id: Option<String>,
    pub attempts: u32,
    pub next_at: OffsetDateTime,
    pub last_error: Option<String>,
}

/// What the outcome of one delivery attempt writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Delivered: the desk's id.
    Sent { external_id: String },
    /// Not now: try again at `next_at`.
    Retry {
        error: String,
        next_at: OffsetDateTime,
    },
    /// Refused for good.
    Failed { error: String },
}

/// A ticket forward and what delivering it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ForwardJob {
    pub forward: ForwardRecord,
    pub detail: TicketDetail,
}

/// A message forward and what delivering it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageJob {
    pub forward: MessageForwardRecord,
    pub message: MessageRecord,
    pub ticket: TicketRecord,
    pub desk_id: i64,
    /// The desk's id of the ticket; `None` while the ticket is not delivered.
    pub ticket_external_id: Option<String>,
}

/// Desks and the forwarding outbox.
pub trait DeskStore {
    /// Adds a desk; the first desk becomes the default unless an admin
    /// already chose (even "none"). Returns its id.
    fn add_desk(&self, desk: &NewDesk) -> StoreResult<i64>;
    fn desk(&self, id: i64) -> StoreResult<Option<DeskRecord>>;
    /// Every desk, by id (without counts: cheap).
    fn desks(&self) -> StoreResult<Vec<DeskRecord>>;
    /// Every desk with its counts, by id.
    fn list_desks(&self) -> StoreResult<Vec<DeskSummary>>;
    /// `NotFound` for an unknown id.
    fn set_desk_enabled(&self, id: i64, enabled: bool) -> StoreResult<()>;
    /// The default desk (`None`: tickets stay in HandRaise). `NotFound` for
    /// an unknown id.
    fn set_default_desk(&self, id: Option<i64>) -> StoreResult<()>;
    fn default_desk(&self) -> StoreResult<Option<DeskRecord>>;
    /// Adds a routing rule after the others (its `id` is ignored); its id.
    /// `NotFound` when it names an unknown desk.
    fn add_route(&self, route: &RouteRecord, now: OffsetDateTime) -> StoreResult<i64>;
    /// The routing rules in the order they are tried.
    fn routes(&self) -> StoreResult<Vec<RouteRecord>>;
    /// `NotFound` for an unknown id.
    fn remove_route(&self, id: i64) -> StoreResult<()>;
    /// Records a desk's last success (`error` `None`) or failure.
    fn note_desk_result(
        &self,
        id: i64,
        error: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Inserts a ticket as `insert_ticket` does and, when it is new and
    /// `forward` names an enabled desk, queues its forward there (due at the
    /// time given) in the same transaction.
    fn insert_ticket_forwarded(
        &self,
        ticket: &NewTicketRecord,
        forward: Option<(i64, OffsetDateTime)>,
        quota: &Quota<'_>,
    ) -> StoreResult<Inserted<TicketRecord>>;
    /// Inserts a teacher message as `insert_teacher_message` does and, when
    /// it is new and its ticket is forwarded, queues it for that desk in the
    /// same transaction.
    fn insert_teacher_message_forwarded(
        &self,
        device_id: Uuid,
        ticket_client_id: Uuid,
        message: &NewTeacherMessage,
        quota: &Quota<'_>,
    ) -> StoreResult<Inserted<MessageRecord>>;

    /// The forward of ticket `number`, if it was forwarded.
    fn forward_of(&self, number: i64) -> StoreResult<Option<ForwardRecord>>;
    /// Queued ticket forwards to enabled desks due at `now`, oldest first.
    fn due_forwards(&self, now: OffsetDateTime, limit: usize) -> StoreResult<Vec<ForwardJob>>;
    /// Queued message forwards to enabled desks due at `now` whose ticket
    /// was delivered, oldest first.
    fn due_message_forwards(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> StoreResult<Vec<MessageJob>>;
    /// Holds a ticket forward (not due before `until`) while a request that
    /// may create something in the desk is on its way, and marks it in
    /// flight until its attempt is recorded.
    fn hold_forward(&self, number: i64, until: OffsetDateTime) -> StoreResult<()>;
    /// As [`DeskStore::hold_forward`], for a message forward.
    fn hold_message_forward(&self, message_id: Uuid, until: OffsetDateTime) -> StoreResult<()>;
    fn record_forward_attempt(
        &self,
        number: i64,
        attempt: &Attempt,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    fn record_message_forward_attempt(
        &self,
        message_id: Uuid,
        attempt: &Attempt,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Queues again what the desk refused for ticket `number` (its forward
    /// and its messages), due at `now`. `NotFound` when nothing was refused.
    fn retry_forward(&self, number: i64, now: OffsetDateTime) -> StoreResult<()>;
    /// Takes ticket `number` back into HandRaise: its forward and messages'
    /// are removed. `NotFound` when not forwarded; `Conflict` once the desk
    /// has it.
    fn skip_forward(&self, number: i64) -> StoreResult<()>;
    /// Delivered forwards of desk `desk_id` to poll at `now`: not polled
    /// for `poll_secs`, their ticket not closed, and no message of theirs
    /// still waiting to go out.
    fn forwards_to_poll(
        &self,
        desk_id: i64,
        now: OffsetDateTime,
        limit: usize,
    ) -> StoreResult<Vec<ForwardRecord>>;
    /// Notes on ticket `number`'s forward that a create-only desk may hold
    /// a second copy of it (a receipt was lost).
    fn flag_receipt_lost(&self, number: i64) -> StoreResult<()>;
    /// The forward of the ticket whose client id is `client_id`, if it was
    /// forwarded.
    fn forward_by_client_id(&self, client_id: Uuid) -> StoreResult<Option<ForwardRecord>>;
    /// Records mail `message_id` read from desk `desk_id`'s mailbox, once:
    /// `false` when it was recorded before (nothing is written). With a
    /// ticket, `change` is written to it in the same transaction; without,
    /// the mail answers no forwarded ticket and is counted as unmatched.
    fn record_desk_mail(
        &self,
        desk_id: i64,
        message_id: &str,
        ticket: Option<(i64, &TicketChange)>,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// The desk's entries ids of `number` that HandRaise made itself.
    fn own_desk_entries(&self, number: i64) -> StoreResult<Vec<String>>;
    /// In one transaction: writes `change` (when not empty) and moves the
    /// forward's `last_seen` to `seen`, noting the poll time.
    fn apply_desk_history(
        &self,
        number: i64,
        change: &TicketChange,
        seen: i64,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
}
