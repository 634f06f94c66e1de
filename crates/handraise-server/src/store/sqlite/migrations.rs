//! The schema: append-only migrations, applied in order and counted in
//! SQLite's `user_version`.

use super::super::{StoreError, StoreResult};
use rusqlite::{Connection, TransactionBehavior};

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
    // 4: technician API tokens belong to a console user (and carry its
    // role), may expire, and record when they were last used. A technician
    // whose tokens predate this gets a password-less technician-role user of
    // its name (which cannot sign in to the console); its tokens never expire.
    r#"
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);
INSERT INTO users (email, role, password_hash, technician_id, created_at)
SELECT CASE
        WHEN EXISTS (SELECT 1 FROM users u WHERE u.email = t.name)
          OR EXISTS (SELECT 1 FROM technicians o
                     WHERE o.name = t.name COLLATE NOCASE AND o.id < t.id)
        THEN t.name || ' #' || t.id
        ELSE t.name
    END,
    'technician', '', t.id, t.created_at
FROM technicians t
WHERE EXISTS (SELECT 1 FROM tech_tokens k WHERE k.technician_id = t.id)
  AND NOT EXISTS (SELECT 1 FROM users u WHERE u.technician_id = t.id)
ORDER BY t.id;
INSERT INTO api_tokens (token_hash, user_id, created_at, revoked_at)
SELECT k.token_hash, u.id, k.created_at, k.revoked_at
FROM tech_tokens k JOIN users u ON u.technician_id = k.technician_id
ORDER BY k.created_at;
DROP TABLE tech_tokens;
"#,
    // 5: help desks that tickets are forwarded to, the default desk, routing
    // rules, and the forwarding outbox (tickets and teacher messages), written
    // with what they carry.
    r#"
CREATE TABLE desks (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    queue TEXT NOT NULL,
    poll_secs INTEGER NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    last_success_at INTEGER,
    last_error TEXT,
    last_error_at INTEGER
);
CREATE TABLE desk_default (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    desk_id INTEGER REFERENCES desks(id),
    chosen INTEGER NOT NULL
);
INSERT INTO desk_default VALUES (1, NULL, 0);
CREATE TABLE forwards (
    ticket_number INTEGER PRIMARY KEY REFERENCES tickets(number),
    desk_id INTEGER NOT NULL REFERENCES desks(id),
    state TEXT NOT NULL,
    external_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER,
    last_seen INTEGER NOT NULL DEFAULT 0,
    polled_at INTEGER
);
CREATE INDEX forwards_due ON forwards(state, next_at);
CREATE INDEX forwards_desk ON forwards(desk_id, state);
CREATE TABLE message_forwards (
    message_id TEXT PRIMARY KEY REFERENCES messages(id),
    ticket_number INTEGER NOT NULL REFERENCES forwards(ticket_number),
    state TEXT NOT NULL,
    external_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX message_forwards_due ON message_forwards(state, next_at);
CREATE INDEX message_forwards_ticket ON message_forwards(ticket_number, state);
CREATE TABLE desk_routes (
    id INTEGER PRIMARY KEY,
    school TEXT,
    building TEXT,
    category TEXT,
    desk_id INTEGER REFERENCES desks(id),
    created_at INTEGER NOT NULL
);
"#,
];

/// The schema version this binary knows: the number of migrations.
pub fn known_version() -> u32 {
    MIGRATIONS.len() as u32
}

/// The database's schema version (`user_version`).
pub fn version(conn: &Connection) -> StoreResult<u32> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Refuses a database written by a newer binary: its schema may hold data
/// this one would misread or lose.
pub fn check_version(conn: &Connection) -> StoreResult<()> {
    let database = version(conn)?;
    let binary = known_version();
    if database > binary {
        return Err(StoreError::SchemaTooNew { database, binary });
    }
    Ok(())
}

/// Applies the pending migrations in one transaction; returns how many.
pub fn migrate(conn: &mut Connection) -> StoreResult<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    check_version(&tx)?;
    let current = version(&tx)?;
    let mut applied = 0;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as u32)?;
        applied += 1;
    }
    tx.commit()?;
    Ok(applied)
}
