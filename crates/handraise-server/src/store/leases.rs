//! Leases: which server node runs a background job now, when several
//! nodes share one database.

use super::StoreResult;
use std::time::Duration;
use time::OffsetDateTime;

/// Named leases, each held by at most one holder (a node's random id) until
/// it expires.
pub trait LeaseStore {
    /// Takes lease `name` for `holder` until `now + ttl` when it is free,
    /// expired, or already `holder`'s (which renews it), in one statement;
    /// whether `holder` holds it now.
    fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> StoreResult<bool>;
    /// Gives lease `name` up when `holder` holds it (nothing otherwise).
    fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()>;
    /// Forgets every lease: for a database only one process serves (SQLite),
    /// whose previous process cannot hold anything any more.
    fn clear_leases(&self) -> StoreResult<()>;
}
