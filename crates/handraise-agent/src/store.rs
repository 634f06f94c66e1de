//! The durable outbox and offline cache: one SQLite file, `DATA_DIR/agent.db`.
//!
//! Invariants: the outbox never touches the network; every logical change is
//! one transaction; nothing in the outbox is ever deleted (a refused item is
//! marked `rejected` and kept); migrations are append-only.

use handraise_wire::{
    Announcement, AnnouncementList, Article, Author, Category, DeviceSnapshot, KbChanges,
    MessageReceipt, NewMessage, NewTicket, TicketReceipt, TicketStatus, UpdateKind, UpdatesPage,
};
use rusqlite::{Connection, ErrorCode, OptionalExtension, Transaction, params};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::error::StoreError;
use crate::sync::plan::{
    BackoffState, QueuedEvent, QueuedMessage, QueuedScreenshot, QueuedTicket, SyncState,
};

/// Append-only list of migrations; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE tickets (
    client_id     TEXT PRIMARY KEY,
    created_at    TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    category      TEXT NOT NULL,
    summary       TEXT NOT NULL,
    payload       TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued','sent','rejected')),
    number        INTEGER,
    status        TEXT,
    assignee      TEXT,
    reject_reason TEXT,
    unread        INTEGER NOT NULL DEFAULT 0,
    updated_at    TEXT NOT NULL
);
CREATE TABLE screenshots (
    ticket_client_id TEXT PRIMARY KEY REFERENCES tickets(client_id),
    bytes            BLOB NOT NULL,
    content_type     TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued','sent','dropped','rejected')),
    reason           TEXT
);
CREATE TABLE outgoing_messages (
    client_id        TEXT PRIMARY KEY,
    ticket_client_id TEXT NOT NULL REFERENCES tickets(client_id),
    body             TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    created_ms       INTEGER NOT NULL,
    state            TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued','sent','rejected')),
    reject_reason    TEXT
);
CREATE INDEX outgoing_messages_ticket ON outgoing_messages(ticket_client_id);
CREATE TABLE incoming_messages (
    id               TEXT PRIMARY KEY,
    ticket_client_id TEXT NOT NULL,
    author           TEXT NOT NULL,
    author_name      TEXT,
    body             TEXT NOT NULL,
    at               TEXT NOT NULL,
    at_ms            INTEGER NOT NULL,
    seq              INTEGER NOT NULL
);
CREATE INDEX incoming_messages_ticket ON incoming_messages(ticket_client_id);
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE snapshot_cache (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    collected_ms INTEGER NOT NULL,
    full         INTEGER NOT NULL,
    json         TEXT NOT NULL
);
CREATE TABLE kb_articles (
    slug       TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    categories TEXT NOT NULL,
    keywords   TEXT NOT NULL,
    version    INTEGER NOT NULL
);
CREATE VIRTUAL TABLE kb_fts USING fts5(
    slug UNINDEXED, title, body, keywords, categories UNINDEXED,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE announcements (
    id       INTEGER PRIMARY KEY,
    json     TEXT NOT NULL
);
CREATE TABLE deflections (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    article_slug TEXT NOT NULL,
    at           TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE ticket_feedback (
    client_id TEXT PRIMARY KEY REFERENCES tickets(client_id),
    fixed     INTEGER,
    rating    INTEGER CHECK (rating BETWEEN 1 AND 5)
);
"#,
    r#"
CREATE TABLE outgoing_events (
    client_id     TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    path          TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    state         TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued','sent','rejected')),
    reject_reason TEXT
);
"#,
];

const META_CURSOR: &str = "updates_cursor";
const META_KB_VERSION: &str = "kb_version";
const META_KB_REFRESHED: &str = "kb_refreshed_at";
const META_ANN_REFRESHED: &str = "announcements_refreshed_at";
const META_PAUSED: &str = "paused_reason";
const META_BACKOFF_ATTEMPT: &str = "backoff_attempt";
const META_NEXT_ATTEMPT: &str = "backoff_next_attempt_at";
const META_LAST_CONTACT: &str = "last_contact_at";
const META_LAST_LATENCY: &str = "last_latency_ms";
const META_LAST_ERROR: &str = "last_error";
const META_LAST_ERROR_AT: &str = "last_error_at";
const META_CLOCK_SKEW: &str = "clock_skew_secs";

/// State of an outgoing item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    Queued,
    Sent,
    Rejected,
    /// A technician reply, received from the server.
    Received,
    /// A screenshot the server would not take (too large); the ticket went without it.
    Dropped,
}

impl ItemState {
    fn parse(s: &str) -> ItemState {
        match s {
            "sent" => ItemState::Sent,
            "rejected" => ItemState::Rejected,
            "received" => ItemState::Received,
            "dropped" => ItemState::Dropped,
            _ => ItemState::Queued,
        }
    }
}

/// A message on a ticket, as the teacher sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageView {
    pub id: Uuid,
    pub author: Author,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `queued` | `sent` | `rejected` for teacher messages, `received` for replies.
    pub state: ItemState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_reason: Option<String>,
}

