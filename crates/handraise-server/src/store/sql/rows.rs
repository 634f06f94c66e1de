//! Mapping between SQLite values and store records: times, ids, choices,
//! and one row function per record with the columns it reads.

use super::Row;
use crate::store::{
    AnnouncementRecord, AnnouncementSummary, ArticleRecord, DeflectionRecord, DeviceRecord,
    DeviceSummary, EnrollTokenRecord, MeTooRoom, MessageKind, MessageRecord, ReenrollmentRecord,
    Role, SlaPolicy, StoreError, StoreResult, TechTokenRecord, Technician, TicketFacts,
    TicketRecord, UserRecord,
};
use handraise_wire::{AnnouncementKind, TicketStatus};
use std::str::FromStr;
use std::sync::LazyLock;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

// ---- values ------------------------------------------------------------

/// Milliseconds since the epoch: how the store keeps server times.
pub fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn from_ms(v: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(v as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// RFC 3339 text: how the store keeps the times devices report.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

pub use super::conn::corrupt;

/// A time column in milliseconds.
pub fn time_at(r: &Row<'_>, i: usize) -> StoreResult<OffsetDateTime> {
    Ok(from_ms(r.get(i)?))
}

/// A nullable time column in milliseconds.
pub fn time_opt(r: &Row<'_>, i: usize) -> StoreResult<Option<OffsetDateTime>> {
    Ok(r.get::<Option<i64>>(i)?.map(from_ms))
}

/// A UUID column.
pub fn uuid_at(r: &Row<'_>, i: usize) -> StoreResult<Uuid> {
    let s: String = r.get(i)?;
    Uuid::parse_str(&s).map_err(|e| corrupt(format!("uuid {s:?}: {e}")))
}

/// A choice column (category, status, …), parsed by its wire name.
pub fn choice_at<T: FromStr>(r: &Row<'_>, i: usize) -> StoreResult<T>
where
    T::Err: std::fmt::Display,
{
    let s: String = r.get(i)?;
    T::from_str(&s).map_err(corrupt)
}

fn rfc3339_at(r: &Row<'_>, i: usize) -> StoreResult<OffsetDateTime> {
    let s: String = r.get(i)?;
    OffsetDateTime::parse(&s, &Rfc3339).map_err(|e| corrupt(format!("time {s:?}: {e}")))
}

/// A JSON list column.
fn json_at<T: serde::de::DeserializeOwned>(r: &Row<'_>, i: usize) -> StoreResult<T> {
    let s: String = r.get(i)?;
    serde_json::from_str(&s).map_err(corrupt)
}

pub fn json_list<T: serde::Serialize>(v: &[T]) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub fn kind_str(kind: AnnouncementKind) -> &'static str {
    match kind {
        AnnouncementKind::Outage => "outage",
        AnnouncementKind::Notice => "notice",
    }
}

fn kind_at(r: &Row<'_>, i: usize) -> StoreResult<AnnouncementKind> {
    let s: String = r.get(i)?;
    match s.as_str() {
        "outage" => Ok(AnnouncementKind::Outage),
        "notice" => Ok(AnnouncementKind::Notice),
        other => Err(corrupt(format!("announcement kind {other:?}"))),
    }
}

fn message_kind_at(r: &Row<'_>, i: usize) -> StoreResult<MessageKind> {
    let s: String = r.get(i)?;
    MessageKind::parse(&s).ok_or_else(|| corrupt(format!("message kind {s:?}")))
}

/// The statuses of finished tickets as an SQL list, `('resolved', 'closed')`:
/// the wire's rule (`TicketStatus::is_open`) written for queries.
pub static FINISHED: LazyLock<String> = LazyLock::new(|| {
    let quoted: Vec<String> = TicketStatus::ALL
        .iter()
        .filter(|s| !s.is_open())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!("({})", quoted.join(", "))
});

// ---- records -----------------------------------------------------------

pub const DEVICE_COLS: &str = "id, hostname, school, building, os, model, enrolled_at, \
     last_seen_at, revoked_at, machine_id, reenroll_allowed_at";

pub fn device_row(r: &Row<'_>) -> StoreResult<DeviceRecord> {
    Ok(DeviceRecord {
        id: uuid_at(r, 0)?,
        hostname: r.get(1)?,
        school: r.get(2)?,
        building: r.get(3)?,
        os: r.get(4)?,
        model: r.get(5)?,
        enrolled_at: time_at(r, 6)?,
        last_seen_at: time_opt(r, 7)?,
        revoked: r.get::<Option<i64>>(8)?.is_some(),
        machine_id: r.get(9)?,
        reenroll_allowed: r.get::<Option<i64>>(10)?.is_some(),
    })
}

pub const TICKET_COLS: &str = "t.number, t.client_id, t.device_id, t.status, t.category, \
     t.urgency, t.scope, t.summary, t.details, t.room, t.reporter, t.snapshot, t.self_help, \
     t.offline_at_submit, t.announcement_id, tech.name, t.created_at, t.received_at, t.updated_at";
pub const TICKET_FROM: &str = "tickets t LEFT JOIN technicians tech ON tech.id = t.assignee_id";

pub fn ticket_row(r: &Row<'_>) -> StoreResult<TicketRecord> {
    Ok(TicketRecord {
        number: r.get(0)?,
        client_id: uuid_at(r, 1)?,
        device_id: uuid_at(r, 2)?,
        status: choice_at(r, 3)?,
        category: choice_at(r, 4)?,
        urgency: choice_at(r, 5)?,
        scope: choice_at(r, 6)?,
        summary: r.get(7)?,
        details: r.get(8)?,
        room: r.get(9)?,
        reporter_json: r.get(10)?,
        snapshot_json: r.get(11)?,
        self_help_json: r.get(12)?,
        offline_at_submit: r.get(13)?,
        announcement_id: r.get(14)?,
        assignee: r.get(15)?,
        created_at: rfc3339_at(r, 16)?,
        received_at: time_at(r, 17)?,
        updated_at: time_at(r, 18)?,
    })
}

pub const MESSAGE_COLS: &str = "id, ticket_number, kind, author, body, at";

/// A message from six columns starting at `i` (in `MESSAGE_COLS` order).
pub fn message_at(r: &Row<'_>, i: usize) -> StoreResult<MessageRecord> {
    Ok(MessageRecord {
        id: uuid_at(r, i)?,
        ticket_number: r.get(i + 1)?,
        kind: message_kind_at(r, i + 2)?,
        author: r.get(i + 3)?,
        body: r.get(i + 4)?,
        at: time_at(r, i + 5)?,
    })
}

pub fn message_row(r: &Row<'_>) -> StoreResult<MessageRecord> {
    message_at(r, 0)
}

pub const ARTICLE_COLS: &str = "slug, title, body, categories, keywords, published, version";

pub fn article_row(r: &Row<'_>) -> StoreResult<ArticleRecord> {
    Ok(ArticleRecord {
        slug: r.get(0)?,
        title: r.get(1)?,
        body: r.get(2)?,
        categories: json_at(r, 3)?,
        keywords: json_at(r, 4)?,
        published: r.get(5)?,
        version: r.get(6)?,
    })
}

pub const ANNOUNCEMENT_COLS: &str =
    "id, kind, title, message, school, building, category, starts_at, ends_at";

pub fn announcement_row(r: &Row<'_>) -> StoreResult<AnnouncementRecord> {
    let category: Option<String> = r.get(6)?;
    Ok(AnnouncementRecord {
        id: r.get(0)?,
        kind: kind_at(r, 1)?,
        title: r.get(2)?,
        message: r.get(3)?,
        school: r.get(4)?,
        building: r.get(5)?,
        category: category
            .as_deref()
            .map(|c| c.parse().map_err(corrupt))
            .transpose()?,
        starts_at: time_at(r, 7)?,
        ends_at: time_opt(r, 8)?,
    })
}

pub fn technician_row(r: &Row<'_>) -> StoreResult<Technician> {
    Ok(Technician {
        id: r.get(0)?,
        name: r.get(1)?,
    })
}

pub const USER_COLS: &str =
    "u.id, u.email, u.role, u.technician_id, t.name, u.created_at, u.disabled_at";
pub const USER_FROM: &str = "users u JOIN technicians t ON t.id = u.technician_id";

pub fn user_row(r: &Row<'_>) -> StoreResult<UserRecord> {
    let role: String = r.get(2)?;
    Ok(UserRecord {
        id: r.get(0)?,
        email: r.get(1)?,
        role: Role::parse(&role).ok_or_else(|| corrupt(format!("role {role:?}")))?,
        technician_id: r.get(3)?,
        technician_name: r.get(4)?,
        created_at: time_at(r, 5)?,
        disabled: r.get::<Option<i64>>(6)?.is_some(),
    })
}

/// An enrollment token `k` with its uses (the columns of [`enroll_token_row`]).
pub const ENROLL_TOKEN_FROM: &str = "k.id, k.label, k.school, k.building, k.created_at, \
     k.expires_at, k.max_uses, \
     (SELECT COUNT(*) FROM enrollments e WHERE e.token_id = k.id), \
     (SELECT MAX(e.at) FROM enrollments e WHERE e.token_id = k.id), \
     k.revoked_at FROM enroll_tokens k";

pub fn enroll_token_row(r: &Row<'_>) -> StoreResult<EnrollTokenRecord> {
    Ok(EnrollTokenRecord {
        id: r.get(0)?,
        label: r.get(1)?,
        school: r.get(2)?,
        building: r.get(3)?,
        created_at: time_at(r, 4)?,
        expires_at: time_opt(r, 5)?,
        max_uses: r.get(6)?,
        uses: r.get(7)?,
        last_used_at: time_opt(r, 8)?,
        revoked: r.get::<Option<i64>>(9)?.is_some(),
    })
}

pub fn reenrollment_row(r: &Row<'_>) -> StoreResult<ReenrollmentRecord> {
    Ok(ReenrollmentRecord {
        machine_id: r.get(0)?,
        previous_device: uuid_at(r, 1)?,
        previous_hostname: r.get(2)?,
        previous_revoked: r.get::<Option<i64>>(3)?.is_some(),
        device: uuid_at(r, 4)?,
        hostname: r.get(5)?,
        at: time_at(r, 6)?,
        token_label: r.get(7)?,
    })
}

pub fn sla_row(r: &Row<'_>) -> StoreResult<SlaPolicy> {
    Ok(SlaPolicy {
        class_stopping_hours: r.get(0)?,
        wide_hours: r.get(1)?,
        room_hours: r.get(2)?,
        individual_hours: r.get(3)?,
    })
}

pub fn facts_row(r: &Row<'_>) -> StoreResult<TicketFacts> {
    Ok(TicketFacts {
        number: r.get(0)?,
        device_id: uuid_at(r, 1)?,
        hostname: r.get(2)?,
        school: r.get(3)?,
        building: r.get(4)?,
        room: r.get(5)?,
        category: choice_at(r, 6)?,
        urgency: choice_at(r, 7)?,
        scope: choice_at(r, 8)?,
        status: choice_at(r, 9)?,
        summary: r.get(10)?,
        assignee: r.get(11)?,
        self_help_json: r.get(12)?,
        announcement_id: r.get(13)?,
        received_at: time_at(r, 14)?,
        first_response_at: time_opt(r, 15)?,
        resolved_at: time_opt(r, 16)?,
        media_purged_at: time_opt(r, 17)?,
    })
}

pub fn device_summary_row(r: &Row<'_>) -> StoreResult<DeviceSummary> {
    Ok(DeviceSummary {
        device: device_row(r)?,
        agent_version: r.get(11)?,
        open_tickets: r.get(12)?,
    })
}

pub fn deflection_row(r: &Row<'_>) -> StoreResult<DeflectionRecord> {
    Ok(DeflectionRecord {
        client_id: uuid_at(r, 0)?,
        slug: r.get(1)?,
        device_id: uuid_at(r, 2)?,
        received_at: time_at(r, 3)?,
    })
}

pub fn announcement_summary_row(r: &Row<'_>) -> StoreResult<AnnouncementSummary> {
    Ok(AnnouncementSummary {
        announcement: announcement_row(r)?,
        me_too: r.get(9)?,
        linked_tickets: r.get(10)?,
    })
}

pub fn me_too_room_row(r: &Row<'_>) -> StoreResult<MeTooRoom> {
    let room: Option<String> = r.get(1)?;
    Ok(MeTooRoom {
        school: r.get(0)?,
        room: room.filter(|v| !v.is_empty()),
        reports: r.get(2)?,
        last_at: time_at(r, 3)?,
    })
}

pub const TOKEN_COLS: &str = "k.id, k.user_id, u.email, k.created_at, k.last_used_at, \
     k.expires_at, k.revoked_at IS NOT NULL FROM api_tokens k JOIN users u ON u.id = k.user_id";

pub fn token_row(r: &Row<'_>) -> StoreResult<TechTokenRecord> {
    Ok(TechTokenRecord {
        id: r.get(0)?,
        user_id: r.get(1)?,
        user_email: r.get(2)?,
        created_at: time_at(r, 3)?,
        last_used_at: time_opt(r, 4)?,
        expires_at: time_opt(r, 5)?,
        revoked: r.get(6)?,
    })
}
