//! Administration: enrollment tokens, settings (the SLA policy, the
//! retention policy), the facts statistics are computed from, the media
//! purge and backups.

use super::StoreResult;
use handraise_wire::{Category, Scope, TicketStatus, Urgency};
use std::path::Path;
use time::OffsetDateTime;
use uuid::Uuid;

/// An enrollment token as listed to admins (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollTokenRecord {
    pub id: i64,
    pub label: String,
    pub created_at: OffsetDateTime,
    pub revoked: bool,
}

/// Hours until a ticket is due, by impact. K-12 defaults: class-stopping or
/// building/district scope 4 h, room 8 h, individual 24 h.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaPolicy {
    /// Urgency `now` ("stopping my class right now").
    pub class_stopping_hours: u32,
    /// Scope `building` or `district`.
    pub wide_hours: u32,
    /// Scope `room`.
    pub room_hours: u32,
    /// Scope `me`.
    pub individual_hours: u32,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        Self {
            class_stopping_hours: 4,
            wide_hours: 4,
            room_hours: 8,
            individual_hours: 24,
        }
    }
}

impl SlaPolicy {
    /// Hours allowed for a ticket of this urgency and scope.
    pub fn hours_for(&self, urgency: Urgency, scope: Scope) -> u32 {
        if urgency == Urgency::Now {
            return self.class_stopping_hours;
        }
        match scope {
            Scope::Building | Scope::District => self.wide_hours,
            Scope::Room => self.room_hours,
            Scope::Me => self.individual_hours,
        }
    }
}

/// Days after which resolved and closed tickets lose their screenshots and
/// device snapshots.
pub const DEFAULT_RETENTION_DAYS: u32 = 365;

/// The facts of one ticket that the dashboard, the knowledge-base
/// statistics and the CSV export are computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketFacts {
    pub number: i64,
    pub device_id: Uuid,
    pub hostname: Option<String>,
    pub school: Option<String>,
    pub building: Option<String>,
    pub room: Option<String>,
    pub category: Category,
    pub urgency: Urgency,
    pub scope: Scope,
    pub status: TicketStatus,
    pub summary: String,
    pub assignee: Option<String>,
    pub self_help_json: Option<String>,
    pub announcement_id: Option<i64>,
    pub received_at: OffsetDateTime,
    /// The first technician reply.
    pub first_response_at: Option<OffsetDateTime>,
    /// When a resolved or closed ticket last became so; `None` while open.
    pub resolved_at: Option<OffsetDateTime>,
    /// When the retention policy removed its screenshot and snapshot.
    pub media_purged_at: Option<OffsetDateTime>,
}

/// What a retention purge removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Tickets that lost a screenshot or a snapshot, ascending.
    pub tickets: Vec<i64>,
    pub screenshots: u64,
    pub screenshot_bytes: u64,
    pub snapshots: u64,
}

/// Administration and operations.
pub trait AdminStore {
    fn create_enroll_token(
        &self,
        token_hash: &str,
        label: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    fn list_enroll_tokens(&self) -> StoreResult<Vec<EnrollTokenRecord>>;
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
}
