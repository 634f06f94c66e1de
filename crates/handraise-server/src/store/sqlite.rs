//! The embedded SQLite store: one connection behind a mutex, WAL journal,
//! `synchronous = NORMAL`, append-only migrations tracked in `user_version`.

use super::*;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Schema migrations, applied in order. Append only: never edit a shipped one.
pub const MIGRATIONS: &[&str] = &[
    // 1: initial schema.
    r#"
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    hostname TEXT NOT NULL,
    school TEXT,
    building TEXT,
    os TEXT,
    model TEXT,
    agent_version TEXT,
    enrolled_at INTEGER NOT NULL,
    last_seen_at INTEGER,
    revoked_at INTEGER
);
CREATE TABLE enroll_tokens (
    token_hash TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE technicians (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE TABLE tech_tokens (
    token_hash TEXT PRIMARY KEY,
    technician_id INTEGER NOT NULL REFERENCES technicians(id),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE tickets (
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL UNIQUE,
    device_id TEXT NOT NULL REFERENCES devices(id),
    status TEXT NOT NULL,
    category TEXT NOT NULL,
    urgency TEXT NOT NULL,
    scope TEXT NOT NULL,
    summary TEXT NOT NULL,
    details TEXT,
    room TEXT,
    reporter TEXT,
    snapshot TEXT,
    self_help TEXT,
    offline_at_submit INTEGER NOT NULL DEFAULT 0,
    announcement_id INTEGER,
    assignee_id INTEGER REFERENCES technicians(id),
    created_at TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX tickets_device ON tickets(device_id);
CREATE INDEX tickets_status ON tickets(status, number);
CREATE TABLE screenshots (
    ticket_number INTEGER PRIMARY KEY REFERENCES tickets(number),
    content_type TEXT NOT NULL,
    bytes BLOB NOT NULL,
    uploaded_at INTEGER NOT NULL
);
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    ticket_number INTEGER NOT NULL REFERENCES tickets(number),
    kind TEXT NOT NULL,
    author TEXT,
    body TEXT NOT NULL,
    created_at TEXT,
    at INTEGER NOT NULL
);
CREATE INDEX messages_ticket ON messages(ticket_number, at);
CREATE TABLE updates (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL REFERENCES devices(id),
    ticket_number INTEGER NOT NULL REFERENCES tickets(number),
    kind TEXT NOT NULL,
    status TEXT,
    assignee TEXT,
    message_id TEXT REFERENCES messages(id),
    at INTEGER NOT NULL
);
CREATE INDEX updates_device ON updates(device_id, seq);
CREATE TABLE kb_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO kb_meta (id, version) VALUES (1, 0);
CREATE TABLE kb_articles (
    slug TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    categories TEXT NOT NULL,
    keywords TEXT NOT NULL,
    published INTEGER NOT NULL,
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX kb_articles_version ON kb_articles(version);
CREATE TABLE announcements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    school TEXT,
    building TEXT,
    category TEXT,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER,
    created_at INTEGER NOT NULL
);
"#,
    // 2: technician console: users (each linked to a technician record),
    // sessions, the SLA policy and merged duplicates.
    r#"
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role TEXT NOT NULL CHECK (role IN ('technician', 'admin')),
    password_hash TEXT NOT NULL,
    technician_id INTEGER NOT NULL UNIQUE REFERENCES technicians(id),
    created_at INTEGER NOT NULL,
    disabled_at INTEGER
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE sla_policy (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    class_stopping_hours INTEGER NOT NULL,
    wide_hours INTEGER NOT NULL,
    room_hours INTEGER NOT NULL,
    individual_hours INTEGER NOT NULL
);
INSERT INTO sla_policy VALUES (1, 4, 4, 8, 24);
CREATE TABLE ticket_merges (
    duplicate_number INTEGER PRIMARY KEY REFERENCES tickets(number),
    into_number INTEGER NOT NULL REFERENCES tickets(number),
    at INTEGER NOT NULL
);
"#,
    // 3: console part 2: "me too" on announcements, "this fixed it"
    // deflections, the retention policy, and when a ticket's media were purged.
    r#"
CREATE TABLE me_too (
    client_id TEXT PRIMARY KEY,
    announcement_id INTEGER NOT NULL REFERENCES announcements(id),
    device_id TEXT NOT NULL REFERENCES devices(id),
    room TEXT,
    reporter TEXT,
    created_at TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX me_too_announcement ON me_too(announcement_id);
CREATE TABLE kb_deflections (
    client_id TEXT PRIMARY KEY,
    slug TEXT NOT NULL,
    device_id TEXT NOT NULL REFERENCES devices(id),
    created_at TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX kb_deflections_slug ON kb_deflections(slug);
CREATE TABLE retention_policy (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    closed_ticket_days INTEGER NOT NULL
);
INSERT INTO retention_policy VALUES (1, 365);
ALTER TABLE tickets ADD COLUMN media_purged_at INTEGER;
CREATE INDEX tickets_announcement ON tickets(announcement_id);
CREATE INDEX updates_ticket ON updates(ticket_number, kind);
"#,
];

/// SQLite implementation of [`Store`].
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub fn open(path: &Path) -> StoreResult<Self> {
        let conn = Connection::open(path)?;
        Self::setup(conn, true)
    }

    /// A private in-memory database, for tests.
    pub fn open_in_memory() -> StoreResult<Self> {
        let conn = Connection::open_in_memory()?;
        Self::setup(conn, false)
    }

    fn setup(mut conn: Connection, wal: bool) -> StoreResult<Self> {
        conn.busy_timeout(Duration::from_secs(5))?;
        if wal {
            // journal_mode returns a row; query it rather than execute.
            let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        }
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// The schema version (number of applied migrations).
    pub fn schema_version(&self) -> StoreResult<u32> {
        let conn = self.lock();
        Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Applies pending migrations; returns how many were applied.
    pub fn migrate(&self) -> StoreResult<usize> {
        migrate(&mut self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (the
        // transaction rolls back on drop), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn migrate(conn: &mut Connection) -> StoreResult<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let mut applied = 0;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as u32)?;
        applied += 1;
    }
    tx.commit()?;
    Ok(applied)
}

// ---- conversions -------------------------------------------------------

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn from_ms(v: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(v as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

fn corrupt(what: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        Box::<dyn std::error::Error + Send + Sync>::from(what.to_string()),
    )
}

fn parse_uuid(s: &str) -> rusqlite::Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| corrupt(format!("uuid {s:?}: {e}")))
}

fn parse_choice<T: FromStr>(s: &str) -> rusqlite::Result<T>
where
    T::Err: std::fmt::Display,
{
    T::from_str(s).map_err(corrupt)
}

fn parse_rfc3339(s: &str) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| corrupt(format!("time {s:?}: {e}")))
}

fn kind_str(kind: AnnouncementKind) -> &'static str {
    match kind {
        AnnouncementKind::Outage => "outage",
        AnnouncementKind::Notice => "notice",
    }
}

fn parse_kind(s: &str) -> rusqlite::Result<AnnouncementKind> {
    match s {
        "outage" => Ok(AnnouncementKind::Outage),
        "notice" => Ok(AnnouncementKind::Notice),
        other => Err(corrupt(format!("announcement kind {other:?}"))),
    }
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(err, _)
            if err.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

const DEVICE_COLS: &str =
    "id, hostname, school, building, os, model, enrolled_at, last_seen_at, revoked_at";

fn device_row(r: &Row<'_>) -> rusqlite::Result<DeviceRecord> {
    let id: String = r.get(0)?;
    Ok(DeviceRecord {
        id: parse_uuid(&id)?,
        hostname: r.get(1)?,
        school: r.get(2)?,
        building: r.get(3)?,
        os: r.get(4)?,
        model: r.get(5)?,
        enrolled_at: from_ms(r.get(6)?),
        last_seen_at: r.get::<_, Option<i64>>(7)?.map(from_ms),
        revoked: r.get::<_, Option<i64>>(8)?.is_some(),
    })
}

const TICKET_COLS: &str = "t.number, t.client_id, t.device_id, t.status, t.category, t.urgency, \
     t.scope, t.summary, t.details, t.room, t.reporter, t.snapshot, t.self_help, \
     t.offline_at_submit, t.announcement_id, tech.name, t.created_at, t.received_at, t.updated_at";
const TICKET_FROM: &str = "tickets t LEFT JOIN technicians tech ON tech.id = t.assignee_id";

fn ticket_row(r: &Row<'_>) -> rusqlite::Result<TicketRecord> {
    let client_id: String = r.get(1)?;
    let device_id: String = r.get(2)?;
    let status: String = r.get(3)?;
    let category: String = r.get(4)?;
    let urgency: String = r.get(5)?;
    let scope: String = r.get(6)?;
    let created_at: String = r.get(16)?;
    Ok(TicketRecord {
        number: r.get(0)?,
        client_id: parse_uuid(&client_id)?,
        device_id: parse_uuid(&device_id)?,
        status: parse_choice(&status)?,
        category: parse_choice(&category)?,
        urgency: parse_choice(&urgency)?,
        scope: parse_choice(&scope)?,
        summary: r.get(7)?,
        details: r.get(8)?,
        room: r.get(9)?,
        reporter_json: r.get(10)?,
        snapshot_json: r.get(11)?,
        self_help_json: r.get(12)?,
        offline_at_submit: r.get(13)?,
        announcement_id: r.get(14)?,
        assignee: r.get(15)?,
        created_at: parse_rfc3339(&created_at)?,
        received_at: from_ms(r.get(17)?),
        updated_at: from_ms(r.get(18)?),
    })
}

const MESSAGE_COLS: &str = "id, ticket_number, kind, author, body, at";

fn message_row(r: &Row<'_>) -> rusqlite::Result<MessageRecord> {
    let id: String = r.get(0)?;
    let kind: String = r.get(2)?;
    Ok(MessageRecord {
        id: parse_uuid(&id)?,
        ticket_number: r.get(1)?,
        kind: MessageKind::parse(&kind).ok_or_else(|| corrupt(format!("message kind {kind:?}")))?,
        author: r.get(3)?,
        body: r.get(4)?,
        at: from_ms(r.get(5)?),
    })
}

const ARTICLE_COLS: &str = "slug, title, body, categories, keywords, published, version";

fn article_row(r: &Row<'_>) -> rusqlite::Result<ArticleRecord> {
    let categories: String = r.get(3)?;
    let keywords: String = r.get(4)?;
    Ok(ArticleRecord {
        slug: r.get(0)?,
        title: r.get(1)?,
        body: r.get(2)?,
        categories: serde_json::from_str(&categories).map_err(corrupt)?,
        keywords: serde_json::from_str(&keywords).map_err(corrupt)?,
        published: r.get(5)?,
        version: r.get(6)?,
    })
}

/// An announcement a device sees at `:now`: started, not ended, and for everyone or for the
/// device's `:school` (and `:building`, when the announcement names one). The feed and
/// "me too" use the same rule.
const VISIBLE_TO_DEVICE: &str = "starts_at <= :now AND (ends_at IS NULL OR ends_at > :now) \
     AND (school IS NULL OR (school = :school COLLATE NOCASE \
          AND (building IS NULL OR building = :building COLLATE NOCASE)))";

const ANNOUNCEMENT_COLS: &str =
    "id, kind, title, message, school, building, category, starts_at, ends_at";

fn announcement_row(r: &Row<'_>) -> rusqlite::Result<AnnouncementRecord> {
    let kind: String = r.get(1)?;
    let category: Option<String> = r.get(6)?;
    Ok(AnnouncementRecord {
        id: r.get(0)?,
        kind: parse_kind(&kind)?,
        title: r.get(2)?,
        message: r.get(3)?,
        school: r.get(4)?,
        building: r.get(5)?,
        category: category.as_deref().map(parse_choice).transpose()?,
        starts_at: from_ms(r.get(7)?),
        ends_at: r.get::<_, Option<i64>>(8)?.map(from_ms),
    })
}

fn json_list<T: serde::Serialize>(v: &[T]) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

// ---- helpers on a connection (usable inside a transaction) -------------

fn ticket_by_number(conn: &Connection, number: i64) -> rusqlite::Result<Option<TicketRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {TICKET_COLS} FROM {TICKET_FROM} WHERE t.number = ?1"
    ))?
    .query_row([number], ticket_row)
    .optional()
}

fn ticket_by_client_id(
    conn: &Connection,
    client_id: Uuid,
) -> rusqlite::Result<Option<TicketRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {TICKET_COLS} FROM {TICKET_FROM} WHERE t.client_id = ?1"
    ))?
    .query_row([client_id.to_string()], ticket_row)
    .optional()
}

