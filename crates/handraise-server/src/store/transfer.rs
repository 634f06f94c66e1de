//! A PostgreSQL database seen from outside the store: moving a district's
//! data into it from SQLite (`migrate`), the one rule of an empty target
//! (`migrate` and `restore` write only into one), and what `doctor` reads of
//! it.
//!
//! The copy is generic: [`TABLES`] in dependency order; for each, the
//! target's columns read from its `information_schema` and each value
//! converted to the column's type; ids kept (the feed's `seq` included, so
//! agents' cursors stay valid), then every identity or serial sequence set
//! past the largest id (and past SQLite's own `AUTOINCREMENT` counter);
//! everything in one transaction on the target, committed only when every
//! table's row count matches the source's.

use crate::config::DatabaseUrl;
use postgres::GenericClient;
use postgres::types::ToSql;
use rusqlite::types::Value;
use std::path::Path;

/// Every table of a district, in dependency order (a table after those its
/// foreign keys name). A table in both databases but missing here (and not
/// in [`NOT_COPIED`]) is an error, so the list cannot fall behind the schema
/// unnoticed.
pub const TABLES: &[&str] = &[
    "devices",
    "enroll_tokens",
    "technicians",
    "users",
    "sessions",
    "api_tokens",
    "tickets",
    "screenshots",
    "messages",
    "updates",
    "ticket_merges",
    "kb_meta",
    "kb_articles",
    "kb_deflections",
    "announcements",
    "me_too",
    "sla_policy",
    "retention_policy",
    "enrollments",
    "server_meta",
    "device_usage",
    "desks",
    "desk_default",
    "forwards",
    "message_forwards",
    "desk_routes",
    "web_reporters",
    "web_sessions",
    "webhooks",
    "webhook_events",
    "desk_mail",
    "signin_failures",
    "oidc_pending",
];

/// Tables in both databases that are not copied: which process runs a
/// background job (`leases`) belongs to the old server's processes; the new
/// server's take them afresh.
const NOT_COPIED: &[&str] = &["leases"];

/// Tables a fresh schema fills with its defaults (settings, the generation):
/// they do not make a target non-empty, and the copy replaces their rows.
const SEEDED: &[&str] = &[
    "kb_meta",
    "sla_policy",
    "retention_policy",
    "server_meta",
    "desk_default",
];

/// Bound parameters per statement (PostgreSQL allows 65,535).
const MAX_PARAMS: usize = 30_000;
/// Bytes of values per statement, so screenshots go a few at a time.
const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// Errors moving data.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Url(#[from] crate::store::PgUrlError),
    #[error(
        "the target database is not empty ({table} holds {rows} rows): migrate and restore \
         write only into a new, empty database"
    )]
    NotEmpty { table: String, rows: u64 },
    #[error("table {table} is missing from the {side} database")]
    MissingTable { table: String, side: &'static str },
    #[error(
        "table {0} is in both databases but not in migrate's list of tables: its rows would \
         be lost"
    )]
    Unlisted(String),
    #[error("{table}.{column} is in the PostgreSQL schema but not in the SQLite database")]
    MissingColumn { table: String, column: String },
    #[error("{table}.{column}: {message}")]
    Value {
        table: String,
        column: String,
        message: String,
    },
    #[error("{0} is not a PostgreSQL database")]
    NotPostgres(DatabaseUrl),
    #[error("the row counts differ, nothing was written: {}", differing(.0))]
    CountsDiffer(Vec<TableCount>),
}

fn differing(counts: &[TableCount]) -> String {
    counts
        .iter()
        .filter(|c| c.source != c.target)
        .map(|c| format!("{} {} → {}", c.table, c.source, c.target))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One table's rows on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    pub table: String,
    pub source: u64,
    pub target: u64,
}

