//! Operations: `backup`, `restore`, and the scheduled backups of `serve`.

use super::open;
use anyhow::Context;
use handraise_server::Config;
use handraise_server::service::backups;
use handraise_server::service::leases::Leases;
use handraise_server::store::AdminStore;
use std::path::Path;
use std::sync::Arc;

/// `backup --out FILE`: a consistent copy while serving.
pub(super) fn backup(data_dir: &Path, out: &Path) -> anyhow::Result<()> {
    let store = open(data_dir)?;
    store
        .backup(out)
        .with_context(|| format!("backing up to {}", out.display()))?;
    println!("backup written to {}", out.display());
    Ok(())
}

/// `restore --from FILE`: a checked backup into a new or empty data directory,
/// with a new generation so agents send again what it lacks.
pub(super) fn restore(data_dir: &Path, from: &Path) -> anyhow::Result<()> {
    let done = backups::restore(from, data_dir)
        .with_context(|| format!("restoring {} into {}", from.display(), data_dir.display()))?;
    println!(
        "restored {} into {}",
        from.display(),
        done.database.display()
    );
    println!("schema version {}", done.facts.schema_version);
    for (table, rows) in &done.facts.counts {
        println!("{table}: {rows} rows");
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
    tracing::info!(dir = %schedule.dir.display(), every = ?schedule.every, keep = schedule.keep, "scheduled backups");
    leases.spawn_worker("backups", move || {
        backups::keep_backing_up(Arc::clone(&store), schedule.clone())
    });
}
