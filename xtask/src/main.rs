//! `cargo xtask` — project automation beyond `cargo build`.
//!
//! - `cargo xtask test [--soak]`: installs what the tests need, then runs the format check,
//!   clippy and every test, printing the time of each phase. This is what CI runs.
//! - `cargo xtask run`: builds, starts a district server with a demo enrollment token on
//!   127.0.0.1, enrolls a local agent against it and prints what to try next.

mod deps;
mod run;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root()?;
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("test") => test(&root, &args[1..]),
        Some("run") => run::run(&root, &args[1..]),
        Some("deps") => deps::ensure(deps::TEST_PACKAGES),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 run           build, start a demo district server and enroll a local agent\n  \
                 test [--soak] install what the tests need, then fmt, clippy and every test\n  \
                 deps          install the system packages the tests need"
            );
            bail!("unknown or missing command")
        }
    }
}

fn project_root() -> Result<PathBuf> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("xtask"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .context("xtask must live one level below the workspace root")
}

/// Runs `cmd`, failing with its description when it does not exit 0.
pub(crate) fn run_cmd(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

pub(crate) fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

struct Phases {
    started: Instant,
    done: Vec<(String, f64, bool)>,
}

impl Phases {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            done: Vec::new(),
        }
    }

    fn run(&mut self, name: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
        eprintln!("\n==> {name}");
        let t = Instant::now();
        let result = f();
        let secs = t.elapsed().as_secs_f64();
        eprintln!(
            "<== {name}: {} in {secs:.1} s",
            if result.is_ok() { "ok" } else { "FAILED" }
        );
        self.done.push((name.to_owned(), secs, result.is_ok()));
        result
    }

    fn summary(&self) {
        eprintln!("\nphase times:");
        for (name, secs, ok) in &self.done {
            eprintln!(
                "  {:<28} {:>8.1} s  {}",
                name,
                secs,
                if *ok { "ok" } else { "FAILED" }
            );
        }
        eprintln!(
            "  {:<28} {:>8.1} s",
            "total",
            self.started.elapsed().as_secs_f64()
        );
    }
}

fn test(root: &Path, args: &[String]) -> Result<()> {
    let soak = args.iter().any(|a| a == "--soak");
    let mut phases = Phases::new();
    let result = (|| -> Result<()> {
        phases.run("install test dependencies", || {
            deps::ensure(deps::TEST_PACKAGES)
        })?;
        phases.run("cargo fmt --check", || {
            run_cmd(cargo().args(["fmt", "--all", "--", "--check"]))
        })?;
        phases.run("cargo clippy -D warnings", || {
            run_cmd(cargo().args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))
        })?;
        phases.run("build binaries", || {
            run_cmd(cargo().args([
                "build",
                "-p",
                "handraise-server",
                "-p",
                "handraise-agent",
                "--bins",
            ]))
        })?;
        phases.run("rust tests", || {
            let mut cmd = cargo();
            cmd.args(["test", "--workspace"])
                .env("HANDRAISE_BIN_DIR", root.join("target/debug"));
            if soak {
                cmd.env("HANDRAISE_SOAK", "1");
            }
            run_cmd(&mut cmd)
        })?;
        Ok(())
    })();
    phases.summary();
    result
}