/// The screenshot attached to a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScreenshotView {
    pub state: ItemState,
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A local ticket with everything the teacher is shown about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketView {
    pub client_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub category: Category,
    pub summary: String,
    pub details: Option<String>,
    /// `queued` | `sent` | `rejected`.
    pub state: ItemState,
    /// Ticket number once the server has it.
    pub number: Option<i64>,
    /// Help-desk status once known.
    pub status: Option<TicketStatus>,
    pub assignee: Option<String>,
    pub reject_reason: Option<String>,
    /// A status change or reply the teacher has not looked at yet.
    pub unread: bool,
    pub screenshot: Option<ScreenshotView>,
    /// Teacher messages and technician replies, oldest first.
    pub messages: Vec<MessageView>,
}

/// What the sync engine last learnt about the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContactInfo {
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_contact_at: Option<OffsetDateTime>,
    pub last_latency_ms: Option<u64>,
    /// The last failure, if it came after the last contact.
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_error_at: Option<OffsetDateTime>,
    /// Device clock minus server clock, seconds.
    pub clock_skew_secs: Option<i64>,
}

impl ContactInfo {
    /// Whether the last attempt reached the server (`None` = never tried).
    pub fn reachable(&self) -> Option<bool> {
        match (self.last_contact_at, self.last_error_at) {
            (None, None) => None,
            (Some(_), None) => Some(true),
            (None, Some(_)) => Some(false),
            (Some(ok), Some(err)) => Some(ok >= err),
        }
    }
}

/// Counts of what is still waiting to be sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueCounts {
    pub tickets: usize,
    pub screenshots: usize,
    pub messages: usize,
    /// "Me too"s and "this fixed it"s waiting to be told to the server.
    pub events: usize,
}

impl QueueCounts {
    pub fn total(&self) -> usize {
        self.tickets + self.screenshots + self.messages + self.events
    }
}

/// One self-help search hit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KbHit {
    pub slug: String,
    pub title: String,
    /// A short excerpt of the body around the matched words.
    pub snippet: String,
    pub categories: Vec<Category>,
    /// Lower is better (bm25, boosted for the category).
    pub score: f64,
}

/// A cached snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedSnapshot {
    pub snapshot: DeviceSnapshot,
    pub collected_at: OffsetDateTime,
    /// Collected with CPU sampling and processes (not the quick variant).
    pub full: bool,
}

/// The agent's SQLite database.
pub struct Store {
    conn: Connection,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

fn ts(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn parse_ts(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn from_ms(v: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A KB row `(slug, title, snippet, categories, score)` as a search hit.
fn kb_hit(r: &rusqlite::Row<'_>) -> rusqlite::Result<KbHit> {
    Ok(KbHit {
        slug: r.get(0)?,
        title: r.get(1)?,
        snippet: r.get(2)?,
        categories: r
            .get::<_, String>(3)?
            .split_whitespace()
            .filter_map(|c| Category::from_str(c).ok())
            .collect(),
        score: r.get(4)?,
    })
}

fn parse_uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap_or_default()
}

fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt)
    )
}

impl Store {
    /// Opens (creating and migrating) `path`. A corrupt file is moved aside to
    /// `agent.db.corrupt-<unix seconds>` and a fresh database created; the path
    /// it was moved to is returned so callers can tell the user.
    pub fn open(path: &Path, now: OffsetDateTime) -> Result<(Store, Option<PathBuf>), StoreError> {
        match Self::try_open(path) {
            Ok(store) => Ok((store, None)),
            Err(StoreError::Sqlite(e)) if is_corruption(&e) => {
                let aside = PathBuf::from(format!(
                    "{}.corrupt-{}",
                    path.display(),
                    now.unix_timestamp()
                ));
                tracing::error!(
                    db = %path.display(),
                    moved_to = %aside.display(),
                    error = %e,
                    "the local database is damaged; it was moved aside and a fresh one created"
                );
                std::fs::rename(path, &aside).map_err(|source| StoreError::Io {
                    path: path.to_owned(),
                    source,
                })?;
                for suffix in ["-wal", "-shm"] {
                    let side = PathBuf::from(format!("{}{suffix}", path.display()));
                    if side.exists() {
                        let _ = std::fs::rename(&side, format!("{}{suffix}", aside.display()));
                    }
                }
                Ok((Self::try_open(path)?, Some(aside)))
            }
            Err(e) => Err(e),
        }
    }

