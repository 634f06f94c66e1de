//! Backups and restore. Scheduled copies go to `backup_dir` as
//! `handraise-YYYYMMDDTHHMMSSZ.db`, each checked after writing (SQLite's
//! integrity check, the schema, the rows of the main tables); beyond
//! `backup_keep` the oldest go. A restore copies a checked backup into a new
//! data directory and gives the database a new generation: agents that see
//! it send again every ticket and message the restored database lacks.

use crate::store::{AdminStore, CopyFacts, SqlStore, Store, StoreError};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;

const PREFIX: &str = "handraise-";
const SUFFIX: &str = ".db";

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
    pub facts: CopyFacts,
}

/// The file name of a backup taken at `at`.
pub fn backup_name(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{PREFIX}{:04}{:02}{:02}T{:02}{:02}{:02}Z{SUFFIX}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Writes a backup of `store` into `dir` (created, owner-only, if missing)
/// and checks it.
pub fn backup_now(
    store: &dyn Store,
    dir: &Path,
    now: OffsetDateTime,
) -> Result<BackupMade, BackupError> {
    create_private_dir(dir)?;
    let path = dir.join(backup_name(now));
    store.backup(&path)?;
    let facts = SqlStore::inspect_copy(&path)?;
    Ok(BackupMade { path, facts })
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
        if name.starts_with(PREFIX) && name.ends_with(SUFFIX) {
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
    pub database: PathBuf,
    pub facts: CopyFacts,
    /// The restored database's new generation.
    pub generation: String,
}

/// Restores the backup `from` into `data_dir`, which must be missing, empty
/// or hold only a configuration file: checks the backup, copies it beside
/// the target and renames it in place, applies migrations and starts a new
/// generation.
pub fn restore(from: &Path, data_dir: &Path) -> Result<Restored, BackupError> {
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
    let generation = new_generation();
    store.set_generation(&generation)?;
    Ok(Restored {
        database,
        facts,
        generation,
    })
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

fn copy_owner_only(from: &Path, to: &Path) -> Result<(), BackupError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut out = opts.open(to).map_err(io(to))?;
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
pub async fn keep_backing_up(store: std::sync::Arc<dyn Store>, schedule: Schedule) {
    loop {
        let age = newest_age(&schedule.dir, SystemTime::now()).unwrap_or(None);
        let wait = age.map_or(Duration::ZERO, |age| schedule.every.saturating_sub(age));
        tokio::time::sleep(wait).await;
        let store = std::sync::Arc::clone(&store);
        let plan = schedule.clone();
        let result = tokio::task::spawn_blocking(move || {
            let made = backup_now(store.as_ref(), &plan.dir, crate::store::now_utc())?;
            let pruned = prune(&plan.dir, plan.keep)?;
            Ok::<_, BackupError>((made, pruned))
        })
        .await;
        match result {
            Ok(Ok((made, pruned))) => tracing::info!(
                backup = %made.path.display(),
                rows = ?made.facts.counts,
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
    use crate::store::DeviceStore;
    use time::macros::datetime;

    #[test]
    fn backup_names_sort_by_time() {
        assert_eq!(
            backup_name(datetime!(2026-12-01 09:05:03 +02:00)),
            "handraise-20261201T070503Z.db"
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
            made.push(backup_now(&live, &dir, t0 + time::Duration::hours(hours))?);
        }
        assert!(
            made[0]
                .facts
                .counts
                .iter()
                .any(|(t, n)| t == "tickets" && *n == 0),
            "{:?}",
            made[0].facts
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
        assert!(restore(&bad, &target).is_err());
        assert!(!target.join(crate::config::DATABASE_FILE).exists());

        let done = restore(&made[3].path, &target)?;
        let restored = SqlStore::open(&done.database)?;
        assert_eq!(restored.generation()?, done.generation);
        assert_ne!(
            done.generation, generation,
            "a restore starts a new generation"
        );
        assert!(restored.list_devices()?.is_empty());
        // Never over a database.
        let again = restore(&made[3].path, &target);
        assert!(matches!(again, Err(BackupError::NotEmpty(_))), "{again:?}");
        Ok(())
    }
}
