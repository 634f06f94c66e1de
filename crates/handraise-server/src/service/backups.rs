//! Backups and restore, on either database. Scheduled copies go to
//! `backup_dir` as `handraise-YYYYMMDDTHHMMSSZ.db` (SQLite) or `.dump`
//! (PostgreSQL, `pg_dump --format=custom`, `pg_tools`), each checked after
//! writing (SQLite's integrity check, the schema, the rows of the main
//! tables; a dump's table of contents); beyond `backup_keep` the oldest go.
//! A restore copies a checked backup into a new data directory, or a dump
//! into an empty PostgreSQL database, and gives the database a new
//! generation: agents that see it send again every ticket and message the
//! restored database lacks.

mod pg_tools;

use crate::config::DatabaseUrl;
use crate::store::transfer::{self, TransferError};
use crate::store::{CopyFacts, SqlStore, Store, StoreError};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;

const PREFIX: &str = "handraise-";
/// The first bytes of each kind of backup file.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
const PG_DUMP_MAGIC: &[u8] = b"PGDMP";

/// Errors of backups and restores.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{0} is not empty: restore only into a new or empty data directory (a restore \
         never overwrites a database)"
    )]
    NotEmpty(PathBuf),
    #[error(transparent)]
    Transfer(#[from] TransferError),
    #[error("{tool} failed: {message}")]
    Tool { tool: &'static str, message: String },
    #[error("{0}")]
    WrongKind(String),
}

/// What a backup file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupKind {
    /// A SQLite database file.
    Sqlite,
    /// `pg_dump --format=custom` of a PostgreSQL database.
    PgDump,
}

impl BackupKind {
    /// The kind of backup `database` makes.
    pub fn of(database: &DatabaseUrl) -> Self {
        if database.is_postgres() {
            Self::PgDump
        } else {
            Self::Sqlite
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Self::Sqlite => ".db",
            Self::PgDump => ".dump",
        }
    }

    /// The kind of the file at `path`, by its first bytes.
    pub fn of_file(path: &Path) -> Result<Self, BackupError> {
        use std::io::Read;
        let mut head = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(16).read_to_end(&mut head))
            .map_err(io(path))?;
        if head.starts_with(SQLITE_MAGIC) {
            Ok(Self::Sqlite)
        } else if head.starts_with(PG_DUMP_MAGIC) {
            Ok(Self::PgDump)
        } else {
            Err(BackupError::WrongKind(format!(
                "{} is neither a SQLite backup nor a PostgreSQL dump (pg_dump --format=custom)",
                path.display()
            )))
        }
    }
}

/// How a backup was checked after writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// A SQLite copy: integrity, schema and rows of the main tables.
    Sqlite(CopyFacts),
    /// A dump whose table of contents `pg_restore --list` read: the tables
    /// whose rows it holds.
    PgDump { tables: Vec<String> },
}

impl std::fmt::Display for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(facts) => {
                write!(f, "SQLite, schema version {}", facts.schema_version)?;
                for (table, rows) in &facts.counts {
                    write!(f, ", {table}: {rows}")?;
                }
                Ok(())
            }
            Self::PgDump { tables } => write!(
                f,
                "pg_dump --format=custom, read back by pg_restore --list: the rows of {} tables",
                tables.len()
            ),
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A backup written and checked.
#[derive(Debug, Clone)]
pub struct BackupMade {
    pub path: PathBuf,
    pub checked: Checked,
}

/// The file name of a backup of `kind` taken at `at`.
pub fn backup_name(at: OffsetDateTime, kind: BackupKind) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{PREFIX}{:04}{:02}{:02}T{:02}{:02}{:02}Z{}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        kind.suffix()
    )
}

/// Writes a backup of `store` (whose database is `database`) into `dir`
/// (created, owner-only, if missing), named by the time, and checks it.
pub fn backup_now(
    store: &dyn Store,
    database: &DatabaseUrl,
    dir: &Path,
    now: OffsetDateTime,
) -> Result<BackupMade, BackupError> {
    create_private_dir(dir)?;
    backup_to(
        store,
        database,
        &dir.join(backup_name(now, BackupKind::of(database))),
    )
}