/// Runs `f` on a thread of its own: the blocking client runs a runtime of
/// its own, which may not start on a thread already driving one (a
/// command's `main`, the server's workers), so no client leaves it.
fn off_runtime<T: Send>(
    f: impl FnOnce() -> Result<T, TransferError> + Send,
) -> Result<T, TransferError> {
    std::thread::scope(|scope| {
        scope
            .spawn(f)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// A client of the PostgreSQL database `database`.
fn connect(database: &DatabaseUrl) -> Result<postgres::Client, TransferError> {
    let url = database
        .postgres_url()
        .ok_or_else(|| TransferError::NotPostgres(database.clone()))?;
    // The store's connection rules, TLS included (`pg_connection`).
    let (config, tls) = crate::store::pg_connection(url)?;
    Ok(postgres::Config::from(config).connect(tls)?)
}

/// What `doctor` reports of a PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFacts {
    /// `SHOW server_version`.
    pub server_version: String,
    /// The schema version (0 before the schema is applied).
    pub schema_version: u32,
    /// Rows of `tickets`, when the schema has been applied.
    pub tickets: Option<u64>,
}

/// The server's version, the schema version and the tickets held of the
/// PostgreSQL database `database`, read without changing anything.
pub fn server_facts(database: &DatabaseUrl) -> Result<ServerFacts, TransferError> {
    off_runtime(|| facts_of(&mut connect(database)?))
}

fn facts_of(client: &mut impl GenericClient) -> Result<ServerFacts, TransferError> {
    let server_version = client.query_one("SHOW server_version", &[])?.get(0);
    let version: i64 = client.query_one(super::sql::PG_VERSION_SQL, &[])?.get(0);
    let tickets = if target_tables(client)?.iter().any(|t| t == "tickets") {
        let n: i64 = client
            .query_one("SELECT COUNT(*) FROM tickets", &[])?
            .get(0);
        Some(n as u64)
    } else {
        None
    };
    Ok(ServerFacts {
        server_version,
        schema_version: u32::try_from(version).unwrap_or(u32::MAX),
        tickets,
    })
}

/// The tables of the target's current schema.
fn target_tables(client: &mut impl GenericClient) -> Result<Vec<String>, TransferError> {
    Ok(client
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             ORDER BY table_name",
            &[],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Fails unless the target is empty: none of a district's tables
/// ([`TABLES`]) holds a row, apart from the defaults a fresh schema writes
/// ([`SEEDED`]). A database without the schema is empty.
pub fn check_empty(database: &DatabaseUrl) -> Result<(), TransferError> {
    off_runtime(|| check_empty_of(&mut connect(database)?, TABLES))
}

fn check_empty_of(client: &mut impl GenericClient, tables: &[&str]) -> Result<(), TransferError> {
    for table in target_tables(client)? {
        if !tables.contains(&table.as_str()) || SEEDED.contains(&table.as_str()) {
            continue;
        }
        let rows: i64 = client
            .query_one(&format!("SELECT COUNT(*) FROM {}", quote(&table)), &[])?
            .get(0);
        if rows > 0 {
            return Err(TransferError::NotEmpty {
                table,
                rows: rows as u64,
            });
        }
    }
    Ok(())
}

/// Copies every table of the SQLite database `source` (at this binary's
/// schema; read, never written) into `target` (an empty PostgreSQL database
/// with the schema applied) in one transaction; the row counts of both
/// sides, by table.
pub fn copy(source: &Path, target: &DatabaseUrl) -> Result<Vec<TableCount>, TransferError> {
    off_runtime(|| {
        let source = rusqlite::Connection::open_with_flags(
            source,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        copy_tables(&source, &mut connect(target)?, TABLES)
    })
}

/// [`copy`] of `tables`, in that order.
fn copy_tables(
    source: &rusqlite::Connection,
    target: &mut postgres::Client,
    tables: &[&str],
) -> Result<Vec<TableCount>, TransferError> {
    // One read transaction: every table as of the same instant.
    let snapshot = source.unchecked_transaction()?;
    let mut tx = target.transaction()?;
    check_empty_of(&mut tx, tables)?;
    let in_target = target_tables(&mut tx)?;
    let in_source: Vec<String> = {
        let mut stmt = snapshot.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )?;
        let names = stmt.query_map([], |r| r.get(0))?;
        names.collect::<Result<_, _>>()?
    };
    for table in &in_source {
        if in_target.contains(table)
            && !tables.contains(&table.as_str())
            && !NOT_COPIED.contains(&table.as_str())
        {
            return Err(TransferError::Unlisted(table.clone()));
        }
    }
    let mut counts = Vec::new();
    for table in tables {
        for (names, side) in [(&in_source, "SQLite"), (&in_target, "PostgreSQL")] {
            if !names.iter().any(|n| n == table) {
                return Err(TransferError::MissingTable {
                    table: (*table).to_owned(),
                    side,
                });
            }
        }
        copy_table(&snapshot, &mut tx, table)?;
        let source_rows: i64 =
            snapshot.query_row(&format!("SELECT COUNT(*) FROM {}", quote(table)), [], |r| {
                r.get(0)
            })?;
        let target_rows: i64 = tx
            .query_one(&format!("SELECT COUNT(*) FROM {}", quote(table)), &[])?
            .get(0);
        counts.push(TableCount {
            table: (*table).to_owned(),
            source: source_rows as u64,
            target: target_rows as u64,
        });
    }
    if counts.iter().any(|c| c.source != c.target) {
        return Err(TransferError::CountsDiffer(counts));
    }
    tx.commit()?;
    Ok(counts)
}

/// A column of the target.
struct Column {
    name: String,
    /// `information_schema`'s `data_type` (`bigint`, `text`, `bytea`, …).
    data_type: String,
    /// The type's own name, for a cast (`jsonb`, `uuid`, …).
    udt_name: String,
    identity: bool,
    serial: bool,
}

fn columns(tx: &mut impl GenericClient, table: &str) -> Result<Vec<Column>, TransferError> {
    Ok(tx
        .query(
            "SELECT column_name::text, data_type::text, udt_name::text, is_identity::text, \
                    COALESCE(column_default, '')::text, is_generated::text \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 \
             ORDER BY ordinal_position",
            &[&table],
        )?
        .iter()
        .filter(|r| r.get::<_, String>(5) != "ALWAYS")
        .map(|r| Column {
            name: r.get(0),
            data_type: r.get(1),
            udt_name: r.get(2),
            identity: r.get::<_, String>(3) == "YES",
            serial: r.get::<_, String>(4).starts_with("nextval("),
        })
        .collect())
}

fn copy_table(
    source: &rusqlite::Connection,
    tx: &mut postgres::Transaction<'_>,
    table: &str,
) -> Result<(), TransferError> {
    let columns = columns(tx, table)?;
    let source_columns: Vec<String> = {
        let mut stmt = source.prepare(&format!("PRAGMA table_info({})", quote(table)))?;
        let names = stmt.query_map([], |r| r.get(1))?;
        names.collect::<Result<_, _>>()?
    };
    let mut selected = Vec::new();
    for c in &columns {
        if source_columns.contains(&c.name) {
            selected.push(quote(&c.name));
        } else if c.name == "rowid" {
            // SQLite's implicit row id, unquoted (quoted it could read as text).
            selected.push("rowid".to_owned());
        } else {
            return Err(TransferError::MissingColumn {
                table: table.to_owned(),
                column: c.name.clone(),
            });
        }
    }
    if SEEDED.contains(&table) {
        tx.execute(&format!("DELETE FROM {}", quote(table)), &[])?;
    }
    let mut stmt = source.prepare(&format!(
        "SELECT {} FROM {}",
        selected.join(", "),
        quote(table)
    ))?;
    let mut rows = stmt.query([])?;
    let per_batch = (MAX_PARAMS / columns.len().max(1)).max(1);
    let mut batch: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    let mut batch_rows = 0;
    let mut batch_bytes = 0;
    while let Some(row) = rows.next()? {
        for (i, c) in columns.iter().enumerate() {
            let value: Value = row.get(i)?;
            batch_bytes += match &value {
                Value::Text(t) => t.len(),
                Value::Blob(b) => b.len(),
                _ => 8,
            };
            batch.push(convert(value, c).map_err(|message| TransferError::Value {
                table: table.to_owned(),
                column: c.name.clone(),
                message,
            })?);
        }
        batch_rows += 1;
        if batch_rows == per_batch || batch_bytes >= MAX_BATCH_BYTES {
            insert(tx, table, &columns, batch_rows, &batch)?;
            batch.clear();
            batch_rows = 0;
            batch_bytes = 0;
        }
    }
    if batch_rows > 0 {
        insert(tx, table, &columns, batch_rows, &batch)?;
    }
    set_sequences(source, tx, table, &columns)
}

/// One `INSERT` of `rows` rows, their values in `values`, row after row.
fn insert(
    tx: &mut postgres::Transaction<'_>,
    table: &str,
    columns: &[Column],
    rows: usize,
    values: &[Box<dyn ToSql + Sync>],
) -> Result<(), TransferError> {
    let names: Vec<String> = columns.iter().map(|c| quote(&c.name)).collect();
    let mut tuples = Vec::with_capacity(rows);
    for r in 0..rows {
        let one: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| placeholder(r * columns.len() + i + 1, c))
            .collect();
        tuples.push(format!("({})", one.join(", ")));
    }
    let overriding = if columns.iter().any(|c| c.identity) {
        " OVERRIDING SYSTEM VALUE"
    } else {
        ""
    };
    let sql = format!(
        "INSERT INTO {} ({}){overriding} VALUES {}",
        quote(table),
        names.join(", "),
        tuples.join(", ")
    );
    let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref()).collect();
    tx.execute(&sql, &params)?;
    Ok(())
}

/// `$n`, cast from text for a type without a native conversion here.
fn placeholder(n: usize, column: &Column) -> String {
    if native(&column.data_type) {
        format!("${n}")
    } else {
        format!("CAST(CAST(${n} AS text) AS {})", quote(&column.udt_name))
    }
}

fn native(data_type: &str) -> bool {
    matches!(
        data_type,
        "bigint"
            | "integer"
            | "smallint"
            | "boolean"
            | "double precision"
            | "real"
            | "bytea"
            | "text"
            | "character varying"
            | "character"
    )
}

/// A SQLite value as the column's type.
fn convert(value: Value, column: &Column) -> Result<Box<dyn ToSql + Sync>, String> {
    fn int<T: TryFrom<i64>>(v: Option<i64>) -> Result<Option<T>, String> {
        v.map(|n| T::try_from(n).map_err(|_| format!("{n} does not fit")))
            .transpose()
    }
    let integer = |v: &Value| match v {
        Value::Null => Ok(None),
        Value::Integer(n) => Ok(Some(*n)),
        Value::Text(t) => t
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{t:?} is not an integer")),
        other => Err(format!("{other:?} is not an integer")),
    };
    let real = |v: &Value| match v {
        Value::Null => Ok(None),
        Value::Integer(n) => Ok(Some(*n as f64)),
        Value::Real(r) => Ok(Some(*r)),
        other => Err(format!("{other:?} is not a number")),
    };
    let text = |v: Value| match v {
        Value::Null => Ok(None),
        Value::Text(t) => Ok(Some(t)),
        Value::Integer(n) => Ok(Some(n.to_string())),
        Value::Real(r) => Ok(Some(r.to_string())),
        Value::Blob(b) => String::from_utf8(b)
            .map(Some)
            .map_err(|_| "bytes that are not UTF-8 text".to_owned()),
    };
    Ok(match column.data_type.as_str() {
        "bigint" => Box::new(integer(&value)?),
        "integer" => Box::new(int::<i32>(integer(&value)?)?),
        "smallint" => Box::new(int::<i16>(integer(&value)?)?),
        "boolean" => Box::new(integer(&value)?.map(|n| n != 0)),
        "double precision" => Box::new(real(&value)?),
        "real" => Box::new(real(&value)?.map(|r| r as f32)),
        "bytea" => Box::new(match value {
            Value::Null => None,
            Value::Blob(b) => Some(b),
            Value::Text(t) => Some(t.into_bytes()),
            other => return Err(format!("{other:?} is not bytes")),
        }),
        _ => Box::new(text(value)?),
    })
}

/// Sets each identity or serial sequence of `table` past its largest value
/// and past SQLite's `AUTOINCREMENT` counter, so new rows never reuse an id.
fn set_sequences(
    source: &rusqlite::Connection,
    tx: &mut postgres::Transaction<'_>,
    table: &str,
    columns: &[Column],
) -> Result<(), TransferError> {
    let counter: i64 = {
        let has_counters: bool = source.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence')",
            [],
            |r| r.get(0),
        )?;
        if has_counters {
            source.query_row(
                "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = ?1",
                [table],
                |r| r.get(0),
            )?
        } else {
            0
        }
    };
    for c in columns.iter().filter(|c| c.identity || c.serial) {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), GREATEST(COALESCE(MAX({col}), 0), $3::bigint, 1), \
                           GREATEST(COALESCE(MAX({col}), 0), $3::bigint) > 0) FROM {table}",
            col = quote(&c.name),
            table = quote(table)
        );
        tx.query_one(&sql, &[&quote(table), &c.name, &counter])?;
    }
    Ok(())
}

