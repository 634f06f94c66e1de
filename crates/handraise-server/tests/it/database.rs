//! The binary's choice of database: `database_url`, `--database`, `init
//! --database`, and backups by database. A password never shows. With
//! `HANDRAISE_TEST_POSTGRES` (an admin URL), the same against PostgreSQL.

use super::R;
use std::path::Path;
use std::process::{Command, Output};

fn server(args: &[&str], dir: &Path) -> R<Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_handraise-server"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("HANDRAISE_SERVER_DATABASE_URL")
        .output()?)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_database_other_than_sqlite_or_postgres_is_refused_without_showing_its_password() -> R {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    for args in [
        &["init", "--database", "mysql://root:hunter2@db/handraise"][..],
        &[
            "tickets",
            "list",
            "--database",
            "postgres://root:hunter2@db/x y",
        ],
    ] {
        let out = server(args, &data)?;
        assert!(!out.status.success(), "{}", text(&out));
        let said = text(&out);
        assert!(said.contains("must be `sqlite` or a postgres://"), "{said}");
        assert!(!said.contains("hunter2"), "{said}");
    }
    assert!(!data.join("config.toml").exists(), "nothing written");

    // In the file, and in the environment: the same, masked.
    std::fs::create_dir_all(&data)?;
    std::fs::write(
        data.join("config.toml"),
        "database_url = \"mysql://root:hunter2@db/handraise\"\n",
    )?;
    let out = server(&["tickets", "list"], &data)?;
    let said = text(&out);
    assert!(
        !out.status.success() && said.contains("database_url"),
        "{said}"
    );
    assert!(!said.contains("hunter2"), "{said}");
    std::fs::remove_file(data.join("config.toml"))?;
    let out = Command::new(env!("CARGO_BIN_EXE_handraise-server"))
        .args(["tickets", "list", "--data-dir"])
        .arg(&data)
        .env("HANDRAISE_SERVER_DATABASE_URL", "oracle://sys:hunter2@db")
        .output()?;
    let said = text(&out);
    assert!(
        !out.status.success() && said.contains("HANDRAISE_SERVER_DATABASE_URL"),
        "{said}"
    );
    assert!(!said.contains("hunter2"), "{said}");
    Ok(())
}

#[test]
fn init_with_sqlite_and_a_backup_into_backup_dir() -> R {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let out = server(&["init", "--database", "sqlite"], &data)?;
    assert!(out.status.success(), "{}", text(&out));
    let config = std::fs::read_to_string(data.join("config.toml"))?;
    assert!(config.contains("database_url = \"sqlite\""), "{config}");
    let out = server(&["tickets", "list"], &data)?;
    assert!(out.status.success(), "{}", text(&out));

    // Without --out, into backup_dir; without either, a clear error.
    let out = server(&["backup"], &data)?;
    assert!(!out.status.success());
    assert!(text(&out).contains("set backup_dir"), "{}", text(&out));
    let backups = dir.path().join("backups");
    std::fs::write(
        data.join("config.toml"),
        format!("{config}backup_dir = {:?}\n", backups.display().to_string()),
    )?;
    let out = server(&["backup"], &data)?;
    assert!(out.status.success(), "{}", text(&out));
    let made: Vec<_> = std::fs::read_dir(&backups)?.collect::<Result<_, _>>()?;
    assert_eq!(made.len(), 1);
    let name = made[0].file_name().to_string_lossy().into_owned();
    assert!(
        name.starts_with("handraise-") && name.ends_with(".db"),
        "{name}"
    );
    assert!(text(&out).contains("checked: SQLite"), "{}", text(&out));

    // A dump is not restored into a data directory.
    let dump = dir.path().join("district.dump");
    std::fs::write(&dump, b"PGDMP\x01\x0e\x00")?;
    let out = server(
        &["restore", "--from", &dump.display().to_string()],
        &dir.path().join("new"),
    )?;
    assert!(!out.status.success());
    assert!(
        text(&out).contains("is a PostgreSQL dump"),
        "{}",
        text(&out)
    );
    Ok(())
}

