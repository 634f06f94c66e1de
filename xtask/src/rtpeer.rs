//! Request Tracker 5 as a local peer: started by the repository's
//! `tests/peers/rt/start-rt.sh` (or the script `HANDRAISE_RT_START` names), which installs
//! it the first time and prints `RT_URL=` and `RT_TOKEN=` as its last two lines, and stopped
//! by `stop-rt.sh` beside it (or `HANDRAISE_RT_STOP`). Used by `cargo xtask test` (the
//! forwarding tests) and `cargo xtask bench` (the side-by-side figures).

use crate::bench::run_bounded;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A running RT: its base URL and an API token.
pub struct Rt {
    pub url: String,
    pub token: String,
}

/// The start script: `HANDRAISE_RT_START`, else `tests/peers/rt/start-rt.sh`.
pub fn start_script(root: &Path) -> PathBuf {
    std::env::var_os("HANDRAISE_RT_START")
        .map_or_else(|| root.join("tests/peers/rt/start-rt.sh"), PathBuf::from)
}

fn stop_script(root: &Path) -> PathBuf {
    std::env::var_os("HANDRAISE_RT_STOP")
        .map_or_else(|| root.join("tests/peers/rt/stop-rt.sh"), PathBuf::from)
}

/// Runs `script` (at most 15 minutes: the first run installs Debian packages) and reads
/// `RT_URL` and `RT_TOKEN` from its output.
pub fn start(script: &Path) -> Result<Rt> {
    let shown = script.display().to_string();
    eprintln!("starting Request Tracker ({shown}); the first time installs it");
    let out = run_bounded(&mut Command::new(script), Duration::from_secs(900))?;
    let value = |k: &str| {
        out.lines()
            .rev()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .map(str::to_owned)
            .with_context(|| format!("{shown} printed no {k}"))
    };
    Ok(Rt {
        url: value("RT_URL")?,
        token: value("RT_TOKEN")?,
    })
}

/// Stops the RT that [`start`] started (the script finds it by its pid file).
pub fn stop(root: &Path) -> Result<()> {
    crate::run_cmd(&mut Command::new(stop_script(root)))
}
