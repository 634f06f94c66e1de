//! Operations: `backup`, `restore`, and the scheduled backups of `serve`,
//! on either database (`service::backups`).

use super::open;
use anyhow::{Context, bail};
use handraise_server::Config;
use handraise_server::config::Location;
use handraise_server::service::backups::{self, BackupKind, Checked};
use handraise_server::service::leases::Leases;
use handraise_server::store::now_utc;
use std::path::Path;
use std::sync::Arc;

/// `backup [--out FILE]`: a consistent copy while serving, to FILE or into
/// the configuration's `backup_dir`; on PostgreSQL, `pg_dump`'s.
pub(super) fn backup(location: &Location, out: Option<&Path>) -> anyhow::Result<()> {
    let config = location.config()?;
    let store = open(location)?;
    let database = &config.database_url;
    let made = match (out, &config.backup_dir) {
        (Some(out), _) => backups::backup_to(&store, database, out),
        (None, Some(dir)) => backups::backup_now(&store, database, dir, now_utc()),
        (None, None) => bail!("give --out FILE, or set backup_dir in the configuration"),
    }
    .with_context(|| match out {
        Some(out) => format!("backing up to {}", out.display()),
        None => "backing up into backup_dir".to_owned(),
    })?;
    match BackupKind::of(database) {
        BackupKind::Sqlite => println!("backup written to {}", made.path.display()),
        BackupKind::PgDump => println!(
            "backup of {database} written to {} by pg_dump --format=custom (restore it with \
             `handraise-server restore --from FILE --database postgres://…` into an empty \
             database)",
            made.path.display()
        ),
    }
    println!("checked: {}", made.checked);
    Ok(())
}

/// `restore --from FILE`: a checked backup into a new or empty data directory,
/// or a dump into an empty PostgreSQL database, with a new generation so
/// agents send again what it lacks.
pub(super) fn restore(location: &Location, from: &Path) -> anyhow::Result<()> {
    let database = location.config()?.database_url;
    let data_dir = &location.data_dir;
    let done = backups::restore(from, data_dir, &database).with_context(|| {
        format!(
            "restoring {} into {}",
            from.display(),
            if database.is_postgres() {
                database.to_string()
            } else {
                data_dir.display().to_string()
            }
        )
    })?;
    println!("restored {} into {}", from.display(), done.database);
    match &done.checked {
        Checked::Sqlite(facts) => {
            println!("schema version {}", facts.schema_version);
            for (table, rows) in &facts.counts {
                println!("{table}: {rows} rows");
            }
        }
        checked @ Checked::PgDump { .. } => println!("{checked}"),
    }
    println!(
        "generation {}: agents that reach this server send again the tickets and messages it \
         lacks; technicians' work after the backup and screenshots the agents already \
         dropped cannot come back",
        done.generation
    );
    Ok(())
}

/// Starts the scheduled backups of `config`, if it sets `backup_dir`.
/// Takes scheduled backups on the server node holding the `backups` lease.
pub(super) fn spawn_scheduled_backups(
    leases: &Leases,
    store: Arc<dyn handraise_server::Store>,
    config: &Config,
) {
    let Some(dir) = config.backup_dir.clone() else {
        return;
    };
    let schedule = backups::Schedule {
        dir,
        every: std::time::Duration::from_secs(u64::from(config.backup_every_hours.max(1)) * 3600),
        keep: config.backup_keep.max(1) as usize,
    };
    tracing::info!(dir = %schedule.dir.display(), every = ?schedule.every, keep = schedule.keep, database = %config.database_url, "scheduled backups");
    let database = config.database_url.clone();
    leases.spawn_worker("backups", move || {
        backups::keep_backing_up(Arc::clone(&store), database.clone(), schedule.clone())
    });
}
