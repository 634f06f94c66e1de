//! Announcements, "me too" reports and the tickets linked to them.

use super::records::*;
use super::tickets::Decide;
use super::{Inserted, StoreResult};
use time::OffsetDateTime;

/// Announcements.
pub trait AnnouncementStore {
    fn create_announcement(
        &self,
        announcement: &NewAnnouncement,
        now: OffsetDateTime,
    ) -> StoreResult<AnnouncementRecord>;
    fn announcement(&self, id: i64) -> StoreResult<Option<AnnouncementRecord>>;
    /// Every announcement, newest first, with its counts.
    fn list_announcements(&self) -> StoreResult<Vec<AnnouncementSummary>>;
    /// Active at `now`, district-wide or for this school (and building when the
    /// announcement names one).
    fn active_announcements(
        &self,
        now: OffsetDateTime,
        school: Option<&str>,
        building: Option<&str>,
    ) -> StoreResult<Vec<AnnouncementRecord>>;
    /// In one transaction: sets `ends_at = now` unless it already ended,
    /// hands the linked tickets to `decide` and writes the changes it
    /// returns. `NotFound` when unknown. Returns the announcement and the
    /// changed tickets.
    fn end_announcement(
        &self,
        id: i64,
        now: OffsetDateTime,
        decide: &mut Decide<'_>,
    ) -> StoreResult<(AnnouncementRecord, Vec<TicketDetail>)>;
    /// Idempotent on `client_id`: a repeat from this device is `Existing`
    /// whatever the announcement's state; another device's id is a
    /// `Conflict`. A new one needs the announcement active at `received_at`
    /// and visible to `device` (as in `active_announcements`), else
    /// `NotFound`. One per device and announcement (a unique index): another
    /// client id from the same device is `Existing` and not stored. Returns
    /// the announcement's number of reports.
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
}
