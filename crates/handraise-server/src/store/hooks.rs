//! The health of every desk's outbox (what the admin console shows), and
//! webhooks: desks of kind `webhook` (notifiers, never a ticket's system of
//! record) and their durable outbox of events. Events are derived from what
//! is already committed (tickets, teacher messages, "me too"s) behind a
//! cursor per webhook, and the cursor moves in the same transaction as the
//! events it produced, so none is lost to a crash and none made twice.

use super::StoreResult;
use super::desks::{Attempt, ForwardState, NewDesk};
use super::records::{AnnouncementRecord, MessageRecord, TicketDetail};
use time::OffsetDateTime;

/// A webhook desk's own settings and cursors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRecord {
    pub desk_id: i64,
    /// An outage's "me too" count that makes an event when reached.
    pub me_too_threshold: u32,
    /// The last ticket number already turned into an event.
    pub ticket_cursor: i64,
    /// The last message (row id) already looked at.
    pub message_cursor: i64,
}

/// What happened since a webhook's cursors, for the service to turn into events.
#[derive(Debug, Clone, PartialEq)]
pub struct HookSources {
    /// Tickets after the ticket cursor, oldest first.
    pub tickets: Vec<TicketDetail>,
    /// Teacher messages after the message cursor, with their row id and ticket.
    pub messages: Vec<(i64, MessageRecord, TicketDetail)>,
    /// Active announcements whose "me too" count reached the threshold and
    /// that have no event with the given key prefix yet, with the count.
    pub me_too: Vec<(AnnouncementRecord, i64)>,
}

/// An event to queue for a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHookEvent {
    /// Unique per webhook: what the receiver dedupes on.
    pub key: String,
    /// `ticket.new`, `ticket.urgent`, `ticket.teacher_reply`, `outage.me_too`.
    pub kind: String,
    /// The JSON body, fixed when the event is made (the same on every retry).
    pub body: String,
    pub created_at: OffsetDateTime,
}

/// A queued, sent or failed webhook event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookEventRecord {
    pub id: i64,
    pub desk_id: i64,
    pub key: String,
    pub kind: String,
    pub body: String,
    pub state: ForwardState,
    pub attempts: u32,
    pub next_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}

/// Counts of a webhook's outbox, and its oldest waiting event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HookCounts {
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
    pub oldest_queued: Option<OffsetDateTime>,
}

/// One ticket or teacher message waiting for a desk, or refused by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub ticket_number: i64,
    pub summary: String,
    /// A teacher message's id; `None` for the ticket itself.
    pub message_id: Option<uuid::Uuid>,
    pub state: ForwardState,
    pub attempts: u32,
    pub next_at: OffsetDateTime,
    pub last_error: Option<String>,
}

/// A forwarding desk's outbox as its health shows: the oldest item waiting
/// and the items waiting or refused, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeskOutbox {
    pub oldest_queued: Option<OffsetDateTime>,
    pub items: Vec<OutboxItem>,
}

/// Webhook desks and their outbox; the health of every desk's outbox.
pub trait HookStore {
    /// Desk `desk_id`'s forwarding outbox: its oldest waiting item and at
    /// most `limit` items waiting or refused (tickets and messages).
    fn desk_outbox(&self, desk_id: i64, limit: usize) -> StoreResult<DeskOutbox>;
    /// Adds a webhook desk (never the default desk) with its settings, its
    /// cursors at the newest ticket and message (what came before is not
    /// announced), in one transaction. Its id.
    fn add_webhook(&self, desk: &NewDesk, me_too_threshold: u32) -> StoreResult<i64>;
    /// Every webhook of an enabled desk.
    fn webhooks(&self) -> StoreResult<Vec<WebhookRecord>>;
    /// What happened after `hook`'s cursors (at most `limit` tickets and
    /// messages); announcements active at `now` whose count reached the
    /// threshold and have no event keyed `me_too_key_prefix || id`.
    fn hook_sources(
        &self,
        hook: &WebhookRecord,
        me_too_key_prefix: &str,
        now: OffsetDateTime,
        limit: usize,
    ) -> StoreResult<HookSources>;
    /// In one transaction: queues `events` (due at their `created_at`; a key
    /// already queued is left alone) and moves the cursors forward.
    fn append_hook_events(
        &self,
        desk_id: i64,
        events: &[NewHookEvent],
        ticket_cursor: i64,
        message_cursor: i64,
    ) -> StoreResult<()>;
    /// Queued events of enabled webhook desks due at `now`, oldest first.
    fn due_hook_events(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> StoreResult<Vec<HookEventRecord>>;
    fn record_hook_attempt(
        &self,
        id: i64,
        attempt: &Attempt,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    fn hook_counts(&self, desk_id: i64) -> StoreResult<HookCounts>;
    /// A desk's events in `state`, oldest first.
    fn hook_events(
        &self,
        desk_id: i64,
        state: ForwardState,
        limit: usize,
    ) -> StoreResult<Vec<HookEventRecord>>;
    /// Queues a failed event again, due at `now`. `NotFound` unless it failed.
    fn retry_hook_event(&self, id: i64, now: OffsetDateTime) -> StoreResult<()>;
    /// Drops a queued or failed event for good (its key is not made again).
    /// `NotFound` unless it is one.
    fn skip_hook_event(&self, id: i64) -> StoreResult<()>;
}
