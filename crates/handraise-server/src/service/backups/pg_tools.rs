//! PostgreSQL's own client programs for backups: `pg_restore` lists a dump
//! (the check after writing) and restores one. `pg_dump` is the store's own
//! `backup` on PostgreSQL; both find the programs and pass the connection
//! the store's way (`store::client_program`, `store::connection_args`: the
//! password as `PGPASSWORD`, never on a command line others can read).

use super::BackupError;
use crate::config::{DatabaseUrl, mask_secrets};
use crate::store::{client_program, connection_args};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `name` connecting to `database`.
fn command(name: &'static str, database: &DatabaseUrl) -> Result<Command, BackupError> {
    let url = database
        .postgres_url()
        .ok_or_else(|| BackupError::WrongKind(format!("{name} needs a PostgreSQL database")))?;
    let (config, _) = crate::store::pg_connection(url)
        .map_err(|e| BackupError::WrongKind(format!("{database}: {e}")))?;
    let mut cmd = Command::new(client_program(name));
    let root_cert = crate::store::pg_root_cert(url);
    connection_args(&config, root_cert.as_deref(), &mut cmd);
    Ok(cmd)
}

/// Runs `cmd`; its standard output, or its error output (secrets masked)
/// as the error.
fn run(name: &'static str, mut cmd: Command) -> Result<String, BackupError> {
    let out = cmd.output().map_err(|source| BackupError::Io {
        path: PathBuf::from(name),
        source,
    })?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    Err(BackupError::Tool {
        tool: name,
        message: mask_secrets(String::from_utf8_lossy(&out.stderr).trim()),
    })
}

/// Checks a dump by reading its table of contents (`pg_restore --list`);
/// the tables whose rows it holds.
pub(super) fn tables_in_dump(path: &Path) -> Result<Vec<String>, BackupError> {
    let mut cmd = Command::new(client_program("pg_restore"));
    cmd.arg("--list").arg(path);
    let listing = run("pg_restore", cmd)?;
    // Entries read `ID; OID OID TABLE DATA SCHEMA NAME OWNER`.
    Ok(listing
        .lines()
        .filter(|l| !l.starts_with(';'))
        .filter_map(|l| l.split_once(" TABLE DATA "))
        .filter_map(|(_, rest)| rest.split_whitespace().nth(1).map(str::to_owned))
        .collect())
}

/// Restores the dump `from` into `database`, in one transaction: objects
/// the target already has (the empty tables of a fresh schema) are dropped
/// first.
pub(super) fn restore(from: &Path, database: &DatabaseUrl) -> Result<(), BackupError> {
    let mut cmd = command("pg_restore", database)?;
    cmd.args([
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",
        "--exit-on-error",
    ])
    .arg(from);
    run("pg_restore", cmd).map(drop)
}
