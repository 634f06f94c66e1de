//! The embedded SQLite database: one connection behind a mutex, WAL journal,
//! `synchronous = NORMAL`, append-only migrations tracked in `user_version`.

use super::conn::{Backend, Row, Sql, Val};
use super::migrations;
use crate::store::StoreResult;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql, TransactionBehavior};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The SQLite database of a store.
pub(super) struct SqliteDb {
    conn: Mutex<Connection>,
}

impl SqliteDb {
    /// Opens (creating if needed) the database file and applies migrations.
    pub(super) fn open(path: &Path) -> StoreResult<Self> {
        // Owner-only before SQLite writes to it; its -wal and -shm files take its mode.
        owner_only_file(path)?;
        Self::setup(Connection::open(path)?, true)
    }

    pub(super) fn open_in_memory() -> StoreResult<Self> {
        Self::setup(Connection::open_in_memory()?, false)
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

    /// The connection. A panic while holding the lock leaves SQLite
    /// consistent (the transaction rolls back on drop), so a poisoned lock is
    /// still usable.
    pub(super) fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` in one immediate (write) transaction.
    pub(super) fn write<T>(&self, f: impl FnOnce(&dyn Sql) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&Lite(&tx))?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` in one deferred (read) transaction.
    pub(super) fn snapshot<T>(&self, f: impl FnOnce(&dyn Sql) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let out = f(&Lite(&tx))?;
        tx.commit()?;
        Ok(out)
    }

    /// A consistent copy of the database at `dest`, made while others write.
    pub(super) fn backup(&self, dest: &Path) -> StoreResult<()> {
        // VACUUM INTO reads inside one transaction, so the copy is consistent
        // even while other connections keep writing. It refuses an existing
        // file, so write beside the target and rename over it.
        let tmp = partial_path(dest);
        if tmp.exists() {
            std::fs::remove_file(&tmp)?;
        }
        // VACUUM INTO accepts an empty file, which keeps the owner-only mode.
        owner_only_file(&tmp)?;
        let tmp_str = tmp.to_string_lossy().into_owned();
        self.lock().execute("VACUUM INTO ?1", [tmp_str])?;
        std::fs::rename(&tmp, dest)?;
        Ok(())
    }

    /// Runs `f` on the connection, outside any explicit transaction.
    pub(super) fn read<T>(&self, f: impl FnOnce(&dyn Sql) -> StoreResult<T>) -> StoreResult<T> {
        f(&Lite(&self.lock()))
    }
}

/// A SQLite connection or transaction as [`Sql`].
struct Lite<'a>(&'a Connection);

impl ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Val::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Val::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Val::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

fn val_of(v: ValueRef<'_>) -> StoreResult<Val> {
    Ok(match v {
        ValueRef::Null => Val::Null,
        ValueRef::Integer(i) => Val::Int(i),
        ValueRef::Real(f) => Val::Real(f),
        ValueRef::Text(t) => Val::Text(
            String::from_utf8(t.to_vec())
                .map_err(|e| super::conn::corrupt(format!("text is not UTF-8: {e}")))?,
        ),
        ValueRef::Blob(b) => Val::Blob(b.to_vec()),
    })
}

impl Sql for Lite<'_> {
    fn query(
        &self,
        sql: &str,
        params: &[Val],
        each: &mut dyn FnMut(&Row<'_>) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let n = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        let mut vals = Vec::with_capacity(n);
        while let Some(r) = rows.next()? {
            vals.clear();
            for i in 0..n {
                vals.push(val_of(r.get_ref(i)?)?);
            }
            each(&Row::new(&vals))?;
        }
        Ok(())
    }

    fn exec(&self, sql: &str, params: &[Val]) -> StoreResult<usize> {
        Ok(self
            .0
            .prepare_cached(sql)?
            .execute(rusqlite::params_from_iter(params))?)
    }

    fn try_exec(&self, sql: &str, params: &[Val]) -> StoreResult<Option<usize>> {
        unless_constraint(
            self.0
                .prepare_cached(sql)?
                .execute(rusqlite::params_from_iter(params)),
        )
    }

    fn try_insert_id(&self, sql: &str, params: &[Val]) -> StoreResult<Option<i64>> {
        let mut stmt = self.0.prepare_cached(sql)?;
        unless_constraint(stmt.query_row(rusqlite::params_from_iter(params), |r| r.get(0)))
    }

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
}

/// Where a copy to `dest` is written until it is complete: beside it, hidden.
pub(super) fn partial_path(dest: &Path) -> std::path::PathBuf {
    let file_name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".into());
    dest.with_file_name(format!(".{file_name}.partial"))
}

/// `None` for a broken constraint, the value otherwise.
fn unless_constraint<T>(r: rusqlite::Result<T>) -> StoreResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(rusqlite::Error::SqliteFailure(err, _))
            if err.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Creates `path` if missing and makes it readable and writable by its owner only (on
/// Unix; elsewhere the platform's defaults apply). The database and its backups hold
/// every ticket, screenshot and credential hash.
pub(super) fn owner_only_file(path: &Path) -> StoreResult<()> {
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
