//! The one dispatch from a [`DatabaseUrl`] to a store: SQLite's file, or a
//! PostgreSQL database.

use super::{SqliteStore, StoreError, StoreResult};
use crate::config::DatabaseUrl;
use std::path::Path;

/// Opens the store `database` names, migrations applied: for `sqlite`, the
/// file `sqlite_file` (created when missing); for a PostgreSQL URL, that
/// database.
pub fn open_database(sqlite_file: &Path, database: &DatabaseUrl) -> StoreResult<SqliteStore> {
    match database {
        DatabaseUrl::Sqlite => SqliteStore::open(sqlite_file),
        DatabaseUrl::Postgres(_) => Err(StoreError::Io(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!("{database}: this build has no PostgreSQL store yet"),
        ))),
    }
}
