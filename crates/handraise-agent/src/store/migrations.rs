//! The schema: append-only migrations, counted by `PRAGMA user_version`.

use rusqlite::Connection;
use std::path::Path;

use super::Store;
use super::rows::Col;
use crate::error::StoreError;

/// Append-only list of migrations; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_outbox_and_caches.sql"),
    include_str!("migrations/0002_ticket_feedback.sql"),
    include_str!("migrations/0003_outgoing_events.sql"),
    include_str!("migrations/0004_screenshot_size.sql"),
];

/// The schema version this binary writes, and the newest it reads.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// The schema version of the database behind `conn`; a newer one than this binary knows
/// is refused ([`StoreError::SchemaTooNew`]).
pub(super) fn schema_version(conn: &Connection, path: &Path) -> Result<u32, StoreError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let found =
        u32::try_from(found).map_err(|e| Col::new("pragma", "user_version").bad(found, e))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: path.to_owned(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    Ok(found)
}

impl Store {
    /// Applies the migrations `path` lacks, in one transaction.
    pub(super) fn migrate(&mut self, path: &Path) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let applied = schema_version(&tx, path)?;
        for (done, sql) in (1u32..).zip(MIGRATIONS).skip(applied as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", done)?;
        }
        tx.commit()?;
        Ok(())
    }
}
