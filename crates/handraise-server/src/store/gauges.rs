//! Figures the monitoring scrapes: counts over the whole store, read in one
//! go at each scrape.

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

/// Read-only counts for `/metrics`.
pub trait GaugeStore {
    /// The counts now; `seen_since` bounds [`Gauges::devices_seen`].
    fn gauges(&self, seen_since: OffsetDateTime) -> StoreResult<Gauges>;
}