/// Writes a backup of `store` to `path` and checks it: SQLite's consistent
/// copy, or on PostgreSQL `pg_dump --format=custom`.
pub fn backup_to(
    store: &dyn Store,
    database: &DatabaseUrl,
    path: &Path,
) -> Result<BackupMade, BackupError> {
    // The store's own copy: SQLite's `VACUUM INTO`, PostgreSQL's `pg_dump`.
    store.backup(path)?;
    let checked = match BackupKind::of(database) {
        BackupKind::Sqlite => Checked::Sqlite(SqlStore::inspect_copy(path)?),
        BackupKind::PgDump => Checked::PgDump {
            tables: pg_tools::tables_in_dump(path)?,
        },
    };
    Ok(BackupMade {
        path: path.to_owned(),
        checked,
    })
}

/// The scheduled backups in `dir`, oldest first.
pub fn list(dir: &Path) -> Result<Vec<(PathBuf, SystemTime)>, BackupError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(dir)(e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let suffixes = [BackupKind::Sqlite, BackupKind::PgDump].map(BackupKind::suffix);
        if name.starts_with(PREFIX) && suffixes.iter().any(|s| name.ends_with(s)) {
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .map_err(io(&entry.path()))?;
            found.push((entry.path(), modified));
        }
    }
    // The names sort by time; the modification time breaks no ties.
    found.sort();
    Ok(found)
}

/// The age of the newest backup in `dir`, if there is one.
pub fn newest_age(dir: &Path, now: SystemTime) -> Result<Option<Duration>, BackupError> {
    Ok(list(dir)?
        .last()
        .map(|(_, at)| now.duration_since(*at).unwrap_or_default()))
}

/// Removes all but the newest `keep` backups; returns those removed.
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, BackupError> {
    let all = list(dir)?;
    let excess = all.len().saturating_sub(keep.max(1));
    let mut removed = Vec::new();
    for (path, _) in all.into_iter().take(excess) {
        std::fs::remove_file(&path).map_err(io(&path))?;
        removed.push(path);
    }
    Ok(removed)
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    /// Where: the database file, or the PostgreSQL database (masked).
    pub database: String,
    pub checked: Checked,
    /// The restored database's new generation.
    pub generation: String,
}

/// Restores the backup `from` into `database`: a SQLite backup into
/// `data_dir`, a dump into an empty PostgreSQL database. Either way the
/// restored database starts a new generation.
pub fn restore(
    from: &Path,
    data_dir: &Path,
    database: &DatabaseUrl,
) -> Result<Restored, BackupError> {
    match (BackupKind::of_file(from)?, database) {
        (BackupKind::Sqlite, DatabaseUrl::Sqlite) => restore_sqlite(from, data_dir),
        (BackupKind::PgDump, DatabaseUrl::Postgres(_)) => restore_dump(from, data_dir, database),
        (BackupKind::Sqlite, DatabaseUrl::Postgres(_)) => Err(BackupError::WrongKind(format!(
            "{} is a SQLite backup: restore it into a data directory (without a PostgreSQL \
             --database), then move it with `handraise-server migrate --from sqlite:DIR --to \
             {database}`",
            from.display()
        ))),
        (BackupKind::PgDump, DatabaseUrl::Sqlite) => Err(BackupError::WrongKind(format!(
            "{} is a PostgreSQL dump: restore it into an empty PostgreSQL database, with \
             --database postgres://…",
            from.display()
        ))),
    }
}

/// A SQLite backup into `data_dir`, which must be missing, empty or hold
/// only a configuration file: checks the backup, copies it beside the
/// target and renames it in place, applies migrations.
fn restore_sqlite(from: &Path, data_dir: &Path) -> Result<Restored, BackupError> {
    if data_dir.exists() {
        let entries = std::fs::read_dir(data_dir).map_err(io(data_dir))?;
        for entry in entries {
            let entry = entry.map_err(io(data_dir))?;
            if entry.file_name() != crate::config::CONFIG_FILE {
                return Err(BackupError::NotEmpty(data_dir.to_owned()));
            }
        }
    }
    let facts = SqlStore::inspect_copy(from)?;
    create_private_dir(data_dir)?;
    let database = data_dir.join(crate::config::DATABASE_FILE);
    let partial = data_dir.join(".restoring.db");
    copy_owner_only(from, &partial)?;
    std::fs::rename(&partial, &database).map_err(io(&database))?;
    let store = SqlStore::open(&database)?;
    Ok(Restored {
        database: database.display().to_string(),
        checked: Checked::Sqlite(facts),
        generation: new_generation_of(&store)?,
    })
}

/// A dump into an empty PostgreSQL database (`pg_restore`, one
/// transaction), then migrations applied.
fn restore_dump(
    from: &Path,
    data_dir: &Path,
    database: &DatabaseUrl,
) -> Result<Restored, BackupError> {
    let tables = pg_tools::tables_in_dump(from)?;
    transfer::check_empty(database)?;
    pg_tools::restore(from, database)?;
    let store =
        crate::store::open_database(&data_dir.join(crate::config::DATABASE_FILE), database)?;
    Ok(Restored {
        database: database.to_string(),
        checked: Checked::PgDump { tables },
        generation: new_generation_of(&store)?,
    })
}

