//! Announcements, "me too" reports and the tickets linked to them.

use super::tickets::{Decide, TicketDetail, TicketRecord};
use super::{DeviceRecord, Inserted, StoreResult};
use handraise_wire::{AnnouncementKind, Category};
use time::OffsetDateTime;
use uuid::Uuid;

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
}
