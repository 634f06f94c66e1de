//! The store over SQL: one implementation of every store trait, written once
//! in portable SQL against [`Sql`], running on the embedded SQLite database
//! (the default: one server, one file) or on PostgreSQL (several server nodes
//! sharing one database). One file per domain implements that domain's trait;
//! `rows` maps rows to records; `sqlite` and `postgres` are the two backends,
//! each with its append-only schema (`migrations`, `postgres_schema`).

mod accounts;
mod admin;
mod announcements;
mod conn;
mod copies;
mod desks;
mod devices;
mod gauges;
mod hooks;
mod kb;
mod leases;
mod lists;
mod migrations;
mod pg_tls;
mod postgres;
mod postgres_schema;
mod rows;
mod signin;
mod sqlite;
mod tickets;
mod web;

pub use conn::{Backend, Row, Sql, ToVal, Val};
pub use migrations::MIGRATIONS;
pub use pg_tls::{PgUrlError, describe_connect_error, pg_connection, root_cert as pg_root_cert};
pub use postgres::{client_program, connection_args};
pub use postgres_schema::PG_MIGRATIONS;
pub(crate) use postgres_schema::VERSION_SQL as PG_VERSION_SQL;

use super::StoreResult;
use conn::{
    all, changed, exec, exists, first, insert_id, insert_unique, insert_unique_id, one, params,
    repeated,
};
use std::path::Path;

/// The store on SQLite or PostgreSQL.
pub struct SqlStore {
    db: Db,
}

enum Db {
    Sqlite(sqlite::SqliteDb),
    Postgres(Box<postgres::PgDb>),
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl SqlStore {
    /// Opens (creating if needed) a SQLite database file and applies
    /// migrations; [`StoreError::SchemaTooNew`](super::StoreError::SchemaTooNew)
    /// when a newer HandRaise wrote it.
    pub fn open(path: &Path) -> StoreResult<Self> {
        Ok(Self {
            db: Db::Sqlite(sqlite::SqliteDb::open(path)?),
        })
    }

    /// A private in-memory SQLite database, for tests.
    pub fn open_in_memory() -> StoreResult<Self> {
        Ok(Self {
            db: Db::Sqlite(sqlite::SqliteDb::open_in_memory()?),
        })
    }

    /// Connects to a PostgreSQL database (`postgres://…`) and applies
    /// pending migrations, once even when several nodes start together.
    pub fn open_postgres(url: &str) -> StoreResult<Self> {
        Ok(Self {
            db: Db::Postgres(Box::new(postgres::PgDb::open(url)?)),
        })
    }

    /// Which database this store is on.
    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// The schema version (number of applied migrations of this backend).
    pub fn schema_version(&self) -> StoreResult<u32> {
        match &self.db {
            Db::Sqlite(d) => migrations::version(&d.lock()),
            Db::Postgres(d) => d.schema_version(),
        }
    }

    /// The schema version this binary knows for this backend.
    pub fn known_schema_version(&self) -> u32 {
        match self.db {
            Db::Sqlite(_) => migrations::known_version(),
            Db::Postgres(_) => postgres_schema::known_version(),
        }
    }

    /// Applies pending migrations; returns how many were applied.
    pub fn migrate(&self) -> StoreResult<usize> {
        match &self.db {
            Db::Sqlite(d) => migrations::migrate(&mut d.lock()),
            Db::Postgres(d) => d.migrate(),
        }
    }

    /// Runs `f` in one write transaction, committed when `f` succeeds and
    /// rolled back when it fails. Writes are serialised (SQLite's single
    /// writer; PostgreSQL's write lock).
    fn write<T>(&self, f: impl FnOnce(&dyn Sql) -> StoreResult<T>) -> StoreResult<T> {
        match &self.db {
            Db::Sqlite(d) => d.write(f),
            Db::Postgres(d) => d.write(f),
        }
    }

    /// Runs `f` in one read-only transaction: every statement sees the same
    /// snapshot of the database.
    fn snapshot<T>(&self, f: impl FnOnce(&dyn Sql) -> StoreResult<T>) -> StoreResult<T> {
        match &self.db {
            Db::Sqlite(d) => d.snapshot(f),
            Db::Postgres(d) => d.snapshot(f),
        }
    }

    /// Runs `f` outside any explicit transaction.
    fn read<T>(&self, f: impl FnOnce(&dyn Sql) -> StoreResult<T>) -> StoreResult<T> {
        match &self.db {
            Db::Sqlite(d) => d.read(f),
            Db::Postgres(d) => d.read(f),
        }
    }
}