fn load_messages(
    conn: &Connection,
    number: i64,
    include_notes: bool,
) -> rusqlite::Result<Vec<MessageRecord>> {
    let sql = if include_notes {
        format!("SELECT {MESSAGE_COLS} FROM messages WHERE ticket_number = ?1 ORDER BY at, rowid")
    } else {
        format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE ticket_number = ?1 AND kind != 'note' \
             ORDER BY at, rowid"
        )
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([number], message_row)?;
    rows.collect()
}

fn detail_for(conn: &Connection, ticket: TicketRecord) -> rusqlite::Result<TicketDetail> {
    let (hostname, school, building): (Option<String>, Option<String>, Option<String>) = conn
        .prepare_cached("SELECT hostname, school, building FROM devices WHERE id = ?1")?
        .query_row([ticket.device_id.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?
        .unwrap_or((None, None, None));
    let has_screenshot = conn
        .prepare_cached("SELECT 1 FROM screenshots WHERE ticket_number = ?1")?
        .exists([ticket.number])?;
    let messages = load_messages(conn, ticket.number, true)?;
    let merged_into = conn
        .prepare_cached("SELECT into_number FROM ticket_merges WHERE duplicate_number = ?1")?
        .query_row([ticket.number], |r| r.get(0))
        .optional()?;
    Ok(TicketDetail {
        ticket,
        device_hostname: hostname,
        school,
        building,
        has_screenshot,
        messages,
        merged_into,
    })
}

fn detail_by_number(conn: &Connection, number: i64) -> StoreResult<TicketDetail> {
    let ticket = ticket_by_number(conn, number)?.ok_or(StoreError::NotFound)?;
    Ok(detail_for(conn, ticket)?)
}

fn ensure_technician(
    conn: &Connection,
    name: &str,
    now: OffsetDateTime,
) -> rusqlite::Result<Technician> {
    conn.prepare_cached("INSERT OR IGNORE INTO technicians (name, created_at) VALUES (?1, ?2)")?
        .execute(params![name, ms(now)])?;
    conn.prepare_cached("SELECT id, name FROM technicians WHERE name = ?1")?
        .query_row([name], |r| {
            Ok(Technician {
                id: r.get(0)?,
                name: r.get(1)?,
            })
        })
}

const USER_COLS: &str =
    "u.id, u.email, u.role, u.technician_id, t.name, u.created_at, u.disabled_at";
const USER_FROM: &str = "users u JOIN technicians t ON t.id = u.technician_id";

fn user_row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    let role: String = r.get(2)?;
    Ok(UserRecord {
        id: r.get(0)?,
        email: r.get(1)?,
        role: Role::parse(&role).ok_or_else(|| corrupt(format!("role {role:?}")))?,
        technician_id: r.get(3)?,
        technician_name: r.get(4)?,
        created_at: from_ms(r.get(5)?),
        disabled: r.get::<_, Option<i64>>(6)?.is_some(),
    })
}

fn user_by_id(conn: &Connection, id: i64) -> rusqlite::Result<Option<UserRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLS} FROM {USER_FROM} WHERE u.id = ?1"
    ))?
    .query_row([id], user_row)
    .optional()
}

