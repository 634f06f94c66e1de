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
    // 5: technician API tokens from before tokens expired (migration 4 left
    // them without an expiry) expire 90 days after the upgrade, the default
    // lifetime of a new token.
    r#"
UPDATE api_tokens
SET expires_at = CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) + 7776000000
WHERE expires_at IS NULL;
"#,
    // 6: enrollment tokens may name a school and building, expire and have a use limit
    // (rebuilt with a stable `id`, keeping each token's rowid as its id); devices keep
    // the agent's hashed machine id and whether an admin allowed a revoked computer
    // back; every enrollment is recorded with its token and the device of the same
    // computer it follows. Tokens from before never expire and have no limit.
    r#"
CREATE TABLE enroll_tokens_new (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    school TEXT,
    building TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    max_uses INTEGER,
    revoked_at INTEGER
);
INSERT INTO enroll_tokens_new (id, token_hash, label, created_at, revoked_at)
SELECT rowid, token_hash, label, created_at, revoked_at FROM enroll_tokens ORDER BY rowid;
DROP TABLE enroll_tokens;
ALTER TABLE enroll_tokens_new RENAME TO enroll_tokens;
ALTER TABLE devices ADD COLUMN machine_id TEXT;
ALTER TABLE devices ADD COLUMN reenroll_allowed_at INTEGER;
CREATE INDEX devices_machine ON devices(machine_id);
CREATE TABLE enrollments (
    id INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id),
    token_id INTEGER REFERENCES enroll_tokens(id),
    previous_device_id TEXT REFERENCES devices(id),
    at INTEGER NOT NULL
);
CREATE INDEX enrollments_token ON enrollments(token_id, at);
CREATE INDEX enrollments_previous ON enrollments(previous_device_id);
"#,
    // 7: the database's generation, new after each restore from a backup, so
    // that agents send again what the restored database lost.
    r#"
CREATE TABLE server_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO server_meta (key, value) VALUES ('generation', lower(hex(randomblob(16))));
"#,
    // 8: per-device daily quotas (what each device sent on each UTC day,
    // counted in the same transaction as the write), and one "me too" per
    // device and announcement, one "this fixed it" per device and article:
    // repeats already stored are folded into the earliest.
    r#"
CREATE TABLE device_usage (
    device_id TEXT NOT NULL,
    day INTEGER NOT NULL,
    tickets INTEGER NOT NULL DEFAULT 0,
    messages INTEGER NOT NULL DEFAULT 0,
    screenshot_bytes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, day)
) WITHOUT ROWID;
DELETE FROM me_too WHERE EXISTS (
    SELECT 1 FROM me_too o
    WHERE o.announcement_id = me_too.announcement_id AND o.device_id = me_too.device_id
      AND (o.received_at < me_too.received_at
           OR (o.received_at = me_too.received_at AND o.rowid < me_too.rowid)));
CREATE UNIQUE INDEX me_too_device ON me_too(announcement_id, device_id);
DELETE FROM kb_deflections WHERE EXISTS (
    SELECT 1 FROM kb_deflections o
    WHERE o.slug = kb_deflections.slug AND o.device_id = kb_deflections.device_id
      AND (o.received_at < kb_deflections.received_at
           OR (o.received_at = kb_deflections.received_at AND o.rowid < kb_deflections.rowid)));
CREATE UNIQUE INDEX kb_deflections_device ON kb_deflections(slug, device_id);
"#,
    // 9: help desks that tickets are forwarded to, the default desk, routing
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
    // 10: console users who sign in with OpenID Connect: the provider's issuer and
    // subject, linked at the first sign-in, so that an email address given to
    // someone else later does not sign them in as the first person.
    r#"
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX users_oidc_subject ON users (oidc_subject) WHERE oidc_subject IS NOT NULL;
"#,
    // 11: the web report page: a device per district account, and its sessions.
    r#"
CREATE TABLE web_reporters (
    subject TEXT PRIMARY KEY,
    device_id TEXT NOT NULL UNIQUE REFERENCES devices(id),
    email TEXT NOT NULL,
    name TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id),
    csrf_token TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);
"#,
    // 12: webhook desks (notifiers: never a ticket's system of record), their
    // cursors over tickets and teacher messages, and their outbox of signed
    // events; an event's key is unique per webhook (the receiver's dedupe id).
    r#"
CREATE TABLE webhooks (
    desk_id INTEGER PRIMARY KEY REFERENCES desks(id),
    me_too_threshold INTEGER NOT NULL,
    ticket_cursor INTEGER NOT NULL,
    message_cursor INTEGER NOT NULL
);
CREATE TABLE webhook_events (
    id INTEGER PRIMARY KEY,
    desk_id INTEGER NOT NULL REFERENCES desks(id),
    event_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER,
    UNIQUE (desk_id, event_key)
);
CREATE INDEX webhook_events_due ON webhook_events(state, next_at);
CREATE INDEX webhook_events_desk ON webhook_events(desk_id, state);
"#,
    // 13: desks of other kinds (email, osTicket): their options (JSON) and the
    // password of the mailbox replies are read from; on a ticket's forward,
    // whether a create is in flight and whether a create-only desk's receipt
    // was lost; and the mail read from a desk's mailbox, once per Message-ID
    // (a reply to no forwarded ticket is kept with no ticket, and counted).
    r#"
ALTER TABLE desks ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
ALTER TABLE desks ADD COLUMN mailbox_secret TEXT;
ALTER TABLE forwards ADD COLUMN in_flight INTEGER NOT NULL DEFAULT 0;
ALTER TABLE forwards ADD COLUMN receipt_lost INTEGER NOT NULL DEFAULT 0;
CREATE TABLE desk_mail (
    desk_id INTEGER NOT NULL REFERENCES desks(id),
    message_id TEXT NOT NULL,
    ticket_number INTEGER REFERENCES tickets(number),
    received_at INTEGER NOT NULL,
    PRIMARY KEY (desk_id, message_id)
) WITHOUT ROWID;
"#,
    // 14: several server nodes on one database: leases (which node runs a
    // background job), console sign-in failures per email and per address
    // (levels in thousandths, times in ms), and the OpenID Connect sign-ins
    // under way (by the hash of their state; single use, expiring).
    r#"
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE signin_failures (
    failure_key TEXT PRIMARY KEY,
    level_milli INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL
);
CREATE TABLE oidc_pending (
    state_hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    nonce TEXT NOT NULL,
    verifier TEXT NOT NULL,
    browser_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oidc_pending_created ON oidc_pending(created_at);
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
