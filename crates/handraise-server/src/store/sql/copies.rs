//! Backup copies: what a copy holds, read without changing it, and the
//! server's generation (a new one after a restore).

use super::SqlStore;
use super::migrations;
use crate::store::{CopyFacts, StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::Path;

/// Tables counted when a copy is checked: what a district would miss.
const COUNTED: &[&str] = &[
    "tickets",
    "messages",
    "screenshots",
    "devices",
    "users",
    "kb_articles",
    "announcements",
];

impl SqlStore {
    /// Checks a database file without writing to it: SQLite's integrity
    /// check, the schema version (not newer than this binary's) and the rows
    /// of the main tables.
    pub fn inspect_copy(path: &Path) -> StoreResult<CopyFacts> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let problems: Vec<String> = {
            let mut stmt = conn.prepare("PRAGMA integrity_check")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect::<Result<_, _>>()?
        };
        if problems != ["ok"] {
            return Err(StoreError::Corrupt(format!(
                "{} fails SQLite's integrity check: {}",
                path.display(),
                problems.join("; ")
            )));
        }
        migrations::check_version(&conn)?;
        let schema_version = migrations::version(&conn)?;
        let mut counts = Vec::new();
        for table in COUNTED {
            let exists: Option<i64> = conn
                .query_row(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [table],
                    |r| r.get(0),
                )
                .optional()?;
            if exists.is_some() {
                let n: i64 =
                    conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
                counts.push(((*table).to_owned(), n.max(0) as u64));
            }
        }
        Ok(CopyFacts {
            schema_version,
            counts,
        })
    }
}