fn write_status_update(
    conn: &Connection,
    ticket: &TicketRecord,
    status: TicketStatus,
    assignee: Option<&str>,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO updates (device_id, ticket_number, kind, status, assignee, at) \
         VALUES (?1, ?2, 'status', ?3, ?4, ?5)",
    )?
    .execute(params![
        ticket.device_id.to_string(),
        ticket.number,
        status.as_str(),
        assignee,
        ms(now)
    ])?;
    Ok(())
}

/// When a resolved or closed ticket last became so (the latest such status
/// entry of its feed, else its last change); NULL while open.
const RESOLVED_AT_SQL: &str = "CASE WHEN t.status IN ('resolved', 'closed') THEN \
     COALESCE((SELECT MAX(u.at) FROM updates u WHERE u.ticket_number = t.number \
     AND u.kind = 'status' AND u.status IN ('resolved', 'closed')), t.updated_at) END";

fn announcement_by_id(conn: &Connection, id: i64) -> rusqlite::Result<Option<AnnouncementRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {ANNOUNCEMENT_COLS} FROM announcements WHERE id = ?1"
    ))?
    .query_row([id], announcement_row)
    .optional()
}

fn me_too_count(conn: &Connection, announcement_id: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT COUNT(*) FROM me_too WHERE announcement_id = ?1")?
        .query_row([announcement_id], |r| r.get(0))
}

impl Store for SqliteStore {
    fn create_enroll_token(
        &self,
        token_hash: &str,
        label: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.lock().execute(
            "INSERT INTO enroll_tokens (token_hash, label, created_at) VALUES (?1, ?2, ?3)",
            params![token_hash, label, ms(now)],
        )?;
        Ok(())
    }