/// `name` as an SQL identifier.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Fresh PostgreSQL databases for tests, from `HANDRAISE_TEST_POSTGRES`.
#[cfg(test)]
pub(crate) mod testing {
    use crate::config::DatabaseUrl;

    /// A new, empty database on the server `HANDRAISE_TEST_POSTGRES` names
    /// (the testkit's); `None`, with a note, when it is not set.
    pub(crate) fn fresh_postgres(test: &str) -> Option<DatabaseUrl> {
        match handraise_testkit::postgres::test_database() {
            Ok(Some(url)) => Some(DatabaseUrl::Postgres(url)),
            Ok(None) => {
                eprintln!("{test}: skipped, HANDRAISE_TEST_POSTGRES is not set");
                None
            }
            Err(e) => panic!("HANDRAISE_TEST_POSTGRES: cannot create a database: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::fresh_postgres;
    use super::*;

    /// Tables of each kind the copy meets: an `AUTOINCREMENT` id whose
    /// counter is past the largest row, an identity column, a serial one, a
    /// `rowid` kept, bytes, a flag, JSON (cast from text), and a table a
    /// fresh schema fills.
    const SQLITE: &str = "
        CREATE TABLE devices (id TEXT PRIMARY KEY, revoked INTEGER NOT NULL);
        CREATE TABLE tickets (number INTEGER PRIMARY KEY AUTOINCREMENT,
            device_id TEXT NOT NULL REFERENCES devices(id), summary TEXT NOT NULL,
            facts TEXT, shot BLOB, weight REAL);
        CREATE TABLE messages (id TEXT PRIMARY KEY, ticket_number INTEGER NOT NULL, body TEXT);
        CREATE TABLE updates (seq INTEGER PRIMARY KEY AUTOINCREMENT, ticket_number INTEGER NOT NULL);
        CREATE TABLE server_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO devices VALUES ('d1', 0), ('d2', 1);
        INSERT INTO tickets VALUES (1, 'd1', 'Printer', '{\"os\": \"win\"}', x'00ff10', 1.5),
                                   (2, 'd2', 'Wi-Fi', NULL, NULL, NULL),
                                   (7, 'd1', 'Projector', '[]', x'', 2);
        DELETE FROM tickets WHERE number = 7;
        INSERT INTO tickets VALUES (5, 'd1', 'Bell', NULL, NULL, NULL);
        INSERT INTO messages VALUES ('m1', 1, 'hello'), ('m2', 1, 'again'), ('m3', 2, NULL);
        INSERT INTO updates (ticket_number) VALUES (1), (1), (2);
        INSERT INTO server_meta VALUES ('generation', 'abc');
    ";
    const POSTGRES: &str = "
        CREATE TABLE devices (id TEXT PRIMARY KEY, revoked BOOLEAN NOT NULL);
        CREATE TABLE tickets (number BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            device_id TEXT NOT NULL REFERENCES devices(id), summary TEXT NOT NULL,
            facts JSONB, shot BYTEA, weight DOUBLE PRECISION,
            search TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', summary)) STORED);
        CREATE TABLE messages (rowid BIGSERIAL UNIQUE, id TEXT PRIMARY KEY,
            ticket_number BIGINT NOT NULL REFERENCES tickets(number), body TEXT);
        CREATE TABLE updates (seq BIGSERIAL PRIMARY KEY, ticket_number BIGINT NOT NULL);
        CREATE TABLE server_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE schema_version (version INTEGER NOT NULL);
        INSERT INTO server_meta VALUES ('generation', 'fresh');
        INSERT INTO schema_version VALUES (3);
    ";
    const ORDER: &[&str] = &["devices", "tickets", "messages", "updates", "server_meta"];

    #[test]
    fn every_row_is_copied_by_type_with_ids_and_sequences_kept()
    -> Result<(), Box<dyn std::error::Error>> {
        let Some(target) = fresh_postgres("transfer") else {
            return Ok(());
        };
        let source = rusqlite::Connection::open_in_memory()?;
        source.execute_batch(SQLITE)?;
        let mut client = connect(&target)?;
        client.batch_execute(POSTGRES)?;
        // Defaults of a fresh schema, and its own tables, do not make it non-empty.
        check_empty_of(&mut client, ORDER)?;

        let counts = copy_tables(&source, &mut client, ORDER)?;
        let by_table: Vec<(&str, u64, u64)> = counts
            .iter()
            .map(|c| (c.table.as_str(), c.source, c.target))
            .collect();
        assert_eq!(
            by_table,
            vec![
                ("devices", 2, 2),
                ("tickets", 3, 3),
                ("messages", 3, 3),
                ("updates", 3, 3),
                ("server_meta", 1, 1)
            ]
        );
        let row = client.query_one(
            "SELECT device_id, facts->>'os', shot, weight, search::text FROM tickets WHERE number = 1",
            &[],
        )?;
        assert_eq!(row.get::<_, String>(0), "d1");
        assert_eq!(row.get::<_, Option<String>>(1).as_deref(), Some("win"));
        assert_eq!(row.get::<_, Option<Vec<u8>>>(2), Some(vec![0, 0xff, 0x10]));
        assert_eq!(row.get::<_, Option<f64>>(3), Some(1.5));
        assert_eq!(row.get::<_, String>(4), "'printer':1");
        let revoked: bool = client
            .query_one("SELECT revoked FROM devices WHERE id = 'd2'", &[])?
            .get(0);
        assert!(revoked);
        let generation: String = client
            .query_one("SELECT value FROM server_meta", &[])?
            .get(0);
        assert_eq!(
            generation, "abc",
            "the source's generation replaces the fresh one"
        );
        // SQLite's rowids kept, in order.
        let rowids: Vec<(i64, String)> = client
            .query("SELECT rowid, id FROM messages ORDER BY rowid", &[])?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert_eq!(
            rowids,
            vec![(1, "m1".into()), (2, "m2".into()), (3, "m3".into())]
        );
        // New rows continue past the largest id, and past SQLite's counter (7).
        let number: i64 = client
            .query_one(
                "INSERT INTO tickets (device_id, summary) VALUES ('d1', 'new') RETURNING number",
                &[],
            )?
            .get(0);
        assert_eq!(number, 8);
        let seq: i64 = client
            .query_one(
                "INSERT INTO updates (ticket_number) VALUES (2) RETURNING seq",
                &[],
            )?
            .get(0);
        assert_eq!(seq, 4);
        let rowid: i64 = client
            .query_one(
                "INSERT INTO messages (id, ticket_number) VALUES ('m4', 2) RETURNING rowid",
                &[],
            )?
            .get(0);
        assert_eq!(rowid, 4);

        // Now it is not empty: a second copy is refused, nothing written.
        let again = copy_tables(&source, &mut client, ORDER);
        assert!(
            matches!(&again, Err(TransferError::NotEmpty { .. })),
            "{again:?}"
        );
        Ok(())
    }

    #[test]
    fn a_table_missing_from_the_list_or_a_side_is_an_error_and_nothing_is_written()
    -> Result<(), Box<dyn std::error::Error>> {
        let Some(target) = fresh_postgres("transfer refusals") else {
            return Ok(());
        };
        let source = rusqlite::Connection::open_in_memory()?;
        source.execute_batch(SQLITE)?;
        let mut client = connect(&target)?;
        client.batch_execute(POSTGRES)?;
        let unlisted = copy_tables(&source, &mut client, &ORDER[..4]);
        assert!(
            matches!(&unlisted, Err(TransferError::Unlisted(t)) if t == "server_meta"),
            "{unlisted:?}"
        );
        let missing = copy_tables(&source, &mut client, &[ORDER, &["desks"]].concat());
        assert!(
            matches!(&missing, Err(TransferError::MissingTable { table, .. }) if table == "desks"),
            "{missing:?}"
        );
        client.batch_execute("ALTER TABLE devices ADD COLUMN school TEXT")?;
        let column = copy_tables(&source, &mut client, ORDER);
        assert!(
            matches!(&column, Err(TransferError::MissingColumn { column, .. }) if column == "school"),
            "{column:?}"
        );
        let devices: i64 = client
            .query_one("SELECT COUNT(*) FROM devices", &[])?
            .get(0);
        assert_eq!(devices, 0, "rolled back");
        Ok(())
    }

    /// A reply of Sam's to ticket `number`, with its feed entry.
    fn reply(
        store: &dyn crate::store::Store,
        number: i64,
        body: &str,
    ) -> crate::store::StoreResult<()> {
        use crate::store::{FeedWrite, MessageKind, NewTechMessage, TicketChange};
        let id = uuid::Uuid::now_v7();
        let change = TicketChange {
            messages: vec![NewTechMessage {
                id,
                kind: MessageKind::Technician,
                author: "Sam".into(),
                body: body.into(),
            }],
            feed: vec![FeedWrite::Reply { message_id: id }],
            ..TicketChange::of(number)
        };
        let mut once = Some(change);
        store.change_tickets(&[number], crate::store::now_utc(), &mut |_| {
            Ok(once.take().into_iter().collect())
        })?;
        Ok(())
    }

    #[test]
    fn a_district_on_sqlite_moves_to_the_postgresql_schema_and_carries_on()
    -> Result<(), Box<dyn std::error::Error>> {
        use crate::store::tests::{enroll, ticket};
        use crate::store::{AdminStore, SqlStore, TicketStore};
        let Some(url) = fresh_postgres("migrate into the PostgreSQL schema") else {
            return Ok(());
        };
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("handraise.db");
        let sqlite = SqlStore::open(&file)?;
        let (a, b) = (enroll(&sqlite, Some("Lincoln")), enroll(&sqlite, None));
        let mut numbers = Vec::new();
        for i in 0..5 {
            numbers.push(
                sqlite
                    .insert_ticket(&ticket(a, &format!("A{i}")))?
                    .into_inner()
                    .number,
            );
        }
        let tb = sqlite.insert_ticket(&ticket(b, "B"))?.into_inner();
        reply(&sqlite, numbers[1], "before the move")?;
        reply(&sqlite, tb.number, "for b")?;
        let feed = sqlite.updates(a, 0, 100)?;
        assert_eq!(feed.len(), 1);
        let generation = sqlite.generation()?;
        drop(sqlite);

        let target = SqlStore::open_postgres(url.postgres_url().unwrap_or_default())?;
        let counts = copy(&file, &url)?;
        assert_eq!(counts.len(), TABLES.len());
        let rows = |t: &str| {
            counts
                .iter()
                .find(|c| c.table == t)
                .map(|c| (c.source, c.target))
        };
        assert_eq!(rows("tickets"), Some((6, 6)));
        assert_eq!(rows("devices"), Some((2, 2)));
        assert_eq!(rows("messages"), Some((2, 2)));
        assert_eq!(rows("updates"), Some((2, 2)));
        assert_eq!(rows("enroll_tokens"), Some((2, 2)));

        // The PostgreSQL store reads what SQLite held: the feed as the agent
        // saw it, the generation (agents do not send again).
        assert_eq!(target.updates(a, 0, 100)?, feed);
        assert_eq!(target.generation()?, generation);
        // New rows continue every sequence; the device's cursor stays valid.
        let next = target.insert_ticket(&ticket(a, "after"))?.into_inner();
        assert_eq!(next.number, tb.number + 1);
        reply(&target, numbers[1], "after the move")?;
        let cursor = feed.last().map_or(0, |e| e.seq);
        let news = target.updates(a, cursor, 100)?;
        assert_eq!(news.len(), 1, "{news:?}");
        assert!(news[0].seq > cursor);
        enroll(&target, None);
        assert_eq!(target.list_enroll_tokens()?.len(), 3);
        Ok(())
    }
}
