//! PostgreSQL for tests, from Debian's packages: a throwaway cluster in a temporary directory
//! ([`PgCluster`]: `initdb`, then `pg_ctl start` on 127.0.0.1 and a free port, its unix
//! socket inside the directory, no system service touched), and fresh databases on a running
//! server ([`create_database`]; [`test_database`] on the server named by
//! [`TEST_POSTGRES_ENV`], which `cargo xtask test` sets for its PostgreSQL phases).
//!
//! The binaries are found in `/usr/lib/postgresql/<highest version>/bin`, never on `PATH`
//! (Debian puts only wrappers there). `initdb` refuses to run as root, so as root the cluster
//! belongs to the `postgres` system user (made by Debian's package) and `initdb`/`pg_ctl` run
//! through `runuser -u postgres --`.

use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// An admin URL of a running PostgreSQL server (`postgres://postgres@127.0.0.1:PORT/postgres`):
/// when set, tests make a fresh database on it and run against PostgreSQL instead of SQLite.
pub const TEST_POSTGRES_ENV: &str = "HANDRAISE_TEST_POSTGRES";

/// Where Debian's PostgreSQL packages put each major version's programs.
const VERSIONS_DIR: &str = "/usr/lib/postgresql";
const RUNUSER: &str = "/usr/sbin/runuser";
/// The system user of Debian's package, which owns the cluster when the tests run as root.
const SYSTEM_USER: &str = "postgres";
/// How many times a start is tried on a new port when the chosen one was taken meanwhile.
const PORT_TRIES: usize = 5;

/// The `bin` directory of the highest PostgreSQL version installed by Debian's packages.
pub fn bin_dir() -> Result<PathBuf> {
    let versions = std::fs::read_dir(VERSIONS_DIR).with_context(|| {
        format!("no {VERSIONS_DIR}: install Debian's `postgresql` package (`cargo xtask deps`)")
    })?;
    versions
        .flatten()
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin)
        .with_context(|| format!("no PostgreSQL server in {VERSIONS_DIR}/*/bin"))
}

/// Runs `sql` with `psql` on the database at `url`; its output, unaligned and without
/// headers (`a|b` a row, a line each).
pub fn psql(url: &str, sql: &str) -> Result<String> {
    crate::process::stdout_of(
        Command::new(bin_dir()?.join("psql"))
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                url,
                "-c",
                sql,
            ])
            .env("PGCONNECT_TIMEOUT", "30"),
    )
}

/// A new database, uniquely named, on the server whose admin URL is `admin_url`; its URL
/// (the admin URL with the new database's name). Never dropped: the server is a test's.
pub fn create_database(admin_url: &str) -> Result<String> {
    static MADE: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let name = format!(
        "handraise_test_{}_{}_{nanos}",
        std::process::id(),
        MADE.fetch_add(1, Ordering::Relaxed)
    );
    psql(admin_url, &format!("CREATE DATABASE {name}"))
        .with_context(|| format!("creating database {name}"))?;
    Ok(with_database(admin_url, &name))
}

