//! Figures the operations read: the counts the monitoring scrapes (in one go
//! at each scrape), and the clock skews `doctor` checks.

use super::StoreResult;
use handraise_wire::{Category, TicketStatus};
use time::OffsetDateTime;

/// Counts of the moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gauges {
    /// Tickets by status and category (pairs with none are left out).
    pub tickets: Vec<(TicketStatus, Category, u64)>,
    /// Enrolled devices that are not revoked.
    pub devices_enrolled: u64,
    /// Of those, the ones seen since the time asked for.
    pub devices_seen: u64,
    /// The database's size in bytes (its pages, free ones included).
    pub database_bytes: u64,
}

/// Read-only figures for the operations: `/metrics` and `doctor`.
pub trait GaugeStore {
    /// The counts now; `seen_since` bounds [`Gauges::devices_seen`].
    fn gauges(&self, seen_since: OffsetDateTime) -> StoreResult<Gauges>;
    /// The clock skew (device minus server, seconds) each device last
    /// reported with a ticket received since `since`, by device id.
    fn clock_skews(&self, since: OffsetDateTime) -> StoreResult<Vec<(String, i64)>>;
}
