//! Test and tool support for HandRaise, in one place:
//!
//! - [`process`]: the real `handraise-server` binary started for a test or a tool (a data
//!   directory, `init`, `serve` on 127.0.0.1, the `listening on` line awaited with a bound),
//!   its CLI (enrollment and technician tokens), and the real `handraise-agent` binary on a
//!   data directory of its own. Used by the end-to-end tests and by xtask (`run`, `bench`,
//!   `bench-app`).
//! - [`http`] (feature `http`): typed requests to a running server.
//! - [`router`] (feature `router`): the real router over an in-memory store, driven in
//!   process, with enrolled devices, tickets and technician tokens. Used by the server's
//!   handler and property tests and by the fuzz targets.
//! - [`postgres`]: a throwaway PostgreSQL cluster from Debian's packages (no crate), and a
//!   fresh database per test on the server named by `HANDRAISE_TEST_POSTGRES`, which the
//!   store and handler tests (`router::test_store`) and [`Launch`] then use; SQLite
//!   otherwise.
//! - [`haproxy`]: Debian's HAProxy in front of several server nodes on loopback.
//!
//! Never a dependency of the server or agent libraries: only of tests, xtask and fuzz targets.

pub mod haproxy;
#[cfg(feature = "http")]
pub mod http;
#[cfg(unix)]
pub mod mail;
#[cfg(feature = "osticket")]
pub mod osticket;
pub mod postgres;
pub mod process;
#[cfg(feature = "router")]
pub mod router;

pub use process::{Agent, Guard, Launch, Server, bin, is_root, last_line};

/// Set by `cargo xtask test`, which installs every peer program the tests use: a missing
/// one is then a failure, not a skip.
pub const REQUIRE_PEERS_ENV: &str = "HANDRAISE_REQUIRE_PEERS";

/// A peer program from the distribution (Prometheus, nginx, …) at `path`: `Ok(None)` when
/// it is missing and the tests run on their own (the caller skips, saying why); an error
/// when it is missing under `cargo xtask test`.
pub fn peer_program(path: &str) -> anyhow::Result<Option<std::path::PathBuf>> {
    let path = std::path::PathBuf::from(path);
    if path.is_file() {
        return Ok(Some(path));
    }
    if std::env::var_os(REQUIRE_PEERS_ENV).is_some() {
        anyhow::bail!(
            "{} is missing; `cargo xtask test` should have installed it",
            path.display()
        );
    }
    eprintln!(
        "skipped: {} is not installed (`cargo xtask test` installs it)",
        path.display()
    );
    Ok(None)
}

/// A TCP port on 127.0.0.1 that was free a moment ago, for a peer program that cannot
/// report the port it bound.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Polls `ok` until it is true or `timeout` passes; the error names `what` was awaited.
pub fn wait_until(
    what: &str,
    timeout: std::time::Duration,
    mut ok: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let end = std::time::Instant::now() + timeout;
    loop {
        if ok() {
            return Ok(());
        }
        if std::time::Instant::now() >= end {
            anyhow::bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Runs a peer program's command to completion (at most `within`). Its output goes to `log`:
/// a daemon it leaves behind keeps inherited pipes open, so they are never read.
pub(crate) fn run_logged(
    cmd: &mut std::process::Command,
    log: &std::path::Path,
    within: std::time::Duration,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let out = std::fs::File::create(log)?;
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("running {cmd:?}"))?;
    let end = std::time::Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait()? {
            if !status.success() {
                anyhow::bail!(
                    "{cmd:?} failed ({status}): {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            return Ok(());
        }
        if std::time::Instant::now() > end {
            let _ = child.kill();
            anyhow::bail!("{cmd:?} did not finish within {within:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The user id (`flag` `-u`) or group id (`-g`) of the system user `user`.
pub(crate) fn user_id(user: &str, flag: &str) -> anyhow::Result<u32> {
    use anyhow::Context;
    let out = std::process::Command::new("id")
        .args([flag, user])
        .output()?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .with_context(|| format!("no user {user}"))
}
