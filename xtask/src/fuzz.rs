//! `cargo xtask fuzz [--soak] [--secs N] [TARGET...]`: runs every cargo-fuzz
//! target in `fuzz/` for a bounded time (30 s each; 600 s with `--soak`).
//!
//! cargo-fuzz needs nightly compiler flags (`-Zsanitizer=address`, sanitizer
//! coverage); this project has only the stable toolchain, so the run sets
//! `RUSTC_BOOTSTRAP=1`, which lets stable rustc accept them. cargo-fuzz is
//! installed with `cargo install cargo-fuzz --locked` when missing. A crash
//! fails the run and leaves the input in `fuzz/artifacts/TARGET/`; reproduce it
//! with `RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET fuzz/artifacts/TARGET/crash-…`
//! (from `fuzz/`). Seed inputs live in `fuzz/seeds/TARGET/`; what the fuzzer
//! finds goes to `fuzz/corpus/TARGET/` (not committed).

use crate::{cargo, run_cmd};
use anyhow::{Context, Result, bail};
use handraise_testkit::process::wait_or_kill;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The targets in `fuzz/Cargo.toml`.
pub const TARGETS: &[&str] = &["wire_json", "screenshot_upload", "api_bodies"];

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let mut secs: u64 = 30;
    let mut targets: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--soak" => secs = 600,
            "--secs" => secs = it.next().context("--secs N")?.parse()?,
            t if TARGETS.contains(&t) => targets.push(t.to_owned()),
            other => bail!(
                "unknown option {other}; usage: cargo xtask fuzz [--soak] [--secs N] [{}]",
                TARGETS.join("|")
            ),
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| (*t).to_owned()).collect();
    }
    let secs = secs.clamp(1, 24 * 3600);
    ensure_cargo_fuzz()?;
    let dir = root.join("fuzz");
    let started = Instant::now();
    eprintln!("building the fuzz targets (the first build takes several minutes)");
    run_cmd(fuzz_cmd(&dir).args(["build"]))?;
    let mut results = Vec::new();
    for t in &targets {
        let corpus = dir.join("corpus").join(t);
        std::fs::create_dir_all(&corpus)?;
        let seeds = dir.join("seeds").join(t);
        let mut cmd = fuzz_cmd(&dir);
        cmd.args(["run", t.as_str()]).arg(&corpus);
        if seeds.is_dir() {
            cmd.arg(&seeds);
        }
        cmd.arg("--").args([
            format!("-max_total_time={secs}"),
            "-rss_limit_mb=4096".to_owned(),
            "-timeout=10".to_owned(),
            "-print_final_stats=1".to_owned(),
        ]);
        eprintln!("\n==> fuzz {t} for {secs} s");
        let t0 = Instant::now();
        // The fuzzer stops itself at max_total_time; this bound is for a hang.
        let ok = run_with_limit(&mut cmd, Duration::from_secs(secs + 300))?;
        results.push((t.clone(), t0.elapsed().as_secs_f64(), ok));
    }
    eprintln!("\nfuzz results:");
    for (t, s, ok) in &results {
        eprintln!(
            "  {t:<20} {s:>7.1} s  {}",
            if *ok {
                "no crash".to_owned()
            } else {
                format!("CRASH (see fuzz/artifacts/{t}/)")
            }
        );
    }
    eprintln!("  total {:.1} s", started.elapsed().as_secs_f64());
    let failed: Vec<_> = results
        .iter()
        .filter(|r| !r.2)
        .map(|r| r.0.as_str())
        .collect();
    if !failed.is_empty() {
        bail!("fuzz targets crashed: {}", failed.join(", "));
    }
    Ok(())
}

fn fuzz_cmd(dir: &Path) -> Command {
    let mut cmd = cargo();
    cmd.arg("fuzz").current_dir(dir).env("RUSTC_BOOTSTRAP", "1");
    cmd
}

fn ensure_cargo_fuzz() -> Result<()> {
    let present = cargo()
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !present {
        eprintln!("installing cargo-fuzz");
        run_cmd(cargo().args(["install", "cargo-fuzz", "--locked"]))?;
    }
    Ok(())
}

/// Runs `cmd`; false when it exits non-zero; killed (and an error) after `limit`.
fn run_with_limit(cmd: &mut Command, limit: Duration) -> Result<bool> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("could not start {shown}"))?;
    match wait_or_kill(&mut child, limit)? {
        Some(status) => Ok(status.success()),
        None => bail!("{shown} did not stop within {} s", limit.as_secs()),
    }
}