/// Gives `store` a new generation; returns it.
fn new_generation_of(store: &dyn Store) -> Result<String, BackupError> {
    let generation = new_generation();
    store.set_generation(&generation)?;
    Ok(generation)
}

/// A fresh generation id: 128 random bits, hex.
pub fn new_generation() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

fn create_private_dir(dir: &Path) -> Result<(), BackupError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io(dir))
}

/// Creates (or empties) `path`, readable and writable by its owner only
/// (on Unix).
fn owner_only_file(path: &Path) -> Result<std::fs::File, BackupError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map_err(io(path))
}

fn copy_owner_only(from: &Path, to: &Path) -> Result<(), BackupError> {
    use std::io::Write;
    let mut out = owner_only_file(to)?;
    let mut input = std::fs::File::open(from).map_err(io(from))?;
    std::io::copy(&mut input, &mut out).map_err(io(to))?;
    out.flush().map_err(io(to))?;
    out.sync_all().map_err(io(to))?;
    Ok(())
}

/// When and where scheduled backups go.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub dir: PathBuf,
    pub every: Duration,
    pub keep: usize,
}

/// Takes a backup whenever the newest in `schedule.dir` is `every` old (at
/// once when there is none), checks it and prunes; logs each outcome. Runs
/// until the process ends.
pub async fn keep_backing_up(
    store: std::sync::Arc<dyn Store>,
    database: DatabaseUrl,
    schedule: Schedule,
) {
    loop {
        let age = newest_age(&schedule.dir, SystemTime::now()).unwrap_or(None);
        let wait = age.map_or(Duration::ZERO, |age| schedule.every.saturating_sub(age));
        tokio::time::sleep(wait).await;
        let store = std::sync::Arc::clone(&store);
        let plan = schedule.clone();
        let database = database.clone();
        let result = tokio::task::spawn_blocking(move || {
            let made = backup_now(
                store.as_ref(),
                &database,
                &plan.dir,
                crate::store::now_utc(),
            )?;
            let pruned = prune(&plan.dir, plan.keep)?;
            Ok::<_, BackupError>((made, pruned))
        })
        .await;
        match result {
            Ok(Ok((made, pruned))) => tracing::info!(
                backup = %made.path.display(),
                checked = %made.checked,
                pruned = pruned.len(),
                "backup written and checked"
            ),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "scheduled backup failed; trying again in an hour");
                tokio::time::sleep(Duration::from_secs(3600).min(schedule.every)).await;
            }
            Err(e) => tracing::error!(error = %e, "scheduled backup task failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AdminStore, DeviceStore};
    use time::macros::datetime;

    #[test]
    fn backup_names_sort_by_time() {
        assert_eq!(
            backup_name(datetime!(2026-12-01 09:05:03 +02:00), BackupKind::Sqlite),
            "handraise-20261201T070503Z.db"
        );
        assert_eq!(
            backup_name(datetime!(2026-12-01 09:05:03 UTC), BackupKind::PgDump),
            "handraise-20261201T090503Z.dump"
        );
    }

    #[test]
    fn backups_are_checked_pruned_and_restored_with_a_new_generation()
    -> Result<(), Box<dyn std::error::Error>> {
        let root = tempfile::tempdir()?;
        let live = SqlStore::open(&root.path().join("live.db"))?;
        let generation = live.generation()?;
        assert_eq!(generation.len(), 32);
        let dir = root.path().join("backups");
        let t0 = datetime!(2026-12-01 09:00:00 UTC);
        let mut made = Vec::new();
        for hours in 0..4 {
            made.push(backup_now(
                &live,
                &DatabaseUrl::Sqlite,
                &dir,
                t0 + time::Duration::hours(hours),
            )?);
        }
        let Checked::Sqlite(facts) = &made[0].checked else {
            return Err(format!("{:?}", made[0].checked).into());
        };
        assert!(
            facts.counts.iter().any(|(t, n)| t == "tickets" && *n == 0),
            "{facts:?}"
        );
        let removed = prune(&dir, 2)?;
        assert_eq!(removed, vec![made[0].path.clone(), made[1].path.clone()]);
        assert_eq!(list(&dir)?.len(), 2);

        // A damaged copy is refused before anything is written.
        let bad = root.path().join("bad.db");
        let mut bytes = std::fs::read(&made[3].path)?;
        let half = bytes.len() / 2;
        bytes.truncate(half);
        std::fs::write(&bad, bytes)?;
        let target = root.path().join("restored");
        assert!(restore(&bad, &target, &DatabaseUrl::Sqlite).is_err());
        assert!(!target.join(crate::config::DATABASE_FILE).exists());

        // A SQLite backup is not restored into PostgreSQL, nor the other way round.
        let postgres = DatabaseUrl::Postgres("postgres://hr:hunter2@127.0.0.1:9/x".into());
        let wrong = restore(&made[3].path, &target, &postgres).map(|_| ());
        let wrong = wrong.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(wrong.contains("migrate --from sqlite:DIR"), "{wrong}");
        assert!(!wrong.contains("hunter2"), "{wrong}");
        let dump = root.path().join("x.dump");
        std::fs::write(&dump, b"PGDMP\x01\x0e")?;
        let wrong = restore(&dump, &target, &DatabaseUrl::Sqlite).map(|_| ());
        let wrong = wrong.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(wrong.contains("is a PostgreSQL dump"), "{wrong}");
        assert!(!target.join(crate::config::DATABASE_FILE).exists());

        let done = restore(&made[3].path, &target, &DatabaseUrl::Sqlite)?;
        let restored = SqlStore::open(&target.join(crate::config::DATABASE_FILE))?;
        assert_eq!(restored.generation()?, done.generation);
        assert_ne!(
            done.generation, generation,
            "a restore starts a new generation"
        );
        assert!(restored.list_devices()?.is_empty());
        // Never over a database.
        let again = restore(&made[3].path, &target, &DatabaseUrl::Sqlite);
        assert!(matches!(again, Err(BackupError::NotEmpty(_))), "{again:?}");
        Ok(())
    }

    #[test]
    fn on_postgresql_a_dump_is_checked_and_restored_only_into_an_empty_database()
    -> Result<(), Box<dyn std::error::Error>> {
        use crate::store::transfer::testing::fresh_postgres;
        use crate::store::{AdminStore, NewEnrollToken};
        let Some(live_url) = fresh_postgres("pg_dump backups") else {
            return Ok(());
        };
        let live = crate::store::open_database(Path::new("unused"), &live_url)?;
        live.create_enroll_token(&NewEnrollToken::new("token", "pg"), crate::store::now_utc())?;
        let root = tempfile::tempdir()?;
        let dir = root.path().join("backups");
        let made = backup_now(&live, &live_url, &dir, datetime!(2026-12-01 09:00:00 UTC))?;
        assert_eq!(
            made.path,
            dir.join("handraise-20261201T090000Z.dump"),
            "{made:?}"
        );
        let Checked::PgDump { tables } = &made.checked else {
            return Err(format!("{made:?}").into());
        };
        assert!(
            ["tickets", "updates", "enroll_tokens"]
                .iter()
                .all(|t| tables.iter().any(|d| d == t)),
            "{tables:?}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&made.path)?.permissions().mode();
            assert_eq!(mode & 0o077, 0, "owner-only");
        }
        assert_eq!(list(&dir)?.len(), 1, "a dump counts as a scheduled backup");

        // Not over a district's data; into an empty database, with a new generation.
        let refused = restore(&made.path, root.path(), &live_url);
        assert!(
            matches!(&refused, Err(BackupError::Transfer(TransferError::NotEmpty { table, .. })) if table == "enroll_tokens"),
            "{refused:?}"
        );
        let Some(target_url) = fresh_postgres("pg_restore") else {
            return Ok(());
        };
        let done = restore(&made.path, root.path(), &target_url)?;
        assert_eq!(done.database, target_url.to_string());
        let restored = crate::store::open_database(Path::new("unused"), &target_url)?;
        assert_eq!(restored.list_enroll_tokens()?.len(), 1);
        assert_eq!(restored.generation()?, done.generation);
        assert_ne!(done.generation, live.generation()?);
        let again = restore(&made.path, root.path(), &target_url);
        assert!(
            matches!(
                &again,
                Err(BackupError::Transfer(TransferError::NotEmpty { .. }))
            ),
            "{again:?}"
        );

        // A damaged dump is refused by the check after writing.
        let bad = root.path().join("bad.dump");
        let bytes = std::fs::read(&made.path)?;
        std::fs::write(&bad, &bytes[..20.min(bytes.len())])?;
        assert!(pg_tools::tables_in_dump(&bad).is_err());
        Ok(())
    }
}
