//! Tickets, their messages and screenshots, and the per-device updates feed.

use super::{Inserted, StoreResult};
use handraise_wire::{Category, Scope, TicketStatus, Urgency};
use time::OffsetDateTime;
use uuid::Uuid;

/// A ticket to store. JSON columns are opaque strings to the store.
#[derive(Debug, Clone)]
pub struct NewTicketRecord {
    pub client_id: Uuid,
    pub device_id: Uuid,
    /// The status it starts in (the caller's rule: `new`).
    pub status: TicketStatus,
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

/// Decides, from tickets as they are inside the transaction, the changes to
/// write; an error aborts the whole write.
pub type Decide<'a> = dyn FnMut(&[TicketDetail]) -> StoreResult<Vec<TicketChange>> + 'a;

/// Tickets and the feed.
pub trait TicketStore {
    // Device side.
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

    // Technician side.
    /// Tickets in `status` (every status when `None`), newest first.
    fn list_tickets(&self, status: Option<TicketStatus>) -> StoreResult<Vec<TicketDetail>>;
    fn ticket_detail(&self, number: i64) -> StoreResult<Option<TicketDetail>>;
    /// In one transaction: reads the tickets `numbers` (`NotFound` when one
    /// is unknown), asks `decide` what to change and writes it. Returns the
    /// changed tickets afterwards, in the order decided.
    fn change_tickets(
        &self,
        numbers: &[i64],
        now: OffsetDateTime,
        decide: &mut Decide<'_>,
    ) -> StoreResult<Vec<TicketDetail>>;
}