    fn try_open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
                Some(check),
            )));
        }
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        // FULL: a report the window called "saved" survives a power cut too, not only a
        // crash (NORMAL may lose the last commits on power loss). A report is a few commits
        // a day, so the fsync costs nothing the teacher notices.
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        let mut store = Store { conn };
        store.migrate()?;
        Ok(store)
    }

    /// A private in-memory database (tests).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        let mut store = Store { conn };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let applied: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let applied = usize::try_from(applied).unwrap_or(0);
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            tx.execute_batch(sql)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        }
        tx.commit()?;
        Ok(())
    }

    // ---- meta -----------------------------------------------------------

    fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
        Ok(conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn meta_set(conn: &Connection, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        match value {
            Some(v) => conn.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, v],
            )?,
            None => conn.execute("DELETE FROM meta WHERE key = ?1", [key])?,
        };
        Ok(())
    }

    fn meta_i64(conn: &Connection, key: &str) -> Result<Option<i64>, StoreError> {
        Ok(Self::meta_get(conn, key)?.and_then(|v| v.parse().ok()))
    }

    fn meta_time(conn: &Connection, key: &str) -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(Self::meta_get(conn, key)?.and_then(|v| parse_ts(&v)))
    }

    /// SQLite's `data_version`: changes when another connection (another process sharing
    /// this data directory) commits.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// A teacher preference (name, room, …) kept between windows.
    pub fn pref(&self, key: &str) -> Result<Option<String>, StoreError> {
        Self::meta_get(&self.conn, &format!("pref.{key}"))
    }

    pub fn set_pref(&self, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        Self::meta_set(&self.conn, &format!("pref.{key}"), value)
    }

    /// The teacher's verdict on a resolved ticket: (fixed, rating).
    pub fn feedback(&self, client_id: Uuid) -> Result<(Option<bool>, Option<u8>), StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT fixed, rating FROM ticket_feedback WHERE client_id = ?1",
                [client_id.to_string()],
                |r| Ok((r.get::<_, Option<bool>>(0)?, r.get::<_, Option<u8>>(1)?)),
            )
            .optional()?
            .unwrap_or((None, None)))
    }

    /// Records "It's fixed" / "Still broken" (`fixed`) or a 1–5 rating.
    pub fn set_feedback(
        &self,
        client_id: Uuid,
        fixed: Option<bool>,
        rating: Option<u8>,
    ) -> Result<(), StoreError> {
        let known: bool = self.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM tickets WHERE client_id = ?1)",
            [client_id.to_string()],
            |r| r.get(0),
        )?;
        if !known {
            return Err(StoreError::UnknownTicket(client_id));
        }
        self.conn.execute(
            "INSERT INTO ticket_feedback(client_id, fixed, rating) VALUES (?1, ?2, ?3)
             ON CONFLICT(client_id) DO UPDATE SET
               fixed = coalesce(excluded.fixed, fixed),
               rating = coalesce(excluded.rating, rating)",
            params![client_id.to_string(), fixed, rating],
        )?;
        Ok(())
    }

    /// The saved updates-feed cursor (0 = from the beginning).
    pub fn cursor(&self) -> Result<i64, StoreError> {
        Ok(Self::meta_i64(&self.conn, META_CURSOR)?.unwrap_or(0))
    }

    /// Starts the updates feed from the beginning (a new device identity has
    /// its own feed; applying old updates again is harmless).
    pub fn reset_cursor(&self) -> Result<(), StoreError> {
        Self::meta_set(&self.conn, META_CURSOR, Some("0"))
    }

    /// The knowledge-base version of the cache (0 = empty).
    pub fn kb_version(&self) -> Result<i64, StoreError> {
        Ok(Self::meta_i64(&self.conn, META_KB_VERSION)?.unwrap_or(0))
    }

    /// Why the queue is paused, if it is.
    pub fn paused(&self) -> Result<Option<String>, StoreError> {
        Self::meta_get(&self.conn, META_PAUSED)
    }

    /// Pauses (Some) or resumes (None) the whole queue.
    pub fn set_paused(&self, reason: Option<&str>) -> Result<(), StoreError> {
        Self::meta_set(&self.conn, META_PAUSED, reason)
    }

    pub fn backoff(&self) -> Result<BackoffState, StoreError> {
        Ok(BackoffState {
            attempt: Self::meta_i64(&self.conn, META_BACKOFF_ATTEMPT)?
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0),
            next_attempt_at: Self::meta_time(&self.conn, META_NEXT_ATTEMPT)?,
        })
    }

    pub fn set_backoff(&self, state: BackoffState) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        Self::meta_set(&tx, META_BACKOFF_ATTEMPT, Some(&state.attempt.to_string()))?;
        Self::meta_set(
            &tx,
            META_NEXT_ATTEMPT,
            state.next_attempt_at.map(ts).as_deref(),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records an answer from the server (any HTTP status) and how long it took.
    pub fn record_contact(
        &self,
        at: OffsetDateTime,
        latency: Duration,
        clock_skew_secs: Option<i64>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        Self::meta_set(&tx, META_LAST_CONTACT, Some(&ts(at)))?;
        let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        Self::meta_set(&tx, META_LAST_LATENCY, Some(&latency_ms.to_string()))?;
        if let Some(skew) = clock_skew_secs {
            Self::meta_set(&tx, META_CLOCK_SKEW, Some(&skew.to_string()))?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records a failure to reach the server.
    pub fn record_failure(&self, at: OffsetDateTime, error: &str) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        Self::meta_set(&tx, META_LAST_ERROR, Some(error))?;
        Self::meta_set(&tx, META_LAST_ERROR_AT, Some(&ts(at)))?;
        tx.commit()?;
        Ok(())
    }

    pub fn contact(&self) -> Result<ContactInfo, StoreError> {
        let c = &self.conn;
        Ok(ContactInfo {
            last_contact_at: Self::meta_time(c, META_LAST_CONTACT)?,
            last_latency_ms: Self::meta_i64(c, META_LAST_LATENCY)?
                .and_then(|v| u64::try_from(v).ok()),
            last_error: Self::meta_get(c, META_LAST_ERROR)?,
            last_error_at: Self::meta_time(c, META_LAST_ERROR_AT)?,
            clock_skew_secs: Self::meta_i64(c, META_CLOCK_SKEW)?,
        })
    }

    // ---- outbox ---------------------------------------------------------

    /// Saves a new ticket (and its screenshot) in one transaction. Saving the
    /// same client id again changes nothing.
    pub fn insert_ticket(
        &self,
        ticket: &NewTicket,
        screenshot: Option<(&[u8], &str)>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let payload = serde_json::to_string(ticket)?;
        let tx = self.conn.unchecked_transaction()?;
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO tickets
               (client_id, created_at, created_ms, category, summary, payload, state, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7)",
            params![
                ticket.client_id.to_string(),
                ts(ticket.created_at),
                ms(ticket.created_at),
                ticket.category.as_str(),
                ticket.summary,
                payload,
                ts(now),
            ],
        )?;
        if inserted == 1
            && let Some((bytes, content_type)) = screenshot
        {
            tx.execute(
                "INSERT INTO screenshots (ticket_client_id, bytes, content_type, state)
                     VALUES (?1, ?2, ?3, 'queued')",
                params![ticket.client_id.to_string(), bytes, content_type],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Queues a teacher message on a local ticket, in one transaction.
    pub fn insert_message(
        &self,
        ticket_client_id: Uuid,
        message: &NewMessage,
    ) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let exists: Option<String> = tx
            .query_row(
                "SELECT state FROM tickets WHERE client_id = ?1",
                [ticket_client_id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_none() {
            return Err(StoreError::UnknownTicket(ticket_client_id));
        }
        tx.execute(
            "INSERT OR IGNORE INTO outgoing_messages
               (client_id, ticket_client_id, body, created_at, created_ms, state)
             VALUES (?1, ?2, ?3, ?4, ?5, 'queued')",
            params![
                message.client_id.to_string(),
                ticket_client_id.to_string(),
                message.body,
                ts(message.created_at),
                ms(message.created_at),
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The stored request body of a ticket.
    pub fn ticket_payload(&self, client_id: Uuid) -> Result<NewTicket, StoreError> {
        let json: Option<String> = self
            .conn
            .query_row(
                "SELECT payload FROM tickets WHERE client_id = ?1",
                [client_id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        let json = json.ok_or(StoreError::UnknownTicket(client_id))?;
        Ok(serde_json::from_str(&json)?)
    }

    /// A queued message: its ticket and request body.
    pub fn message_payload(&self, client_id: Uuid) -> Result<(Uuid, NewMessage), StoreError> {
        let row: Option<(String, String, String)> = self
            .conn
            .query_row(
                "SELECT ticket_client_id, body, created_at FROM outgoing_messages WHERE client_id = ?1",
                [client_id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let (ticket, body, created_at) = row.ok_or(StoreError::UnknownTicket(client_id))?;
        Ok((
            parse_uuid(&ticket),
            NewMessage {
                client_id,
                created_at: parse_ts(&created_at).unwrap_or(OffsetDateTime::UNIX_EPOCH),
                body,
            },
        ))
    }

    /// The screenshot of a ticket: bytes and content type.
    pub fn screenshot(&self, ticket_client_id: Uuid) -> Result<(Vec<u8>, String), StoreError> {
        self.conn
            .query_row(
                "SELECT bytes, content_type FROM screenshots WHERE ticket_client_id = ?1",
                [ticket_client_id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or(StoreError::UnknownTicket(ticket_client_id))
    }

    /// Whether a ticket is sent (so its screenshot and messages may follow).
    pub fn ticket_is_sent(&self, client_id: Uuid) -> Result<bool, StoreError> {
        let state: Option<String> = self
            .conn
            .query_row(
                "SELECT state FROM tickets WHERE client_id = ?1",
                [client_id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(state.as_deref() == Some("sent"))
    }

    pub fn mark_ticket_sent(
        &self,
        receipt: &TicketReceipt,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE tickets SET state = 'sent', number = ?2, reject_reason = NULL,
                    status = COALESCE(status, ?3), updated_at = ?4
             WHERE client_id = ?1",
            params![
                receipt.client_id.to_string(),
                receipt.number,
                receipt.status.as_str(),
                ts(now)
            ],
        )?;
        Ok(())
    }

    /// Marks a ticket rejected with the server's reason; its queued screenshot
    /// and messages cannot go without it and are marked rejected too. Kept.
    pub fn mark_ticket_rejected(
        &self,
        client_id: Uuid,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let id = client_id.to_string();
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "UPDATE tickets SET state = 'rejected', reject_reason = ?2, updated_at = ?3
             WHERE client_id = ?1 AND state = 'queued'",
            params![id, reason, ts(now)],
        )?;
        tx.execute(
            "UPDATE screenshots SET state = 'rejected', reason = 'the ticket was not accepted'
             WHERE ticket_client_id = ?1 AND state = 'queued'",
            [&id],
        )?;
        tx.execute(
            "UPDATE outgoing_messages SET state = 'rejected', reject_reason = 'the ticket was not accepted'
             WHERE ticket_client_id = ?1 AND state = 'queued'",
            [&id],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn mark_message_sent(&self, receipt: &MessageReceipt) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outgoing_messages SET state = 'sent', reject_reason = NULL WHERE client_id = ?1",
            [receipt.client_id.to_string()],
        )?;
        Ok(())
    }

    pub fn mark_message_rejected(&self, client_id: Uuid, reason: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outgoing_messages SET state = 'rejected', reject_reason = ?2
             WHERE client_id = ?1 AND state = 'queued'",
            params![client_id.to_string(), reason],
        )?;
        Ok(())
    }

    /// Sets the state of a ticket's screenshot (`sent`, `dropped`, `rejected`).
    pub fn mark_screenshot(
        &self,
        ticket_client_id: Uuid,
        state: ItemState,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let state = match state {
            ItemState::Sent => "sent",
            ItemState::Dropped => "dropped",
            ItemState::Rejected => "rejected",
            _ => "queued",
        };
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "UPDATE screenshots SET state = ?2, reason = ?3 WHERE ticket_client_id = ?1",
            params![ticket_client_id.to_string(), state, reason],
        )?;
        if state == "dropped" {
            // The teacher is told through the unread flag and the screenshot state.
            tx.execute(
                "UPDATE tickets SET unread = 1 WHERE client_id = ?1",
                [ticket_client_id.to_string()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// What the planner needs, read in one transaction.
    pub fn sync_state(&self, enrolled: bool) -> Result<SyncState, StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let tickets = {
            let mut stmt = tx.prepare(
                "SELECT client_id, created_ms FROM tickets WHERE state = 'queued'
                 ORDER BY created_ms, client_id",
            )?;
            stmt.query_map([], |r| {
                Ok(QueuedTicket {
                    client_id: parse_uuid(&r.get::<_, String>(0)?),
                    created_at: from_ms(r.get(1)?),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?
        };
        let screenshots = {
            let mut stmt = tx.prepare(
                "SELECT s.ticket_client_id, t.state FROM screenshots s
                 JOIN tickets t ON t.client_id = s.ticket_client_id
                 WHERE s.state = 'queued' AND t.state IN ('queued','sent')
                 ORDER BY t.created_ms, t.client_id",
            )?;
            stmt.query_map([], |r| {
                Ok(QueuedScreenshot {
                    ticket_client_id: parse_uuid(&r.get::<_, String>(0)?),
                    ticket_sent: r.get::<_, String>(1)? == "sent",
                })
            })?
            .collect::<Result<Vec<_>, _>>()?
        };
        let messages = {
            let mut stmt = tx.prepare(
                "SELECT m.client_id, m.ticket_client_id, m.created_ms, t.state
                 FROM outgoing_messages m JOIN tickets t ON t.client_id = m.ticket_client_id
                 WHERE m.state = 'queued' AND t.state IN ('queued','sent')
                 ORDER BY m.created_ms, m.client_id",
            )?;
            stmt.query_map([], |r| {
                Ok(QueuedMessage {
                    client_id: parse_uuid(&r.get::<_, String>(0)?),
                    ticket_client_id: parse_uuid(&r.get::<_, String>(1)?),
                    created_at: from_ms(r.get(2)?),
                    ticket_sent: r.get::<_, String>(3)? == "sent",
                })
            })?
            .collect::<Result<Vec<_>, _>>()?
        };
        let events = {
            let mut stmt = tx.prepare(
                "SELECT client_id, created_ms FROM outgoing_events WHERE state = 'queued'
                 ORDER BY created_ms, client_id",
            )?;
            stmt.query_map([], |r| {
                Ok(QueuedEvent {
                    client_id: parse_uuid(&r.get::<_, String>(0)?),
                    created_at: from_ms(r.get(1)?),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?
        };
        let state = SyncState {
            enrolled,
            events,
            paused: Self::meta_get(&tx, META_PAUSED)?,
            backoff: BackoffState {
                attempt: Self::meta_i64(&tx, META_BACKOFF_ATTEMPT)?
                    .and_then(|v| u32::try_from(v).ok())
                    .unwrap_or(0),
                next_attempt_at: Self::meta_time(&tx, META_NEXT_ATTEMPT)?,
            },
            tickets,
            screenshots,
            messages,
            last_kb_refresh: Self::meta_time(&tx, META_KB_REFRESHED)?,
            last_announcements_refresh: Self::meta_time(&tx, META_ANN_REFRESHED)?,
        };
        tx.commit()?;
        Ok(state)
    }

    /// How much is still waiting to be sent.
    pub fn queue_counts(&self) -> Result<QueueCounts, StoreError> {
        let count = |sql: &str| -> Result<usize, StoreError> {
            let n: i64 = self.conn.query_row(sql, [], |r| r.get(0))?;
            Ok(usize::try_from(n).unwrap_or(0))
        };
        Ok(QueueCounts {
            tickets: count("SELECT COUNT(*) FROM tickets WHERE state = 'queued'")?,
            screenshots: count(
                "SELECT COUNT(*) FROM screenshots s JOIN tickets t ON t.client_id = s.ticket_client_id
                 WHERE s.state = 'queued' AND t.state <> 'rejected'",
            )?,
            messages: count(
                "SELECT COUNT(*) FROM outgoing_messages m JOIN tickets t ON t.client_id = m.ticket_client_id
                 WHERE m.state = 'queued' AND t.state <> 'rejected'",
            )?,
            events: count("SELECT COUNT(*) FROM outgoing_events WHERE state = 'queued'")?,
        })
    }

    // ---- updates feed ---------------------------------------------------

    /// Applies one page of the updates feed and saves its cursor in the same
    /// transaction. Applying a page twice leaves the same state. Returns how
    /// many updates changed something.
    pub fn apply_updates(
        &self,
        page: &UpdatesPage,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let mut changed = 0;
        for u in &page.updates {
            let id = u.ticket_client_id.to_string();
            // A ticket sent just before a crash may still say queued: the feed proves it arrived.
            tx.execute(
                "UPDATE tickets SET state = 'sent', number = ?2, reject_reason = NULL, updated_at = ?3
                 WHERE client_id = ?1 AND state = 'queued'",
                params![id, u.ticket_number, ts(now)],
            )?;
            changed += match &u.kind {
                UpdateKind::Status { status, assignee } => tx.execute(
                    "UPDATE tickets SET status = ?2, assignee = COALESCE(?3, assignee),
                            unread = 1, updated_at = ?4, number = COALESCE(number, ?5)
                     WHERE client_id = ?1
                       AND (status IS NOT ?2 OR (?3 IS NOT NULL AND assignee IS NOT ?3))",
                    params![id, status.as_str(), assignee, ts(now), u.ticket_number],
                )?,
                UpdateKind::Reply { message } => {
                    let author = match message.author {
                        Author::Teacher => "teacher",
                        Author::Technician => "technician",
                    };
                    let known: Option<i64> = tx
                        .query_row("SELECT 1 FROM tickets WHERE client_id = ?1", [&id], |r| {
                            r.get(0)
                        })
                        .optional()?;
                    if known.is_none() {
                        0
                    } else {
                        let n = tx.execute(
                            "INSERT OR IGNORE INTO incoming_messages
                               (id, ticket_client_id, author, author_name, body, at, at_ms, seq)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                            params![
                                message.id.to_string(),
                                id,
                                author,
                                message.author_name,
                                message.body,
                                ts(message.at),
                                ms(message.at),
                                u.seq
                            ],
                        )?;
                        if n > 0 {
                            tx.execute(
                                "UPDATE tickets SET unread = 1, updated_at = ?2 WHERE client_id = ?1",
                                params![id, ts(now)],
                            )?;
                        }
                        n
                    }
                }
                UpdateKind::Unknown => 0,
            };
        }
        let current = Self::meta_i64(&tx, META_CURSOR)?.unwrap_or(0);
        Self::meta_set(
            &tx,
            META_CURSOR,
            Some(&current.max(page.cursor).to_string()),
        )?;
        tx.commit()?;
        Ok(changed)
    }

    /// Clears the unread flag of a ticket (the teacher looked at it).
    pub fn mark_read(&self, client_id: Uuid) -> Result<(), StoreError> {
        let n = self.conn.execute(
            "UPDATE tickets SET unread = 0 WHERE client_id = ?1",
            [client_id.to_string()],
        )?;
        if n == 0 {
            return Err(StoreError::UnknownTicket(client_id));
        }
        Ok(())
    }

    // ---- views ----------------------------------------------------------

    /// Every local ticket, oldest first, with its messages.
    pub fn tickets(&self) -> Result<Vec<TicketView>, StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let mut out = Vec::new();
        {
            let mut stmt = tx.prepare(
                "SELECT t.client_id, t.created_at, t.category, t.summary, t.state, t.number,
                        t.status, t.assignee, t.reject_reason, t.unread,
                        s.state, length(s.bytes), s.reason, json_extract(t.payload, '$.details')
                 FROM tickets t LEFT JOIN screenshots s ON s.ticket_client_id = t.client_id
                 ORDER BY t.created_ms, t.client_id",
            )?;
            let rows = stmt.query_map([], |r| {
                let shot_state: Option<String> = r.get(10)?;
                Ok(TicketView {
                    client_id: parse_uuid(&r.get::<_, String>(0)?),
                    created_at: parse_ts(&r.get::<_, String>(1)?)
                        .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                    category: Category::from_str(&r.get::<_, String>(2)?)
                        .unwrap_or(Category::Other),
                    summary: r.get(3)?,
                    details: r.get(13)?,
                    state: ItemState::parse(&r.get::<_, String>(4)?),
                    number: r.get(5)?,
                    status: r
                        .get::<_, Option<String>>(6)?
                        .and_then(|s| TicketStatus::from_str(&s).ok()),
                    assignee: r.get(7)?,
                    reject_reason: r.get(8)?,
                    unread: r.get::<_, i64>(9)? != 0,
                    screenshot: match shot_state {
                        Some(s) => Some(ScreenshotView {
                            state: ItemState::parse(&s),
                            bytes: u64::try_from(r.get::<_, i64>(11)?).unwrap_or(0),
                            reason: r.get(12)?,
                        }),
                        None => None,
                    },
                    messages: Vec::new(),
                })
            })?;
            for row in rows {
                out.push(row?);
            }
        }
        {
            let mut stmt = tx.prepare(
                "SELECT ticket_client_id, client_id, 'teacher', NULL, body, created_ms, state, reject_reason
                   FROM outgoing_messages
                 UNION ALL
                 SELECT ticket_client_id, id, author, author_name, body, at_ms, 'received', NULL
                   FROM incoming_messages
                 ORDER BY 6, 2",
            )?;
            let rows = stmt.query_map([], |r| {
                let author = if r.get::<_, String>(2)? == "teacher" {
                    Author::Teacher
                } else {
                    Author::Technician
                };
                Ok((
                    parse_uuid(&r.get::<_, String>(0)?),
                    MessageView {
                        id: parse_uuid(&r.get::<_, String>(1)?),
                        author,
                        author_name: r.get(3)?,
                        body: r.get(4)?,
                        at: from_ms(r.get(5)?),
                        state: ItemState::parse(&r.get::<_, String>(6)?),
                        reject_reason: r.get(7)?,
                    },
                ))
            })?;
            for row in rows {
                let (ticket, msg) = row?;
                if let Some(t) = out.iter_mut().find(|t| t.client_id == ticket) {
                    t.messages.push(msg);
                }
            }
        }
        tx.commit()?;
        Ok(out)
    }

    // ---- snapshot cache -------------------------------------------------

    pub fn cached_snapshot(&self) -> Result<Option<CachedSnapshot>, StoreError> {
        let row: Option<(i64, i64, String)> = self
            .conn
            .query_row(
                "SELECT collected_ms, full, json FROM snapshot_cache WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        Ok(match row {
            None => None,
            Some((collected, full, json)) => match serde_json::from_str(&json) {
                Ok(snapshot) => Some(CachedSnapshot {
                    snapshot,
                    collected_at: from_ms(collected),
                    full: full != 0,
                }),
                Err(e) => {
                    tracing::warn!(error = %e, "cached device snapshot unreadable; ignoring it");
                    None
                }
            },
        })
    }

    pub fn store_snapshot(
        &self,
        snapshot: &DeviceSnapshot,
        collected_at: OffsetDateTime,
        full: bool,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO snapshot_cache (id, collected_ms, full, json) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT(id) DO UPDATE SET collected_ms = excluded.collected_ms,
                 full = excluded.full, json = excluded.json",
            params![ms(collected_at), full, serde_json::to_string(snapshot)?],
        )?;
        Ok(())
    }

    // ---- knowledge base -------------------------------------------------

    /// Applies knowledge-base changes and the new version in one transaction.
    pub fn apply_kb(&self, changes: &KbChanges, now: OffsetDateTime) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        for a in &changes.articles {
            Self::remove_article(&tx, &a.slug)?;
            if a.published {
                Self::insert_article(&tx, a)?;
            }
        }
        Self::meta_set(&tx, META_KB_VERSION, Some(&changes.version.to_string()))?;
        Self::meta_set(&tx, META_KB_REFRESHED, Some(&ts(now)))?;
        tx.commit()?;
        Ok(())
    }

    fn remove_article(tx: &Transaction<'_>, slug: &str) -> Result<(), StoreError> {
        tx.execute("DELETE FROM kb_fts WHERE slug = ?1", [slug])?;
        tx.execute("DELETE FROM kb_articles WHERE slug = ?1", [slug])?;
        Ok(())
    }

    fn insert_article(tx: &Transaction<'_>, a: &Article) -> Result<(), StoreError> {
        let categories = a
            .categories
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let keywords = a.keywords.join(" ");
        tx.execute(
            "INSERT INTO kb_articles (slug, title, body, categories, keywords, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![a.slug, a.title, a.body, categories, keywords, a.version],
        )?;
        tx.execute(
            "INSERT INTO kb_fts (slug, title, body, keywords, categories) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![a.slug, a.title, a.body, keywords, categories],
        )?;
        Ok(())
    }

    /// Full-text search of the cached knowledge base, best first (bm25 with
    /// title ×10, keywords ×5, body ×1; articles of `category` rank twice as
    /// well). An empty query lists the articles of `category`.
    pub fn search_kb(
        &self,
        query: &str,
        category: Option<Category>,
        limit: usize,
    ) -> Result<Vec<KbHit>, StoreError> {
        let limit = i64::try_from(limit.clamp(1, 100)).unwrap_or(10);
        let cat = category.map(|c| c.as_str()).unwrap_or("");
        let fts_query = fts_query(query);
        let map = kb_hit;
        let hits = match fts_query {
            Some(q) => {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT slug, title, snippet(kb_fts, 2, '', '', '…', 16), categories,
                            bm25(kb_fts, 0.0, 10.0, 1.0, 5.0, 0.0)
                              * (CASE WHEN ?2 <> '' AND (' ' || categories || ' ') LIKE ('% ' || ?2 || ' %')
                                      THEN 2.0 ELSE 1.0 END) AS score
                     FROM kb_fts WHERE kb_fts MATCH ?1
                     ORDER BY score, slug LIMIT ?3",
                )?;
                stmt.query_map(params![q, cat, limit], map)?
                    .collect::<Result<Vec<_>, _>>()?
            }
            None if !cat.is_empty() => {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT slug, title, substr(body, 1, 160), categories, 0.0 FROM kb_articles
                     WHERE (' ' || categories || ' ') LIKE ('% ' || ?1 || ' %')
                     ORDER BY title, slug LIMIT ?2",
                )?;
                stmt.query_map(params![cat, limit], map)?
                    .collect::<Result<Vec<_>, _>>()?
            }
            None => Vec::new(),
        };
        Ok(hits)
    }

    /// Every cached article (of one category, when given), by title: the Help articles list.
    pub fn kb_browse(&self, category: Option<Category>) -> Result<Vec<KbHit>, StoreError> {
        let cat = category.map(|c| c.as_str()).unwrap_or("");
        let mut stmt = self.conn.prepare_cached(
            "SELECT slug, title, substr(body, 1, 160), categories, 0.0 FROM kb_articles
             WHERE ?1 = '' OR (' ' || categories || ' ') LIKE ('% ' || ?1 || ' %')
             ORDER BY title COLLATE NOCASE, slug",
        )?;
        let hits = stmt
            .query_map(params![cat], kb_hit)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(hits)
    }

    /// One cached article.
    pub fn kb_article(&self, slug: &str) -> Result<Option<Article>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT slug, title, body, categories, keywords, version FROM kb_articles WHERE slug = ?1",
                [slug],
                |r| {
                    Ok(Article {
                        slug: r.get(0)?,
                        title: r.get(1)?,
                        body: r.get(2)?,
                        categories: r
                            .get::<_, String>(3)?
                            .split_whitespace()
                            .filter_map(|c| Category::from_str(c).ok())
                            .collect(),
                        keywords: r
                            .get::<_, String>(4)?
                            .split_whitespace()
                            .map(str::to_owned)
                            .collect(),
                        published: true,
                        version: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    /// "This fixed it": the teacher solved the problem with an article.
    pub fn record_deflection(&self, slug: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO deflections (article_slug, at) VALUES (?1, ?2)",
            params![slug, ts(now)],
        )?;
        Ok(())
    }

    // ---- small outgoing events ("me too", "this fixed it") ---------------

    /// Queues a small JSON post (`path` under `/api/v1`), sent by the sync engine after
    /// tickets and messages, idempotent on the server by `client_id`.
    pub fn insert_event(
        &self,
        client_id: Uuid,
        kind: &str,
        path: &str,
        body: &serde_json::Value,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO outgoing_events (client_id, kind, path, body, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![client_id.to_string(), kind, path, body.to_string(), ms(at)],
        )?;
        Ok(())
    }

    /// The request of a queued event: (path, body).
    pub fn event_payload(
        &self,
        client_id: Uuid,
    ) -> Result<(String, serde_json::Value), StoreError> {
        let (path, body): (String, String) = self
            .conn
            .query_row(
                "SELECT path, body FROM outgoing_events WHERE client_id = ?1",
                [client_id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or(StoreError::UnknownTicket(client_id))?;
        Ok((path, serde_json::from_str(&body)?))
    }

    /// Marks an event sent, or rejected with the server's reason (kept either way).
    pub fn mark_event(
        &self,
        client_id: Uuid,
        state: ItemState,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let state = match state {
            ItemState::Sent => "sent",
            ItemState::Rejected => "rejected",
            _ => "queued",
        };
        self.conn.execute(
            "UPDATE outgoing_events SET state = ?2, reject_reason = ?3 WHERE client_id = ?1",
            params![client_id.to_string(), state, reason],
        )?;
        Ok(())
    }

    /// Announcements this computer already said "me too" to.
    pub fn me_too_ids(&self) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT CAST(substr(path, length('/announcements/') + 1,
                    instr(substr(path, length('/announcements/') + 1), '/') - 1) AS INTEGER)
             FROM outgoing_events WHERE kind = 'me_too' AND state <> 'rejected'",
        )?;
        let ids = stmt
            .query_map([], |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ids)
    }

    // ---- announcements --------------------------------------------------

    /// Replaces the cached announcements with the server's active list.
    pub fn replace_announcements(
        &self,
        list: &AnnouncementList,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute("DELETE FROM announcements", [])?;
        for a in &list.announcements {
            tx.execute(
                "INSERT OR REPLACE INTO announcements (id, json) VALUES (?1, ?2)",
                params![a.id, serde_json::to_string(a)?],
            )?;
        }
        Self::meta_set(&tx, META_ANN_REFRESHED, Some(&ts(now)))?;
        tx.commit()?;
        Ok(())
    }

    /// Cached announcements still active at `now`.
    pub fn announcements(&self, now: OffsetDateTime) -> Result<Vec<Announcement>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT json FROM announcements ORDER BY id")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for json in rows {
            if let Ok(a) = serde_json::from_str::<Announcement>(&json?)
                && a.ends_at.is_none_or(|end| end > now)
            {
                out.push(a);
            }
        }
        Ok(out)
    }
}

/// Turns free text into a safe FTS5 query: each word quoted, prefix-matched,
/// any of them may match. `None` when there is no word.
fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{}\"*", w.to_lowercase()))
        .collect();
    if words.is_empty() {
        None
    } else {
        Some(words.join(" OR "))
    }
}

#[cfg(test)]
mod tests;