/// The admin URL in [`TEST_POSTGRES_ENV`], when set.
pub fn admin_url() -> Option<String> {
    std::env::var(TEST_POSTGRES_ENV)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A fresh database on the server named by [`TEST_POSTGRES_ENV`]; `None` when it is unset
/// (the tests then use SQLite).
pub fn test_database() -> Result<Option<String>> {
    admin_url().map(|admin| create_database(&admin)).transpose()
}

/// `url` with its database (the path) replaced by `name`; its query string kept.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_at = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_at..].find('/') {
        Some(slash) => &base[..authority_at + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

/// A PostgreSQL cluster in a temporary directory, listening on 127.0.0.1 only; stopped
/// (`pg_ctl stop -m immediate`) and removed when dropped. `fsync` is off: a test's data need
/// not survive the machine.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// Run as root: `initdb` and `pg_ctl` go through `runuser -u postgres`.
    as_system_user: bool,
}

impl PgCluster {
    /// `initdb` (trust authentication, superuser `postgres`) and `pg_ctl -w start` on a free
    /// port, tried again on another port when the chosen one was taken meanwhile.
    pub fn start() -> Result<PgCluster> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new().prefix("handraise-pg").tempdir()?;
        let mut cluster = PgCluster {
            dir,
            bin,
            port: 0,
            as_system_user: crate::is_root(),
        };
        cluster.give_to_system_user()?;
        cluster
            .init()
            .with_context(|| format!("initdb in {}", cluster.dir.path().display()))?;
        for _ in 0..PORT_TRIES {
            let port = crate::free_port()?;
            let logged = cluster.log().len();
            match cluster.pg_ctl_start(port) {
                Ok(()) => {
                    cluster.port = port;
                    return Ok(cluster);
                }
                Err(_) if cluster.log().get(logged..).is_some_and(port_taken) => {
                    eprintln!("PostgreSQL: port {port} was taken meanwhile, trying another");
                }
                Err(e) => return Err(e.context(cluster.log())),
            }
        }
        bail!(
            "PostgreSQL did not start on any of {PORT_TRIES} free ports: {}",
            cluster.log()
        )
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`, the superuser on the maintenance
    /// database (what [`TEST_POSTGRES_ENV`] holds).
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A fresh, uniquely named database on this cluster; its URL.
    pub fn create_database(&self) -> Result<String> {
        create_database(&self.admin_url())
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path("postgres.log")).unwrap_or_default()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn data(&self) -> PathBuf {
        self.path("data")
    }

    /// As root, the directory belongs to the `postgres` user, who runs the cluster.
    #[cfg(unix)]
    fn give_to_system_user(&self) -> Result<()> {
        if self.as_system_user {
            let uid = crate::user_id(SYSTEM_USER, "-u")?;
            let gid = crate::user_id(SYSTEM_USER, "-g")?;
            std::os::unix::fs::chown(self.dir.path(), Some(uid), Some(gid))?;
        }
        Ok(())
    }

    #[cfg(not(unix))]
    fn give_to_system_user(&self) -> Result<()> {
        Ok(())
    }

    /// A PostgreSQL program, as the `postgres` user when this process is root. It runs in
    /// the cluster's directory (root's home is closed to that user).
    fn program(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        let mut cmd = if self.as_system_user {
            let mut cmd = Command::new(RUNUSER);
            cmd.args(["-u", SYSTEM_USER, "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        };
        cmd.current_dir(self.dir.path());
        cmd
    }

    fn init(&self) -> Result<()> {
        crate::run_logged(
            self.program("initdb")
                .arg("-D")
                .arg(self.data())
                .args(["-A", "trust", "-U", "postgres", "--no-sync"])
                .args(["-E", "UTF8", "--locale=C"]),
            &self.path("initdb.log"),
            Duration::from_secs(120),
        )?;
        // Appended after initdb's defaults, so these win.
        let settings = format!(
            "\n# handraise-testkit: a throwaway cluster for tests\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{}'\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n\
             max_connections = 300\n\
             max_parallel_workers_per_gather = 0\n",
            self.dir.path().display()
        );
        let conf = self.data().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf)
            .with_context(|| format!("reading {}", conf.display()))?;
        text.push_str(&settings);
        std::fs::write(&conf, text)?;
        Ok(())
    }

    fn pg_ctl_start(&self, port: u16) -> Result<()> {
        crate::run_logged(
            self.program("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.path("postgres.log"))
                .args(["-w", "-t", "120", "-o", &format!("-p {port}"), "start"]),
            &self.path("pg_ctl.log"),
            Duration::from_secs(150),
        )
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = crate::run_logged(
            self.program("pg_ctl").arg("-D").arg(self.data()).args([
                "-m",
                "immediate",
                "-w",
                "-t",
                "60",
                "stop",
            ]),
            &self.path("pg_ctl.stop.log"),
            Duration::from_secs(90),
        );
        // Removed here rather than by the temporary directory's own drop, which gives up
        // silently: a file a stopping server process still writes can make one pass fail.
        let dir = self.dir.path();
        let removed = crate::wait_until(
            "PostgreSQL's directory to be removed",
            Duration::from_secs(30),
            || std::fs::remove_dir_all(dir).is_ok() || !dir.exists(),
        );
        if let Err(e) = removed {
            eprintln!("{} is left behind: {e}", dir.display());
        }
    }
}

/// Whether the server's log of a failed start says its port was in use.
fn port_taken(log: &str) -> bool {
    log.contains("Address already in use")
}

#[cfg(test)]
mod tests {
    use super::{PgCluster, bin_dir, psql, with_database};

    #[test]
    fn a_cluster_starts_makes_databases_and_is_removed_when_dropped() -> anyhow::Result<()> {
        if bin_dir().is_err() {
            // Missing: skipped, or a failure under `cargo xtask test`.
            crate::peer_program(&format!("{}/VERSION/bin/initdb", super::VERSIONS_DIR))?;
            return Ok(());
        }
        let cluster = PgCluster::start()?;
        let dir = cluster.dir.path().to_owned();
        let first = cluster.create_database()?;
        let second = cluster.create_database()?;
        assert_ne!(first, second);
        assert_eq!(
            psql(&first, "SELECT current_database() = 'postgres'")?.trim(),
            "f"
        );
        assert_eq!(
            psql(&cluster.admin_url(), "SHOW listen_addresses")?.trim(),
            "127.0.0.1"
        );
        drop(cluster);
        assert!(!dir.exists(), "{} is removed", dir.display());
        Ok(())
    }

    #[test]
    fn the_database_of_a_url_is_replaced_and_its_query_kept() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@db.example:5432/admin?sslmode=disable", "t2"),
            "postgres://u:p@db.example:5432/t2?sslmode=disable"
        );
        assert_eq!(
            with_database("postgresql://127.0.0.1:5433", "t3"),
            "postgresql://127.0.0.1:5433/t3"
        );
    }
}
