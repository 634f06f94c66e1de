//! The durable outbox and offline cache: one SQLite file, `DATA_DIR/agent.db`.
//!
//! Invariants: the outbox never touches the network; every logical change is
//! one transaction; nothing in the outbox is ever deleted (a refused item is
//! marked `rejected` and kept); migrations are append-only; a database of a newer
//! schema is refused untouched; a value that cannot be read back is an error
//! ([`StoreError::Corrupt`]), never a default.
//!
//! One file a domain: [`outbox`] (tickets, screenshots, messages and small events waiting
//! to be sent), [`tickets`] (local tickets as the teacher sees them, and the updates feed
//! that changes them), [`caches`] (device snapshot, knowledge base, announcements,
//! deflections), [`meta`] (feed cursor, backoff, pause, last contact, preferences,
//! feedback); [`migrations`] holds the schema and [`rows`] how values are stored and read.

mod caches;
mod meta;
mod migrations;
mod outbox;
mod rows;
mod tickets;

use rusqlite::{Connection, ErrorCode};
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::OffsetDateTime;

use crate::error::StoreError;

pub use caches::{CachedSnapshot, KbHit};
pub use meta::ContactInfo;
pub use migrations::SCHEMA_VERSION;
pub use outbox::{ItemState, QueueCounts};
pub use tickets::{MessageView, ScreenshotView, TicketView};

/// The agent's SQLite database.
pub struct Store {
    conn: Connection,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// SQLite says the file is not a database or is damaged.
fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt)
    )
}

impl Store {
    /// Opens (creating and migrating) `path`. A corrupt file is moved aside to
    /// `agent.db.corrupt-<unix seconds>` and a fresh database created; the path
    /// it was moved to is returned so callers can tell the user. A database of a
    /// newer schema is not corrupt: it is refused ([`StoreError::SchemaTooNew`]) and
    /// left where it is.
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
        // Owner-only before SQLite first writes to it; its -wal and -shm files
        // take the database's mode.
        crate::private::create_file(path).map_err(|source| StoreError::Io {
            path: path.to_owned(),
            source,
        })?;
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
                Some(check),
            )));
        }
        // Refused before anything is written to it, even the journal mode.
        migrations::schema_version(&conn, path)?;
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        // FULL: a report the window called "saved" survives a power cut too, not only a
        // crash (NORMAL may lose the last commits on power loss). A report is a few commits
        // a day, so the fsync costs nothing the teacher notices.
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        let mut store = Store { conn };
        store.migrate(path)?;
        Ok(store)
    }

    /// A private in-memory database (tests).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        let mut store = Store { conn };
        store.migrate(Path::new(":memory:"))?;
        Ok(store)
    }

    /// SQLite's `data_version`: changes when another connection (another process sharing
    /// this data directory) commits.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests;
