//! Test and tool support for HandRaise, in one place:
//!
//! - [`process`]: the real `handraise-server` binary started for a test or a tool (a data
//!   directory, `init`, `serve` on 127.0.0.1, the `listening on` line awaited with a bound),
//!   its CLI (enrollment and technician tokens), and the real `handraise-agent` binary on a
//!   data directory of its own. Used by the end-to-end tests and by xtask (`run`, `bench`,
//!   `bench-app`).
//! - [`postgres`]: a fresh PostgreSQL database per test when `HANDRAISE_TEST_POSTGRES`
//!   names a test server; SQLite otherwise.
//! - [`http`] (feature `http`): typed requests to a running server.
//! - [`router`] (feature `router`): the real router over an in-memory store, driven in
//!   process, with enrolled devices, tickets and technician tokens. Used by the server's
//!   handler and property tests and by the fuzz targets.
//!
//! Never a dependency of the server or agent libraries: only of tests, xtask and fuzz targets.

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
