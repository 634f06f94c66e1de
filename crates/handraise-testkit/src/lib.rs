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
//!
//! Never a dependency of the server or agent libraries: only of tests, xtask and fuzz targets.

#[cfg(feature = "http")]
pub mod http;
pub mod process;
#[cfg(feature = "router")]
pub mod router;

pub use process::{Agent, Guard, Launch, Server, bin, is_root, last_line};

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