    fn enroll_device(&self, enroll_token_hash: &str, device: &NewDevice) -> StoreResult<()> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let valid = tx
            .prepare_cached(
                "SELECT 1 FROM enroll_tokens WHERE token_hash = ?1 AND revoked_at IS NULL",
            )?
            .exists([enroll_token_hash])?;
        if !valid {
            return Err(StoreError::InvalidToken);
        }
        tx.execute(
            "INSERT INTO devices (id, secret_hash, hostname, school, building, os, model, \
             agent_version, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                device.id.to_string(),
                device.secret_hash,
                device.hostname,
                device.school,
                device.building,
                device.os,
                device.model,
                device.agent_version,
                ms(device.enrolled_at)
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn device_by_secret_hash(&self, secret_hash: &str) -> StoreResult<Option<DeviceRecord>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {DEVICE_COLS} FROM devices WHERE secret_hash = ?1"
        ))?;
        Ok(stmt.query_row([secret_hash], device_row).optional()?)
    }

    fn device(&self, id: Uuid) -> StoreResult<Option<DeviceRecord>> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare_cached(&format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"))?;
        Ok(stmt.query_row([id.to_string()], device_row).optional()?)
    }

    fn touch_device(&self, id: Uuid, now: OffsetDateTime) -> StoreResult<()> {
        self.lock()
            .prepare_cached("UPDATE devices SET last_seen_at = ?2 WHERE id = ?1")?
            .execute(params![id.to_string(), ms(now)])?;
        Ok(())
    }

    fn revoke_device(&self, id: Uuid, now: OffsetDateTime) -> StoreResult<()> {
        let n = self.lock().execute(
            "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
            params![id.to_string(), ms(now)],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    fn create_tech_token(
        &self,
        name: &str,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Technician> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let tech = ensure_technician(&tx, name, now)?;
        tx.execute(
            "INSERT INTO tech_tokens (token_hash, technician_id, created_at) VALUES (?1, ?2, ?3)",
            params![token_hash, tech.id, ms(now)],
        )?;
        tx.commit()?;
        Ok(tech)
    }

    fn technician_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<Technician>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT t.id, t.name FROM tech_tokens k JOIN technicians t ON t.id = k.technician_id \
             WHERE k.token_hash = ?1 AND k.revoked_at IS NULL",
        )?;
        Ok(stmt
            .query_row([token_hash], |r| {
                Ok(Technician {
                    id: r.get(0)?,
                    name: r.get(1)?,
                })
            })
            .optional()?)
    }

    fn insert_ticket(&self, t: &NewTicketRecord) -> StoreResult<Inserted<TicketRecord>> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(existing) = ticket_by_client_id(&tx, t.client_id)? {
            return if existing.device_id == t.device_id {
                Ok(Inserted::Existing(existing))
            } else {
                Err(StoreError::Conflict(
                    "this client id was already used by another device".into(),
                ))
            };
        }
        let received = ms(t.received_at);
        tx.prepare_cached(
            "INSERT INTO tickets (client_id, device_id, status, category, urgency, scope, summary, \
             details, room, reporter, snapshot, self_help, offline_at_submit, announcement_id, \
             created_at, received_at, updated_at) \
             VALUES (?1, ?2, 'new', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15)",
        )?
        .execute(params![
            t.client_id.to_string(),
            t.device_id.to_string(),
            t.category.as_str(),
            t.urgency.as_str(),
            t.scope.as_str(),
            t.summary,
            t.details,
            t.room,
            t.reporter_json,
            t.snapshot_json,
            t.self_help_json,
            t.offline_at_submit,
            t.announcement_id,
            rfc3339(t.created_at),
            received,
        ])?;
        let number = tx.last_insert_rowid();
        tx.commit()?;
        Ok(Inserted::Created(TicketRecord {
            number,
            client_id: t.client_id,
            device_id: t.device_id,
            status: TicketStatus::New,
            category: t.category,
            urgency: t.urgency,
            scope: t.scope,
            summary: t.summary.clone(),
            details: t.details.clone(),
            room: t.room.clone(),
            reporter_json: t.reporter_json.clone(),
            snapshot_json: t.snapshot_json.clone(),
            self_help_json: t.self_help_json.clone(),
            offline_at_submit: t.offline_at_submit,
            announcement_id: t.announcement_id,
            assignee: None,
            created_at: t.created_at,
            received_at: from_ms(received),
            updated_at: from_ms(received),
        }))
    }

    fn device_ticket(&self, device_id: Uuid, client_id: Uuid) -> StoreResult<Option<TicketRecord>> {
        let conn = self.lock();
        Ok(ticket_by_client_id(&conn, client_id)?.filter(|t| t.device_id == device_id))
    }

    fn messages(&self, number: i64, include_notes: bool) -> StoreResult<Vec<MessageRecord>> {
        Ok(load_messages(&self.lock(), number, include_notes)?)
    }

    fn insert_teacher_message(
        &self,
        device_id: Uuid,
        ticket_client_id: Uuid,
        m: &NewTeacherMessage,
    ) -> StoreResult<Inserted<MessageRecord>> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ticket = ticket_by_client_id(&tx, ticket_client_id)?
            .filter(|t| t.device_id == device_id)
            .ok_or(StoreError::NotFound)?;
        let existing = tx
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLS} FROM messages WHERE id = ?1"
            ))?
            .query_row([m.id.to_string()], message_row)
            .optional()?;
        if let Some(existing) = existing {
            return if existing.ticket_number == ticket.number
                && existing.kind == MessageKind::Teacher
            {
                Ok(Inserted::Existing(existing))
            } else {
                Err(StoreError::Conflict(
                    "this message id was already used elsewhere".into(),
                ))
            };
        }
        let at = ms(m.received_at);
        tx.prepare_cached(
            "INSERT INTO messages (id, ticket_number, kind, author, body, created_at, at) \
             VALUES (?1, ?2, 'teacher', NULL, ?3, ?4, ?5)",
        )?
        .execute(params![
            m.id.to_string(),
            ticket.number,
            m.body,
            rfc3339(m.created_at),
            at
        ])?;
        tx.prepare_cached("UPDATE tickets SET updated_at = ?2 WHERE number = ?1")?
            .execute(params![ticket.number, at])?;
        tx.commit()?;
        Ok(Inserted::Created(MessageRecord {
            id: m.id,
            ticket_number: ticket.number,
            kind: MessageKind::Teacher,
            author: None,
            body: m.body.clone(),
            at: from_ms(at),
        }))
    }

    fn put_screenshot(
        &self,
        device_id: Uuid,
        ticket_client_id: Uuid,
        content_type: &str,
        bytes: &[u8],
        now: OffsetDateTime,
    ) -> StoreResult<i64> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ticket = ticket_by_client_id(&tx, ticket_client_id)?
            .filter(|t| t.device_id == device_id)
            .ok_or(StoreError::NotFound)?;
        tx.execute(
            "INSERT INTO screenshots (ticket_number, content_type, bytes, uploaded_at) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (ticket_number) DO UPDATE SET \
             content_type = excluded.content_type, bytes = excluded.bytes, \
             uploaded_at = excluded.uploaded_at",
            params![ticket.number, content_type, bytes, ms(now)],
        )?;
        tx.commit()?;
        Ok(ticket.number)
    }

    fn screenshot(&self, number: i64) -> StoreResult<Option<(String, Vec<u8>)>> {
        let conn = self.lock();
        Ok(conn
            .query_row(
                "SELECT content_type, bytes FROM screenshots WHERE ticket_number = ?1",
                [number],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    fn updates(&self, device_id: Uuid, after: i64, limit: usize) -> StoreResult<Vec<FeedEntry>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT u.seq, u.ticket_number, t.client_id, u.at, u.kind, u.status, u.assignee, \
             m.id, m.ticket_number, m.kind, m.author, m.body, m.at \
             FROM updates u JOIN tickets t ON t.number = u.ticket_number \
             LEFT JOIN messages m ON m.id = u.message_id \
             WHERE u.device_id = ?1 AND u.seq > ?2 ORDER BY u.seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![device_id.to_string(), after, limit as i64], |r| {
            let client_id: String = r.get(2)?;
            let kind: String = r.get(4)?;
            let feed = match kind.as_str() {
                "status" => {
                    let status: String = r.get(5)?;
                    FeedKind::Status {
                        status: parse_choice(&status)?,
                        assignee: r.get(6)?,
                    }
                }
                "reply" => {
                    let id: String = r.get(7)?;
                    let mkind: String = r.get(9)?;
                    FeedKind::Reply(MessageRecord {
                        id: parse_uuid(&id)?,
                        ticket_number: r.get(8)?,
                        kind: MessageKind::parse(&mkind)
                            .ok_or_else(|| corrupt(format!("message kind {mkind:?}")))?,
                        author: r.get(10)?,
                        body: r.get(11)?,
                        at: from_ms(r.get(12)?),
                    })
                }
                other => return Err(corrupt(format!("update kind {other:?}"))),
            };
            Ok(FeedEntry {
                seq: r.get(0)?,
                ticket_number: r.get(1)?,
                ticket_client_id: parse_uuid(&client_id)?,
                at: from_ms(r.get(3)?),
                kind: feed,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn list_tickets(&self, status: Option<TicketStatus>) -> StoreResult<Vec<TicketDetail>> {
        let conn = self.lock();
        let tickets: Vec<TicketRecord> = match status {
            Some(s) => {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {TICKET_COLS} FROM {TICKET_FROM} WHERE t.status = ?1 \
                     ORDER BY t.number DESC"
                ))?;
                stmt.query_map([s.as_str()], ticket_row)?
                    .collect::<rusqlite::Result<_>>()?
            }
            None => {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {TICKET_COLS} FROM {TICKET_FROM} ORDER BY t.number DESC"
                ))?;
                stmt.query_map([], ticket_row)?
                    .collect::<rusqlite::Result<_>>()?
            }
        };
        tickets
            .into_iter()
            .map(|t| detail_for(&conn, t).map_err(StoreError::from))
            .collect()
    }

    fn ticket_detail(&self, number: i64) -> StoreResult<Option<TicketDetail>> {
        let conn = self.lock();
        match ticket_by_number(&conn, number)? {
            Some(t) => Ok(Some(detail_for(&conn, t)?)),
            None => Ok(None),
        }
    }

    fn set_status(
        &self,
        number: i64,
        status: TicketStatus,
        now: OffsetDateTime,
    ) -> StoreResult<TicketDetail> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ticket = ticket_by_number(&tx, number)?.ok_or(StoreError::NotFound)?;
        if ticket.status != status {
            tx.prepare_cached("UPDATE tickets SET status = ?2, updated_at = ?3 WHERE number = ?1")?
                .execute(params![number, status.as_str(), ms(now)])?;
            write_status_update(&tx, &ticket, status, ticket.assignee.as_deref(), now)?;
        }
        let detail = detail_by_number(&tx, number)?;
        tx.commit()?;
        Ok(detail)
    }

    fn assign(
        &self,
        number: i64,
        assignee: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<TicketDetail> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ticket = ticket_by_number(&tx, number)?.ok_or(StoreError::NotFound)?;
        let tech = assignee
            .map(|name| ensure_technician(&tx, name, now))
            .transpose()?;
        let status = if tech.is_some() && ticket.status == TicketStatus::New {
            TicketStatus::Assigned
        } else {
            ticket.status
        };
        tx.prepare_cached(
            "UPDATE tickets SET assignee_id = ?2, status = ?3, updated_at = ?4 WHERE number = ?1",
        )?
        .execute(params![
            number,
            tech.as_ref().map(|t| t.id),
            status.as_str(),
            ms(now)
        ])?;
        write_status_update(
            &tx,
            &ticket,
            status,
            tech.as_ref().map(|t| t.name.as_str()),
            now,
        )?;
        let detail = detail_by_number(&tx, number)?;
        tx.commit()?;
        Ok(detail)
    }

    fn add_tech_message(
        &self,
        number: i64,
        kind: MessageKind,
        author: &str,
        body: &str,
        id: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<TicketDetail> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ticket = ticket_by_number(&tx, number)?.ok_or(StoreError::NotFound)?;
        tx.prepare_cached(
            "INSERT INTO messages (id, ticket_number, kind, author, body, created_at, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)",
        )?
        .execute(params![
            id.to_string(),
            number,
            kind.as_str(),
            author,
            body,
            ms(now)
        ])?;
        tx.prepare_cached("UPDATE tickets SET updated_at = ?2 WHERE number = ?1")?
            .execute(params![number, ms(now)])?;
        if kind == MessageKind::Technician {
            tx.prepare_cached(
                "INSERT INTO updates (device_id, ticket_number, kind, message_id, at) \
                 VALUES (?1, ?2, 'reply', ?3, ?4)",
            )?
            .execute(params![
                ticket.device_id.to_string(),
                number,
                id.to_string(),
                ms(now)
            ])?;
        }
        let detail = detail_for(&tx, ticket)?;
        tx.commit()?;
        Ok(detail)
    }

    fn create_article(
        &self,
        a: &ArticleRecordInput,
        now: OffsetDateTime,
    ) -> StoreResult<ArticleRecord> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let exists = tx
            .prepare_cached("SELECT 1 FROM kb_articles WHERE slug = ?1")?
            .exists([&a.slug])?;
        if exists {
            return Err(StoreError::Conflict(format!(
                "an article with slug {:?} exists",
                a.slug
            )));
        }
        let article = upsert_article(&tx, a, now)?;
        tx.commit()?;
        Ok(article)
    }

    fn put_article(
        &self,
        a: &ArticleRecordInput,
        now: OffsetDateTime,
    ) -> StoreResult<ArticleRecord> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let article = upsert_article(&tx, a, now)?;
        tx.commit()?;
        Ok(article)
    }

    fn unpublish_article(&self, slug: &str, now: OffsetDateTime) -> StoreResult<ArticleRecord> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version = bump_kb_version(&tx)?;
        let n = tx.execute(
            "UPDATE kb_articles SET published = 0, version = ?2, updated_at = ?3 WHERE slug = ?1",
            params![slug, version, ms(now)],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let article = tx.query_row(
            &format!("SELECT {ARTICLE_COLS} FROM kb_articles WHERE slug = ?1"),
            [slug],
            article_row,
        )?;
        tx.commit()?;
        Ok(article)
    }

    fn kb_changes(&self, since: i64) -> StoreResult<(i64, Vec<ArticleRecord>)> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let version: i64 =
            tx.query_row("SELECT version FROM kb_meta WHERE id = 1", [], |r| r.get(0))?;
        let articles = {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {ARTICLE_COLS} FROM kb_articles WHERE version > ?1 ORDER BY version"
            ))?;
            stmt.query_map([since], article_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        };
        tx.commit()?;
        Ok((version, articles))
    }

    fn create_announcement(
        &self,
        a: &NewAnnouncement,
        now: OffsetDateTime,
    ) -> StoreResult<AnnouncementRecord> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO announcements (kind, title, message, school, building, category, \
             starts_at, ends_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                kind_str(a.kind),
                a.title,
                a.message,
                a.school,
                a.building,
                a.category.map(|c| c.as_str()),
                ms(a.starts_at),
                a.ends_at.map(ms),
                ms(now)
            ],
        )?;
        let id = conn.last_insert_rowid();
        Ok(conn.query_row(
            &format!("SELECT {ANNOUNCEMENT_COLS} FROM announcements WHERE id = ?1"),
            [id],
            announcement_row,
        )?)
    }

    fn end_announcement(&self, id: i64, now: OffsetDateTime) -> StoreResult<AnnouncementRecord> {
        let conn = self.lock();
        let n = conn.execute(
            "UPDATE announcements SET ends_at = CASE WHEN ends_at IS NULL OR ends_at > ?2 \
             THEN ?2 ELSE ends_at END WHERE id = ?1",
            params![id, ms(now)],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(conn.query_row(
            &format!("SELECT {ANNOUNCEMENT_COLS} FROM announcements WHERE id = ?1"),
            [id],
            announcement_row,
        )?)
    }

    fn active_announcements(
        &self,
        now: OffsetDateTime,
        school: Option<&str>,
        building: Option<&str>,
    ) -> StoreResult<Vec<AnnouncementRecord>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {ANNOUNCEMENT_COLS} FROM announcements WHERE {VISIBLE_TO_DEVICE} \
             ORDER BY starts_at DESC, id DESC"
        ))?;
        let rows = stmt.query_map(
            rusqlite::named_params! {":now": ms(now), ":school": school, ":building": building},
            announcement_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn merge_ticket(
        &self,
        duplicate: i64,
        into: i64,
        author: &str,
        now: OffsetDateTime,
    ) -> StoreResult<TicketDetail> {
        if duplicate == into {
            return Err(StoreError::Conflict(
                "a ticket cannot be merged into itself".into(),
            ));
        }
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let dup = ticket_by_number(&tx, duplicate)?.ok_or(StoreError::NotFound)?;
        ticket_by_number(&tx, into)?.ok_or(StoreError::NotFound)?;
        let merged = |n: i64| -> rusqlite::Result<bool> {
            tx.prepare_cached("SELECT 1 FROM ticket_merges WHERE duplicate_number = ?1")?
                .exists([n])
        };
        if merged(duplicate)? {
            return Err(StoreError::Conflict(format!(
                "ticket #{duplicate} is already merged"
            )));
        }
        if merged(into)? {
            return Err(StoreError::Conflict(format!(
                "ticket #{into} is itself merged into another ticket"
            )));
        }
        tx.prepare_cached(
            "INSERT INTO ticket_merges (duplicate_number, into_number, at) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![duplicate, into, ms(now)])?;
        let note = |number: i64, body: String| -> rusqlite::Result<usize> {
            tx.prepare_cached(
                "INSERT INTO messages (id, ticket_number, kind, author, body, created_at, at) \
                 VALUES (?1, ?2, 'note', ?3, ?4, NULL, ?5)",
            )?
            .execute(params![
                Uuid::now_v7().to_string(),
                number,
                author,
                body,
                ms(now)
            ])
        };
        note(duplicate, format!("Merged into #{into} as a duplicate."))?;
        note(
            into,
            format!("#{duplicate} was merged into this ticket as a duplicate."),
        )?;
        tx.prepare_cached("UPDATE tickets SET updated_at = ?2 WHERE number = ?1")?
            .execute(params![into, ms(now)])?;
        let closed = TicketStatus::Closed;
        tx.prepare_cached("UPDATE tickets SET status = ?2, updated_at = ?3 WHERE number = ?1")?
            .execute(params![duplicate, closed.as_str(), ms(now)])?;
        if dup.status != closed {
            write_status_update(&tx, &dup, closed, dup.assignee.as_deref(), now)?;
        }
        let detail = detail_by_number(&tx, duplicate)?;
        tx.commit()?;
        Ok(detail)
    }

    fn create_user(&self, user: &NewUser, now: OffsetDateTime) -> StoreResult<UserRecord> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let tech = ensure_technician(&tx, &user.technician_name, now)?;
        let inserted = tx.execute(
            "INSERT INTO users (email, role, password_hash, technician_id, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                user.email,
                user.role.as_str(),
                user.password_hash,
                tech.id,
                ms(now)
            ],
        );
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict(format!(
                    "a user with the email {:?} or the technician name {:?} exists",
                    user.email, user.technician_name
                )));
            }
            Err(e) => return Err(e.into()),
        }
        let id = tx.last_insert_rowid();
        let created = user_by_id(&tx, id)?.ok_or(StoreError::NotFound)?;
        tx.commit()?;
        Ok(created)
    }

    fn user_by_email(&self, email: &str) -> StoreResult<Option<(UserRecord, String)>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {USER_COLS}, u.password_hash FROM {USER_FROM} WHERE u.email = ?1"
        ))?;
        Ok(stmt
            .query_row([email.trim()], |r| Ok((user_row(r)?, r.get(7)?)))
            .optional()?)
    }

    fn list_users(&self) -> StoreResult<Vec<UserRecord>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {USER_COLS} FROM {USER_FROM} ORDER BY u.email"
        ))?;
        let rows = stmt.query_map([], user_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn set_user_disabled(
        &self,
        id: i64,
        disabled: bool,
        now: OffsetDateTime,
    ) -> StoreResult<UserRecord> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE users SET disabled_at = CASE WHEN ?2 THEN COALESCE(disabled_at, ?3) END \
             WHERE id = ?1",
            params![id, disabled, ms(now)],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        if disabled {
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
        }
        let user = user_by_id(&tx, id)?.ok_or(StoreError::NotFound)?;
        tx.commit()?;
        Ok(user)
    }

    fn technicians(&self) -> StoreResult<Vec<Technician>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached("SELECT id, name FROM technicians ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok(Technician {
                id: r.get(0)?,
                name: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf_token: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.lock().execute(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![token_hash, user_id, csrf_token, ms(now), ms(expires_at)],
        )?;
        Ok(())
    }

    fn session(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<Option<SessionRecord>> {
        let conn = self.lock();
        let found: Option<(i64, String, i64)> = conn
            .prepare_cached(
                "SELECT user_id, csrf_token, expires_at FROM sessions \
                 WHERE token_hash = ?1 AND expires_at > ?2",
            )?
            .query_row(params![token_hash, ms(now)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let Some((user_id, csrf_token, expires_at)) = found else {
            return Ok(None);
        };
        Ok(user_by_id(&conn, user_id)?
            .filter(|u| !u.disabled)
            .map(|user| SessionRecord {
                user,
                csrf_token,
                expires_at: from_ms(expires_at),
            }))
    }

    fn delete_session(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<()> {
        self.lock().execute(
            "DELETE FROM sessions WHERE token_hash = ?1 OR expires_at <= ?2",
            params![token_hash, ms(now)],
        )?;
        Ok(())
    }

    fn list_enroll_tokens(&self) -> StoreResult<Vec<EnrollTokenRecord>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT rowid, label, created_at, revoked_at FROM enroll_tokens ORDER BY rowid DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(EnrollTokenRecord {
                id: r.get(0)?,
                label: r.get(1)?,
                created_at: from_ms(r.get(2)?),
                revoked: r.get::<_, Option<i64>>(3)?.is_some(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn revoke_enroll_token(&self, id: i64, now: OffsetDateTime) -> StoreResult<()> {
        let n = self.lock().execute(
            "UPDATE enroll_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE rowid = ?1",
            params![id, ms(now)],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    fn list_devices(&self) -> StoreResult<Vec<DeviceSummary>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {DEVICE_COLS}, agent_version, \
             (SELECT COUNT(*) FROM tickets t WHERE t.device_id = devices.id \
              AND t.status NOT IN ('resolved', 'closed')) \
             FROM devices ORDER BY COALESCE(last_seen_at, enrolled_at) DESC"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok(DeviceSummary {
                device: device_row(r)?,
                agent_version: r.get(9)?,
                open_tickets: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn sla_policy(&self) -> StoreResult<SlaPolicy> {
        let conn = self.lock();
        Ok(conn
            .prepare_cached(
                "SELECT class_stopping_hours, wide_hours, room_hours, individual_hours \
                 FROM sla_policy WHERE id = 1",
            )?
            .query_row([], |r| {
                Ok(SlaPolicy {
                    class_stopping_hours: r.get(0)?,
                    wide_hours: r.get(1)?,
                    room_hours: r.get(2)?,
                    individual_hours: r.get(3)?,
                })
            })
            .optional()?
            .unwrap_or_default())
    }

    fn set_sla_policy(&self, p: &SlaPolicy) -> StoreResult<()> {
        self.lock().execute(
            "INSERT OR REPLACE INTO sla_policy \
             (id, class_stopping_hours, wide_hours, room_hours, individual_hours) \
             VALUES (1, ?1, ?2, ?3, ?4)",
            params![
                p.class_stopping_hours,
                p.wide_hours,
                p.room_hours,
                p.individual_hours
            ],
        )?;
        Ok(())
    }

    fn article(&self, slug: &str) -> StoreResult<Option<ArticleRecord>> {
        let conn = self.lock();
        Ok(conn
            .prepare_cached(&format!(
                "SELECT {ARTICLE_COLS} FROM kb_articles WHERE slug = ?1"
            ))?
            .query_row([slug], article_row)
            .optional()?)
    }

    fn seed_articles(
        &self,
        articles: &[ArticleRecordInput],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<String>> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut inserted = Vec::new();
        for a in articles {
            let exists = tx
                .prepare_cached("SELECT 1 FROM kb_articles WHERE slug = ?1")?
                .exists([&a.slug])?;
            if !exists {
                upsert_article(&tx, a, now)?;
                inserted.push(a.slug.clone());
            }
        }
        tx.commit()?;
        Ok(inserted)
    }

    fn insert_deflection(&self, device_id: Uuid, d: &NewDeflection) -> StoreResult<Inserted<i64>> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let count = |tx: &Connection, slug: &str| -> rusqlite::Result<i64> {
            tx.prepare_cached("SELECT COUNT(*) FROM kb_deflections WHERE slug = ?1")?
                .query_row([slug], |r| r.get(0))
        };
        let existing: Option<(String, String)> = tx
            .prepare_cached("SELECT device_id, slug FROM kb_deflections WHERE client_id = ?1")?
            .query_row([d.client_id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((device, slug)) = existing {
            return if device == device_id.to_string() && slug == d.slug {
                Ok(Inserted::Existing(count(&tx, &slug)?))
            } else {
                Err(StoreError::Conflict(
                    "this client id was already used elsewhere".into(),
                ))
            };
        }
        let known = tx
            .prepare_cached("SELECT 1 FROM kb_articles WHERE slug = ?1")?
            .exists([&d.slug])?;
        if !known {
            return Err(StoreError::NotFound);
        }
        tx.prepare_cached(
            "INSERT INTO kb_deflections (client_id, slug, device_id, created_at, received_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            d.client_id.to_string(),
            d.slug,
            device_id.to_string(),
            rfc3339(d.created_at),
            ms(d.received_at)
        ])?;
        let n = count(&tx, &d.slug)?;
        tx.commit()?;
        Ok(Inserted::Created(n))
    }

    fn deflections(&self) -> StoreResult<Vec<DeflectionRecord>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT client_id, slug, device_id, received_at FROM kb_deflections \
             ORDER BY received_at",
        )?;
        let rows = stmt.query_map([], |r| {
            let client_id: String = r.get(0)?;
            let device_id: String = r.get(2)?;
            Ok(DeflectionRecord {
                client_id: parse_uuid(&client_id)?,
                slug: r.get(1)?,
                device_id: parse_uuid(&device_id)?,
                received_at: from_ms(r.get(3)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn announcement(&self, id: i64) -> StoreResult<Option<AnnouncementRecord>> {
        Ok(announcement_by_id(&self.lock(), id)?)
    }

    fn list_announcements(&self) -> StoreResult<Vec<AnnouncementSummary>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {ANNOUNCEMENT_COLS}, \
             (SELECT COUNT(*) FROM me_too m WHERE m.announcement_id = announcements.id), \
             (SELECT COUNT(*) FROM tickets t WHERE t.announcement_id = announcements.id) \
             FROM announcements ORDER BY starts_at DESC, id DESC"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok(AnnouncementSummary {
                announcement: announcement_row(r)?,
                me_too: r.get(9)?,
                linked_tickets: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn insert_me_too(&self, device: &DeviceRecord, m: &NewMeToo) -> StoreResult<Inserted<i64>> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<(String, i64)> = tx
            .prepare_cached("SELECT device_id, announcement_id FROM me_too WHERE client_id = ?1")?
            .query_row([m.client_id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((dev, id)) = existing {
            return if dev == device.id.to_string() && id == m.announcement_id {
                Ok(Inserted::Existing(me_too_count(&tx, id)?))
            } else {
                Err(StoreError::Conflict(
                    "this client id was already used elsewhere".into(),
                ))
            };
        }
        let visible = tx
            .prepare_cached(&format!(
                "SELECT 1 FROM announcements WHERE id = :id AND {VISIBLE_TO_DEVICE}"
            ))?
            .exists(rusqlite::named_params! {
                ":id": m.announcement_id,
                ":now": ms(m.received_at),
                ":school": device.school,
                ":building": device.building,
            })?;
        if !visible {
            return Err(StoreError::NotFound);
        }
        tx.prepare_cached(
            "INSERT INTO me_too (client_id, announcement_id, device_id, room, reporter, \
             created_at, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            m.client_id.to_string(),
            m.announcement_id,
            device.id.to_string(),
            m.room,
            m.reporter_json,
            rfc3339(m.created_at),
            ms(m.received_at)
        ])?;
        let n = me_too_count(&tx, m.announcement_id)?;
        tx.commit()?;
        Ok(Inserted::Created(n))
    }

    fn me_too_by_room(&self, announcement_id: i64) -> StoreResult<Vec<MeTooRoom>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT MIN(d.school), MIN(TRIM(m.room)), COUNT(*), MAX(m.received_at) \
             FROM me_too m JOIN devices d ON d.id = m.device_id \
             WHERE m.announcement_id = ?1 \
             GROUP BY LOWER(COALESCE(d.school, '')), LOWER(COALESCE(TRIM(m.room), '')) \
             ORDER BY COUNT(*) DESC, MIN(d.school), MIN(TRIM(m.room))",
        )?;
        let rows = stmt.query_map([announcement_id], |r| {
            let room: Option<String> = r.get(1)?;
            Ok(MeTooRoom {
                school: r.get(0)?,
                room: room.filter(|v| !v.is_empty()),
                reports: r.get(2)?,
                last_at: from_ms(r.get(3)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn link_tickets(
        &self,
        numbers: &[i64],
        announcement_id: Option<i64>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(id) = announcement_id {
            announcement_by_id(&tx, id)?.ok_or(StoreError::NotFound)?;
        }
        {
            let mut update = tx.prepare_cached(
                "UPDATE tickets SET announcement_id = ?2, updated_at = ?3 WHERE number = ?1",
            )?;
            for &number in numbers {
                // Dropping the transaction on an unknown number undoes the ones before it.
                if update.execute(params![number, announcement_id, ms(now)])? == 0 {
                    return Err(StoreError::NotFound);
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn announcement_tickets(&self, announcement_id: i64) -> StoreResult<Vec<TicketRecord>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {TICKET_COLS} FROM {TICKET_FROM} WHERE t.announcement_id = ?1 \
             ORDER BY t.number"
        ))?;
        let rows = stmt.query_map([announcement_id], ticket_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn end_announcement_resolving(
        &self,
        id: i64,
        author: &str,
        message: &str,
        now: OffsetDateTime,
    ) -> StoreResult<(AnnouncementRecord, Vec<TicketDetail>)> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE announcements SET ends_at = CASE WHEN ends_at IS NULL OR ends_at > ?2 \
             THEN ?2 ELSE ends_at END WHERE id = ?1",
            params![id, ms(now)],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let open: Vec<TicketRecord> = {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {TICKET_COLS} FROM {TICKET_FROM} WHERE t.announcement_id = ?1 \
                 AND t.status NOT IN ('resolved', 'closed') ORDER BY t.number"
            ))?;
            stmt.query_map([id], ticket_row)?
                .collect::<rusqlite::Result<_>>()?
        };
        let mut resolved = Vec::with_capacity(open.len());
        for ticket in open {
            let msg_id = Uuid::now_v7();
            tx.prepare_cached(
                "INSERT INTO messages (id, ticket_number, kind, author, body, created_at, at) \
                 VALUES (?1, ?2, 'technician', ?3, ?4, NULL, ?5)",
            )?
            .execute(params![
                msg_id.to_string(),
                ticket.number,
                author,
                message,
                ms(now)
            ])?;
            tx.prepare_cached(
                "INSERT INTO updates (device_id, ticket_number, kind, message_id, at) \
                 VALUES (?1, ?2, 'reply', ?3, ?4)",
            )?
            .execute(params![
                ticket.device_id.to_string(),
                ticket.number,
                msg_id.to_string(),
                ms(now)
            ])?;
            let status = TicketStatus::Resolved;
            tx.prepare_cached("UPDATE tickets SET status = ?2, updated_at = ?3 WHERE number = ?1")?
                .execute(params![ticket.number, status.as_str(), ms(now)])?;
            write_status_update(&tx, &ticket, status, ticket.assignee.as_deref(), now)?;
            resolved.push(detail_by_number(&tx, ticket.number)?);
        }
        let announcement = announcement_by_id(&tx, id)?.ok_or(StoreError::NotFound)?;
        tx.commit()?;
        Ok((announcement, resolved))
    }

    fn ticket_facts(&self) -> StoreResult<Vec<TicketFacts>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT t.number, t.device_id, d.hostname, d.school, d.building, t.room, \
             t.category, t.urgency, t.scope, t.status, t.summary, tech.name, t.self_help, \
             t.announcement_id, t.received_at, \
             (SELECT MIN(m.at) FROM messages m WHERE m.ticket_number = t.number \
              AND m.kind = 'technician'), \
             {RESOLVED_AT_SQL}, t.media_purged_at \
             FROM tickets t LEFT JOIN devices d ON d.id = t.device_id \
             LEFT JOIN technicians tech ON tech.id = t.assignee_id ORDER BY t.number"
        ))?;
        let rows = stmt.query_map([], |r| {
            let device_id: String = r.get(1)?;
            let category: String = r.get(6)?;
            let urgency: String = r.get(7)?;
            let scope: String = r.get(8)?;
            let status: String = r.get(9)?;
            Ok(TicketFacts {
                number: r.get(0)?,
                device_id: parse_uuid(&device_id)?,
                hostname: r.get(2)?,
                school: r.get(3)?,
                building: r.get(4)?,
                room: r.get(5)?,
                category: parse_choice(&category)?,
                urgency: parse_choice(&urgency)?,
                scope: parse_choice(&scope)?,
                status: parse_choice(&status)?,
                summary: r.get(10)?,
                assignee: r.get(11)?,
                self_help_json: r.get(12)?,
                announcement_id: r.get(13)?,
                received_at: from_ms(r.get(14)?),
                first_response_at: r.get::<_, Option<i64>>(15)?.map(from_ms),
                resolved_at: r.get::<_, Option<i64>>(16)?.map(from_ms),
                media_purged_at: r.get::<_, Option<i64>>(17)?.map(from_ms),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn retention_days(&self) -> StoreResult<u32> {
        let conn = self.lock();
        Ok(conn
            .prepare_cached("SELECT closed_ticket_days FROM retention_policy WHERE id = 1")?
            .query_row([], |r| r.get(0))
            .optional()?
            .unwrap_or(DEFAULT_RETENTION_DAYS))
    }

    fn set_retention_days(&self, days: u32) -> StoreResult<()> {
        self.lock().execute(
            "INSERT OR REPLACE INTO retention_policy (id, closed_ticket_days) VALUES (1, ?1)",
            [days],
        )?;
        Ok(())
    }

    fn purge_media(
        &self,
        closed_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<PurgeReport> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let due: Vec<(i64, bool, Option<i64>)> = {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT t.number, t.snapshot IS NOT NULL, \
                 (SELECT LENGTH(s.bytes) FROM screenshots s WHERE s.ticket_number = t.number) \
                 FROM tickets t WHERE t.status IN ('resolved', 'closed') \
                 AND ({RESOLVED_AT_SQL}) < ?1 \
                 AND (t.snapshot IS NOT NULL OR EXISTS \
                      (SELECT 1 FROM screenshots s WHERE s.ticket_number = t.number)) \
                 ORDER BY t.number"
            ))?;
            stmt.query_map([ms(closed_before)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<rusqlite::Result<_>>()?
        };
        let mut report = PurgeReport::default();
        for (number, has_snapshot, screenshot_len) in due {
            if let Some(len) = screenshot_len {
                tx.prepare_cached("DELETE FROM screenshots WHERE ticket_number = ?1")?
                    .execute([number])?;
                report.screenshots += 1;
                report.screenshot_bytes += len.max(0) as u64;
            }
            if has_snapshot {
                report.snapshots += 1;
            }
            tx.prepare_cached(
                "UPDATE tickets SET snapshot = NULL, media_purged_at = ?2 WHERE number = ?1",
            )?
            .execute(params![number, ms(now)])?;
            report.tickets.push(number);
        }
        tx.commit()?;
        Ok(report)
    }

    fn backup(&self, dest: &Path) -> StoreResult<()> {
        // VACUUM INTO reads inside one transaction, so the copy is consistent
        // even while other connections keep writing. It refuses an existing
        // file, so write beside the target and rename over it.
        let file_name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "backup.db".into());
        let tmp = dest.with_file_name(format!(".{file_name}.partial"));
        if tmp.exists() {
            std::fs::remove_file(&tmp)?;
        }
        let tmp_str = tmp.to_string_lossy().into_owned();
        self.lock().execute("VACUUM INTO ?1", [tmp_str])?;
        std::fs::rename(&tmp, dest)?;
        Ok(())
    }
}

fn bump_kb_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "UPDATE kb_meta SET version = version + 1 WHERE id = 1 RETURNING version",
        [],
        |r| r.get(0),
    )
}

fn upsert_article(
    conn: &Connection,
    a: &ArticleRecordInput,
    now: OffsetDateTime,
) -> StoreResult<ArticleRecord> {
    let version = bump_kb_version(conn)?;
    conn.execute(
        "INSERT INTO kb_articles (slug, title, body, categories, keywords, published, version, \
         updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (slug) DO UPDATE SET \
         title = excluded.title, body = excluded.body, categories = excluded.categories, \
         keywords = excluded.keywords, published = excluded.published, \
         version = excluded.version, updated_at = excluded.updated_at",
        params![
            a.slug,
            a.title,
            a.body,
            json_list(&a.categories)?,
            json_list(&a.keywords)?,
            a.published,
            version,
            ms(now)
        ],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(format!("an article with slug {:?} exists", a.slug))
        } else {
            e.into()
        }
    })?;
    Ok(ArticleRecord {
        slug: a.slug.clone(),
        title: a.title.clone(),
        body: a.body.clone(),
        categories: a.categories.clone(),
        keywords: a.keywords.clone(),
        published: a.published,
        version,
    })
}
