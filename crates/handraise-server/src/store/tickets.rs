//! Tickets, their messages and screenshots, and the per-device updates feed.

use super::records::*;
use super::{Inserted, StoreResult};
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
    fn put_screenshot(&self, device_id: Uuid, shot: &NewScreenshot<'_>) -> StoreResult<i64>;
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
