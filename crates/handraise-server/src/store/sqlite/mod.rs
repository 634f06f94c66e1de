//! The embedded SQLite store: one connection behind a mutex, WAL journal,
//! `synchronous = NORMAL`, append-only migrations tracked in `user_version`.
//! One file per domain implements that domain's trait; `rows` maps rows to
//! records and `migrations` holds the schema.

mod accounts;
mod admin;
mod announcements;
mod copies;
mod desks;
mod devices;
mod gauges;
mod hooks;
mod kb;
mod leases;
mod lists;
mod migrations;
mod rows;
mod signin;
mod tickets;
mod web;

pub use migrations::MIGRATIONS;

use super::{StoreError, StoreResult};
use rusqlite::{Connection, Params, Row, Transaction, TransactionBehavior};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// SQLite implementation of [`Store`](super::Store).
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations;
    /// [`StoreError::SchemaTooNew`] when a newer HandRaise wrote it.
    pub fn open(path: &Path) -> StoreResult<Self> {
        // Owner-only before SQLite writes to it; its -wal and -shm files take its mode.
        owner_only_file(path)?;
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
        // Refuse a newer schema before changing anything, the journal mode included.
        migrations::check_version(&conn)?;
        if wal {
            // journal_mode returns a row; query it rather than execute.
            let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        }
        // secure_delete: deleted rows (purged screenshots and snapshots) are overwritten
        // with zeros rather than left in free pages.
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;",
        )?;
        migrations::migrate(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// The schema version (number of applied migrations).
    pub fn schema_version(&self) -> StoreResult<u32> {
        migrations::version(&self.lock())
    }

    /// Applies pending migrations; returns how many were applied.
    pub fn migrate(&self) -> StoreResult<usize> {
        migrations::migrate(&mut self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (the
        // transaction rolls back on drop), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` in one immediate (write) transaction, committed when `f`
    /// succeeds and rolled back when it fails.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` on the connection, outside any explicit transaction.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        f(&self.lock())
    }
}

/// Creates `path` if missing and makes it readable and writable by its owner only (on
/// Unix; elsewhere the platform's defaults apply). The database and its backups hold
/// every ticket, screenshot and credential hash.
fn owner_only_file(path: &Path) -> StoreResult<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    drop(file);
    Ok(())
}

/// Every row of a cached query, mapped by `row`.
fn all<T, P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The first row of a cached query, if any.
fn first<T, P, F>(conn: &Connection, sql: &str, params: P, row: F) -> StoreResult<Option<T>>
where
    P: Params,
    F: FnOnce(&Row<'_>) -> rusqlite::Result<T>,
{
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    Ok(rows.next()?.map(row).transpose()?)
}

/// Runs a cached statement; returns the rows changed.
fn exec<P: Params>(conn: &Connection, sql: &str, params: P) -> StoreResult<usize> {
    Ok(conn.prepare_cached(sql)?.execute(params)?)
}

/// `NotFound` when a statement changed no row.
fn changed(rows: usize) -> StoreResult<()> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Whether a statement failed on a uniqueness (or other) constraint.
fn is_constraint_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(err, _)
            if err.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

/// Runs a cached insert, answering `Conflict(message)` when it breaks a
/// uniqueness constraint.
fn insert_unique<P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    message: impl FnOnce() -> String,
) -> StoreResult<()> {
    match conn.prepare_cached(sql)?.execute(params) {
        Ok(_) => Ok(()),
        Err(e) if is_constraint_violation(&e) => Err(StoreError::Conflict(message())),
        Err(e) => Err(e.into()),
    }
}

/// Whether `client_id` was already stored: `sql` selects the device and the
/// key of the row with that client id. `true` for a repeat (this device, the
/// same `key`), `Conflict` when another device or key used it, `false` when
/// it is new.
fn repeated<K: rusqlite::types::FromSql + PartialEq>(
    conn: &Connection,
    sql: &str,
    client_id: uuid::Uuid,
    device_id: uuid::Uuid,
    key: &K,
) -> StoreResult<bool> {
    let found: Option<(String, K)> = first(conn, sql, [client_id.to_string()], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    match found {
        None => Ok(false),
        Some((device, k)) if device == device_id.to_string() && &k == key => Ok(true),
        Some(_) => Err(StoreError::Conflict(
            "this client id was already used elsewhere".into(),
        )),
    }
}
