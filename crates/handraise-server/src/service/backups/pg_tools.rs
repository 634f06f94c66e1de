//! PostgreSQL's own tools, from Debian's packages: `pg_dump` writes a
//! backup in its custom format, `pg_restore` lists one (the check after
//! writing) and restores one. The password never reaches a command line
//! (where any user could read it): it is taken out of the URL and given as
//! `PGPASSWORD`.

use super::BackupError;
use crate::config::{DatabaseUrl, mask_secrets};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Debian installs each major version's tools.
const DEBIAN_DIR: &str = "/usr/lib/postgresql";

/// The tool `name`: from the newest version in Debian's directory (a newer
/// `pg_dump` reads older servers, not the other way round), else from `PATH`.
pub(super) fn tool(name: &'static str) -> Result<PathBuf, BackupError> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(DEBIAN_DIR)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let path = e.path().join("bin").join(name);
            path.is_file().then_some((version, path))
        })
        .collect();
    versions.sort();
    if let Some((_, path)) = versions.pop() {
        return Ok(path);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or(BackupError::NoTool(name))
}

/// `tool` connecting to `database`: the URL without its password as
/// `--dbname`, the password as `PGPASSWORD`.
fn command(name: &'static str, database: &DatabaseUrl) -> Result<Command, BackupError> {
    let (url, password) = database
        .split_password()
        .ok_or_else(|| BackupError::WrongKind(format!("{name} needs a PostgreSQL database")))?;
    let mut cmd = Command::new(tool(name)?);
    cmd.arg("--dbname").arg(url);
    if let Some(password) = password {
        cmd.env("PGPASSWORD", password);
    }
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

/// `pg_dump --format=custom` of `database` into `out` (owner-only: it holds
/// every ticket and credential hash), through a partial file renamed when
/// complete.
pub(super) fn dump(database: &DatabaseUrl, out: &Path) -> Result<(), BackupError> {
    let partial = out.with_extension("partial");
    super::owner_only_file(&partial)?;
    let mut cmd = command("pg_dump", database)?;
    cmd.args(["--format=custom", "--file"]).arg(&partial);
    if let Err(e) = run("pg_dump", cmd) {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, out).map_err(super::io(out))
}

/// Checks a dump by reading its table of contents (`pg_restore --list`);
/// the tables whose rows it holds.
pub(super) fn tables_in_dump(path: &Path) -> Result<Vec<String>, BackupError> {
    let mut cmd = Command::new(tool("pg_restore")?);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::transfer::{self, TransferError, testing::fresh_postgres};

    #[test]
    fn a_dump_is_written_owner_only_listed_and_restored_into_an_empty_database()
    -> Result<(), Box<dyn std::error::Error>> {
        let Some(live) = fresh_postgres("pg_dump and pg_restore") else {
            return Ok(());
        };
        let mut client = transfer::connect(&live)?;
        client.batch_execute(
            "CREATE TABLE tickets (number BIGINT PRIMARY KEY, summary TEXT NOT NULL);
             CREATE TABLE other (n INTEGER); INSERT INTO other VALUES (1);
             INSERT INTO tickets VALUES (1, 'Printer offline'), (2, 'No Wi-Fi');",
        )?;
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("handraise-x.dump");
        dump(&live, &file)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file)?.permissions().mode();
            assert_eq!(mode & 0o077, 0, "owner-only");
        }
        assert_eq!(
            tables_in_dump(&file)?,
            vec!["other".to_owned(), "tickets".to_owned()]
        );
        assert!(!dir.path().join("handraise-x.partial").exists());

        // The live database is not empty; a new one is, and takes the dump.
        let refused = transfer::check_empty(&mut client);
        assert!(
            matches!(&refused, Err(TransferError::NotEmpty { table, rows: 2 }) if table == "tickets"),
            "{refused:?}"
        );
        let Some(target) = fresh_postgres("pg_restore") else {
            return Ok(());
        };
        let mut restored = transfer::connect(&target)?;
        transfer::check_empty(&mut restored)?;
        restore(&file, &target)?;
        let rows: i64 = restored
            .query_one("SELECT COUNT(*) FROM tickets", &[])?
            .get(0);
        assert_eq!(rows, 2);

        // A damaged dump is refused by the check after writing.
        let bad = dir.path().join("bad.dump");
        let bytes = std::fs::read(&file)?;
        std::fs::write(&bad, &bytes[..20.min(bytes.len())])?;
        assert!(tables_in_dump(&bad).is_err());
        Ok(())
    }
}