#[test]
fn migrate_needs_a_sqlite_source_and_a_postgres_target() -> R {
    let dir = tempfile::tempdir()?;
    let migrate = |from: &str, to: &str| -> R<String> {
        let out = Command::new(env!("CARGO_BIN_EXE_handraise-server"))
            .args(["migrate", "--from", from, "--to", to])
            .output()?;
        assert!(!out.status.success(), "{}", text(&out));
        Ok(text(&out))
    };
    let said = migrate("/srv/handraise", "postgres://hr:hunter2@127.0.0.1:9/x")?;
    assert!(said.contains("--from is sqlite:DIR"), "{said}");
    let from = format!("sqlite:{}", dir.path().display());
    let said = migrate(&from, "sqlite")?;
    assert!(said.contains("--to is the postgres://"), "{said}");
    let said = migrate(&from, "postgres://hr:hunter2@127.0.0.1:9/x")?;
    assert!(said.contains("no database at"), "{said}");
    assert!(!said.contains("hunter2"), "{said}");
    Ok(())
}

/// A fresh PostgreSQL database with a password in its URL (the test server trusts loopback,
/// so any password passes), or `None` with a note when `HANDRAISE_TEST_POSTGRES` is unset.
fn fresh_postgres(test: &str) -> R<Option<String>> {
    let Some(url) = handraise_testkit::postgres::test_database().map_err(|e| e.to_string())? else {
        eprintln!("{test}: skipped, HANDRAISE_TEST_POSTGRES is not set");
        return Ok(None);
    };
    Ok(Some(url.replacen(
        "://postgres@",
        "://postgres:hunter2@",
        1,
    )))
}

#[test]
fn init_database_postgres_is_used_by_later_commands_backed_up_and_restored() -> R {
    let Some(url) = fresh_postgres("init --database postgres")? else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let mut said = String::new();
    let mut run = |args: &[&str]| -> R<String> {
        let out = server(args, &data)?;
        let shown = text(&out);
        said.push_str(&shown);
        assert!(out.status.success(), "{args:?}: {shown}");
        Ok(shown)
    };
    let init = run(&["init", "--database", &url])?;
    assert!(
        init.contains("database: postgres://postgres:***@"),
        "{init}"
    );
    let config = std::fs::read_to_string(data.join("config.toml"))?;
    assert!(
        config.contains(&format!("database_url = {url:?}")),
        "{config}"
    );
    assert!(!data.join("handraise.db").exists(), "no SQLite file");
    // Later commands read it from the file.
    run(&["enroll-token", "create", "--label", "pg"])?;
    let listed = run(&["enroll-token", "list"])?;
    assert!(listed.contains("pg"), "{listed}");
    let doctor = run(&["doctor", "--json"])?;
    assert!(doctor.contains("PostgreSQL"), "{doctor}");
    // A backup is pg_dump's, into backup_dir.
    let backups = dir.path().join("backups");
    std::fs::write(
        data.join("config.toml"),
        format!("{config}backup_dir = {:?}\n", backups.display().to_string()),
    )?;
    let backup = run(&["backup"])?;
    assert!(backup.contains("pg_dump --format=custom"), "{backup}");
    let dump = std::fs::read_dir(&backups)?
        .next()
        .ok_or("no backup written")??
        .path();
    assert!(
        dump.to_string_lossy().ends_with(".dump"),
        "{}",
        dump.display()
    );
    // Restored into an empty database, never into one holding a district.
    let from = dump.display().to_string();
    let out = server(&["restore", "--from", &from, "--database", &url], &data)?;
    assert!(!out.status.success());
    assert!(text(&out).contains("is not empty"), "{}", text(&out));
    assert!(!text(&out).contains("hunter2"), "{}", text(&out));
    let Some(empty) = fresh_postgres("restore")? else {
        return Ok(());
    };
    let restored = run(&["restore", "--from", &from, "--database", &empty])?;
    assert!(restored.contains("generation"), "{restored}");
    let listed = run(&["enroll-token", "list", "--database", &empty])?;
    assert!(listed.contains("pg"), "{listed}");
    assert!(!said.contains("hunter2"), "{said}");
    Ok(())
}
