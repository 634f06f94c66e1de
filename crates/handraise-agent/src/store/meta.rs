//! Small named values: the updates-feed cursor, the backoff, the pause, the last
//! contact with the server, the teacher's preferences; and the teacher's feedback.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Store;
use super::rows::{Col, ts};
use crate::error::StoreError;
use crate::sync::plan::BackoffState;

pub(super) const CURSOR: &str = "updates_cursor";
pub(super) const KB_VERSION: &str = "kb_version";
pub(super) const KB_REFRESHED: &str = "kb_refreshed_at";
pub(super) const ANN_REFRESHED: &str = "announcements_refreshed_at";
const SERVER_GENERATION: &str = "server_generation";
const PAUSED: &str = "paused_reason";
const BACKOFF_ATTEMPT: &str = "backoff_attempt";
const NEXT_ATTEMPT: &str = "backoff_next_attempt_at";
const LAST_CONTACT: &str = "last_contact_at";
const LAST_LATENCY: &str = "last_latency_ms";
const LAST_ERROR: &str = "last_error";
const LAST_ERROR_AT: &str = "last_error_at";
const CLOCK_SKEW: &str = "clock_skew_secs";

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

pub(super) fn get(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

/// Sets (`Some`) or removes (`None`) a value.
pub(super) fn set(conn: &Connection, key: &str, value: Option<&str>) -> Result<(), StoreError> {
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

/// A whole number (of the type `T`) saved under `key`.
pub(super) fn number<T: std::str::FromStr>(
    conn: &Connection,
    key: &'static str,
) -> Result<Option<T>, StoreError>
where
    T::Err: std::fmt::Display,
{
    get(conn, key)?
        .map(|v| Col::new("meta", key).choice(&v))
        .transpose()
}

/// A time saved under `key`.
pub(super) fn time(
    conn: &Connection,
    key: &'static str,
) -> Result<Option<OffsetDateTime>, StoreError> {
    get(conn, key)?
        .map(|v| Col::new("meta", key).time(&v))
        .transpose()
}

/// The saved backoff (none: attempt 0, go at once).
pub(super) fn backoff(conn: &Connection) -> Result<BackoffState, StoreError> {
    Ok(BackoffState {
        attempt: number(conn, BACKOFF_ATTEMPT)?.unwrap_or(0),
        next_attempt_at: time(conn, NEXT_ATTEMPT)?,
    })
}

/// Why the queue is paused, if it is.
pub(super) fn paused(conn: &Connection) -> Result<Option<String>, StoreError> {
    get(conn, PAUSED)
}

impl Store {
    /// A teacher preference (name, room, …) kept between windows.
    pub fn pref(&self, key: &str) -> Result<Option<String>, StoreError> {
        get(&self.conn, &format!("pref.{key}"))
    }

    pub fn set_pref(&self, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        set(&self.conn, &format!("pref.{key}"), value)
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
        Ok(number(&self.conn, CURSOR)?.unwrap_or(0))
    }

    /// Starts the updates feed from the beginning (a new device identity has
    /// its own feed; applying old updates again is harmless).
    pub fn reset_cursor(&self) -> Result<(), StoreError> {
        set(&self.conn, CURSOR, Some("0"))
    }

    /// Records the server database's generation from an updates page.
    /// When it differs from the one seen before, the server was restored from
    /// a backup and may lack what this computer sent since: every sent
    /// ticket, message and event is queued again (the server answers one it
    /// has with its first receipt), and the updates feed and the knowledge
    /// base are read from the start. Returns whether that happened.
    pub fn note_server_generation(&self, generation: &str) -> Result<bool, StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let seen = get(&tx, SERVER_GENERATION)?;
        let restored = seen.as_deref().is_some_and(|g| g != generation);
        if restored {
            for table in ["tickets", "outgoing_messages", "outgoing_events"] {
                tx.execute(
                    &format!("UPDATE {table} SET state = 'queued' WHERE state = 'sent'"),
                    [],
                )?;
            }
            set(&tx, CURSOR, Some("0"))?;
            set(&tx, KB_VERSION, Some("0"))?;
        }
        if seen.as_deref() != Some(generation) {
            set(&tx, SERVER_GENERATION, Some(generation))?;
        }
        tx.commit()?;
        Ok(restored)
    }

    /// Why the queue is paused, if it is.
    pub fn paused(&self) -> Result<Option<String>, StoreError> {
        paused(&self.conn)
    }

    /// Pauses (Some) or resumes (None) the whole queue.
    pub fn set_paused(&self, reason: Option<&str>) -> Result<(), StoreError> {
        set(&self.conn, PAUSED, reason)
    }

    pub fn backoff(&self) -> Result<BackoffState, StoreError> {
        backoff(&self.conn)
    }

    pub fn set_backoff(&self, state: BackoffState) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        set(&tx, BACKOFF_ATTEMPT, Some(&state.attempt.to_string()))?;
        set(&tx, NEXT_ATTEMPT, state.next_attempt_at.map(ts).as_deref())?;
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
        set(&tx, LAST_CONTACT, Some(&ts(at)))?;
        let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        set(&tx, LAST_LATENCY, Some(&latency_ms.to_string()))?;
        if let Some(skew) = clock_skew_secs {
            set(&tx, CLOCK_SKEW, Some(&skew.to_string()))?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records a failure to reach the server.
    pub fn record_failure(&self, at: OffsetDateTime, error: &str) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        set(&tx, LAST_ERROR, Some(error))?;
        set(&tx, LAST_ERROR_AT, Some(&ts(at)))?;
        tx.commit()?;
        Ok(())
    }

    pub fn contact(&self) -> Result<ContactInfo, StoreError> {
        let c = &self.conn;
        Ok(ContactInfo {
            last_contact_at: time(c, LAST_CONTACT)?,
            last_latency_ms: number(c, LAST_LATENCY)?,
            last_error: get(c, LAST_ERROR)?,
            last_error_at: time(c, LAST_ERROR_AT)?,
            clock_skew_secs: number(c, CLOCK_SKEW)?,
        })
    }
}
