//! Administration: enrollment tokens, settings (the SLA policy, the
//! retention policy), the facts statistics are computed from, the media
//! purge and backups.

use super::StoreResult;
use super::records::*;
use std::path::Path;
use time::OffsetDateTime;

/// Administration and operations.
pub trait AdminStore {
    /// Stores a token; its id.
    fn create_enroll_token(
        &self,
        token: &NewEnrollToken<'_>,
        now: OffsetDateTime,
    ) -> StoreResult<i64>;
    /// Every enrollment token, newest first, with its uses.
    fn list_enroll_tokens(&self) -> StoreResult<Vec<EnrollTokenRecord>>;
    /// When each token enrolled a device: (token id, time), by token then time.
    fn enrollment_times(&self) -> StoreResult<Vec<(i64, OffsetDateTime)>>;
    /// `NotFound` when unknown.
    fn revoke_enroll_token(&self, id: i64, now: OffsetDateTime) -> StoreResult<()>;
    /// The stored policy, or the default when none is stored.
    fn sla_policy(&self) -> StoreResult<SlaPolicy>;
    fn set_sla_policy(&self, policy: &SlaPolicy) -> StoreResult<()>;
    /// The stored days, or [`DEFAULT_RETENTION_DAYS`] when none are stored.
    fn retention_days(&self) -> StoreResult<u32>;
    fn set_retention_days(&self, days: u32) -> StoreResult<()>;
    /// Every ticket's facts, by number.
    fn ticket_facts(&self) -> StoreResult<Vec<TicketFacts>>;
    /// Removes the screenshots and snapshots of tickets resolved or closed
    /// before `closed_before` (ticket text and history stay), in one
    /// transaction.
    fn purge_media(
        &self,
        closed_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<PurgeReport>;
    /// A consistent copy of the whole store at `dest`.
    fn backup(&self, dest: &Path) -> StoreResult<()>;
    /// This database's generation: an id that changes when it is restored
    /// from a backup, so agents learn to send again what it lost.
    fn generation(&self) -> StoreResult<String>;
    /// Gives the database a new generation `id` (after a restore).
    fn set_generation(&self, id: &str) -> StoreResult<()>;
}
