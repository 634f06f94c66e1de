//! The one dispatch from a [`DatabaseUrl`] to a store: SQLite's file, or a
//! PostgreSQL database.

use super::{SqlStore, StoreResult};
use crate::config::DatabaseUrl;
use std::path::Path;

/// Opens the store `database` names, migrations applied: for `sqlite`, the
/// file `sqlite_file` (created when missing); for a PostgreSQL URL, that
/// database.
pub fn open_database(sqlite_file: &Path, database: &DatabaseUrl) -> StoreResult<SqlStore> {
    match database {
        DatabaseUrl::Sqlite => SqlStore::open(sqlite_file),
        DatabaseUrl::Postgres(url) => SqlStore::open_postgres(url),
    }
}
