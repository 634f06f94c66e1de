//! Tickets, their messages and screenshots, and the per-device updates feed.

use super::records::*;
use super::{Inserted, StoreResult, utc_day};
use handraise_wire::TicketStatus;
use time::OffsetDateTime;
use uuid::Uuid;

/// Decides, from tickets as they are inside the transaction, the changes to
/// write; an error aborts the whole write.
pub type Decide<'a> = dyn FnMut(&[TicketDetail]) -> StoreResult<Vec<TicketChange>> + 'a;

/// Tickets and the feed.
pub trait TicketStore {
    // Device side.
    /// Idempotent on `client_id`: the same device gets `Existing` and nothing
    /// changes (nor is counted); another device's client id is a `Conflict`.
    /// A new ticket counts against the device's `quota` ([`QuotaKind::Tickets`]);
    /// `OverQuota` when refused.
    fn insert_ticket_within(
        &self,
        ticket: &NewTicketRecord,
        quota: &Quota<'_>,
    ) -> StoreResult<Inserted<TicketRecord>>;
    /// [`insert_ticket_within`](Self::insert_ticket_within) without a limit,
    /// counted on the day it was received.
    fn insert_ticket(&self, ticket: &NewTicketRecord) -> StoreResult<Inserted<TicketRecord>> {
        let quota = Quota::unlimited(utc_day(ticket.received_at));
        self.insert_ticket_within(ticket, &quota)
    }
    /// The ticket if it belongs to `device_id`.
    fn device_ticket(&self, device_id: Uuid, client_id: Uuid) -> StoreResult<Option<TicketRecord>>;
    /// Messages of a ticket, oldest first; notes only when asked for.
    fn messages(&self, number: i64, include_notes: bool) -> StoreResult<Vec<MessageRecord>>;
    /// Idempotent on the message id (a repeat is not counted). `NotFound`
    /// when the ticket is not this device's; `Conflict` when the id was used
    /// elsewhere; `OverQuota` when `quota` refuses a new one
    /// ([`QuotaKind::Messages`]).
    fn insert_teacher_message_within(
        &self,
        device_id: Uuid,
        ticket_client_id: Uuid,
        message: &NewTeacherMessage,
        quota: &Quota<'_>,
    ) -> StoreResult<Inserted<MessageRecord>>;
    /// [`insert_teacher_message_within`](Self::insert_teacher_message_within)
    /// without a limit.
    fn insert_teacher_message(
        &self,
        device_id: Uuid,
        ticket_client_id: Uuid,
        message: &NewTeacherMessage,
    ) -> StoreResult<Inserted<MessageRecord>> {
        let quota = Quota::unlimited(utc_day(message.received_at));
        self.insert_teacher_message_within(device_id, ticket_client_id, message, &quota)
    }
    /// Stores (or replaces) the screenshot of this device's ticket; returns
    /// the ticket number. `NotFound` when the ticket is not this device's.
    /// Its bytes count against `quota` ([`QuotaKind::ScreenshotBytes`]),
    /// unless they are the very image already stored (a repeated upload);
    /// `OverQuota` when refused.
    fn put_screenshot_within(
        &self,
        device_id: Uuid,
        shot: &NewScreenshot<'_>,
        quota: &Quota<'_>,
    ) -> StoreResult<i64>;
    /// [`put_screenshot_within`](Self::put_screenshot_within) without a limit.
    fn put_screenshot(&self, device_id: Uuid, shot: &NewScreenshot<'_>) -> StoreResult<i64> {
        let quota = Quota::unlimited(utc_day(shot.uploaded_at));
        self.put_screenshot_within(device_id, shot, &quota)
    }
    fn screenshot(&self, number: i64) -> StoreResult<Option<(String, Vec<u8>)>>;
    /// Forgets what devices sent on UTC days before `day` (their quota
    /// counts); returns how many device-days were forgotten.
    fn forget_usage_before(&self, day: i64) -> StoreResult<usize>;
    /// Feed entries of this device with `seq > after`, oldest first.
    fn updates(&self, device_id: Uuid, after: i64, limit: usize) -> StoreResult<Vec<FeedEntry>>;

    // Technician side.
    /// A page of tickets as `query` asks, with what a list shows: their
    /// `messages` are left empty (read one ticket for them).
    fn ticket_page(&self, query: &TicketQuery) -> StoreResult<Vec<TicketDetail>>;
    /// Tickets per status, and the schools and buildings that filed tickets.
    fn ticket_facets(&self) -> StoreResult<TicketFacets>;
    /// Every ticket in `status` (every status when `None`), newest first,
    /// without messages: for tools and tests, not for pages.
    fn list_tickets(&self, status: Option<TicketStatus>) -> StoreResult<Vec<TicketDetail>> {
        self.ticket_page(&TicketQuery {
            filter: TicketFilter {
                statuses: status.into_iter().collect(),
                ..TicketFilter::default()
            },
            order: TicketOrder::Newest,
            before: None,
            offset: 0,
            limit: usize::MAX,
        })
    }
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
