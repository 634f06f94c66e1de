//! `cargo xtask` — project automation beyond `cargo build`.
//!
//! - `cargo xtask test [--soak]`: installs what the tests need, then runs the format check,
//!   clippy and every test (the generated UI bindings checked among them), printing the time
//!   of each phase; Request Tracker is started for the forwarding tests (which then fail
//!   without it) and stopped after; the server's tests and the end-to-end suite run again on
//!   a throwaway PostgreSQL cluster. This is what CI runs. `--soak` adds the long loops, long
//!   fuzzing and the packages installed into a clean Debian 12 root (`cargo xtask
//!   clean-install` alone).
//! - `cargo xtask run`: builds, starts a district server with a demo enrollment token on
//!   127.0.0.1, enrolls a local agent against it, starts the tray app and prints what to try.
//! - `cargo xtask dist [--windows]`: release builds and packages (`.deb`s; with `--windows`
//!   the `.exe`s and the installer, `windows_dist.rs`). `cargo xtask wine-prefix DIR`: a Wine
//!   prefix for the `.exe`s (`windows.rs`).
//! - `cargo xtask postgres`: a throwaway PostgreSQL cluster, its admin URL printed (for
//!   `HANDRAISE_TEST_POSTGRES`), until Ctrl-C.
//! - `cargo xtask codegen`: regenerates `ui/src/lib/bindings.ts` from the Rust IPC types and
//!   the wire crate's choices, defaults and text limits.

mod appbench;
mod bench;
mod benchmarks;
mod clean_install;
mod deps;
mod fuzz;
mod packaging;
mod rtpeer;
mod run;
mod windows;
mod windows_dist;

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
        Some("bench") => bench::run(&root, &args[1..]),
        Some("fuzz") => fuzz::run(&root, &args[1..]),
        Some("codegen") => codegen(),
        Some("bench-app") => appbench::run(&root, &args[1..]),
        Some("dist") if args.get(1).is_some_and(|a| a == "--windows") => {
            windows_dist::dist(&root).map(|_| ())
        }
        Some("dist") => dist(&root).map(|_| ()),
        Some("wine-prefix") => match args.get(1) {
            Some(dir) => windows::wine_prefix(&root, Path::new(dir)),
            None => bail!("usage: cargo xtask wine-prefix DIR"),
        },
        Some("test-windows") => test_windows(&root),
        Some("clean-install") => clean_install::run(&root),
        Some("deps") => deps::ensure(&test_packages()),
        Some("postgres") => postgres(),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 run           build, start a demo district server, enroll a local agent, start the tray app\n  \
                 test [--soak] install what the tests need, then fmt, clippy and every test\n  \
                 codegen       regenerate ui/src/lib/bindings.ts (IPC types, choices, limits)\n  \
                 bench [--forwarding]  server, agent and Request Tracker benchmarks (or forwarding to desks) into BENCHMARKS.md\n  \
                 bench-app [--quick]  the tray app's memory, wake-ups and start-up into BENCHMARKS.md\n  \
                 fuzz [--soak] the server's fuzz targets (30 s each, 600 s with --soak)\n  \
                 dist          release binaries, the server's and the tray app's .debs (target/release/bundle/deb)\n  \
                 dist --windows  the Windows .exes and the installer (target/x86_64-pc-windows-gnu/release)\n  \
                 test-windows  only the Windows phases of test: the .exes built and linted, the agent and the tray app's unit tests under Wine\n  \
                 wine-prefix DIR  a Wine prefix with the test harness's stand-in DLLs, for the .exes\n  \
                 clean-install the .debs into a clean Debian 12 root (debootstrap), then enroll, report, sync (root; part of test --soak)\n  \
                 deps          install the system packages the tests need\n  \
                 postgres      a throwaway PostgreSQL cluster for the tests (HANDRAISE_TEST_POSTGRES), until Ctrl-C"
            );
            bail!("unknown or missing command")
        }
    }
}

/// The Windows phases of `cargo xtask test`, which `bin_dir`'s Linux server serves.
fn windows_phases(root: &Path, phases: &mut Phases, bin_dir: &Path) -> Result<()> {
    phases.run(
        "windows: build agent and server, clippy -D warnings",
        || windows::build_linted(root, &["handraise-agent", "handraise-server"]).map(|_| ()),
    )?;
    phases.run("windows: agent under wine", || {
        windows::test_under_wine(root, bin_dir)
    })?;
    phases.run(
        "windows: tray app built, clippy -D warnings, unit tests under wine",
        || windows::test_app_under_wine(root),
    )
}

/// `cargo xtask test-windows`: the Linux server and agent built, then the Windows phases only.
fn test_windows(root: &Path) -> Result<()> {
    let mut phases = Phases::new();
    let result = (|| -> Result<()> {
        phases.run("build the Linux server and agent", || {
            build_server_and_agent(false)
        })?;
        windows_phases(root, &mut phases, &root.join("target/debug"))
    })();
    phases.summary();
    result
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

/// `cargo build [--release] -p PACKAGE...` followed by `extra` (e.g. `--bins`).
pub(crate) fn cargo_build(release: bool, packages: &[&str], extra: &[&str]) -> Result<()> {
    let mut cmd = cargo();
    cmd.arg("build");
    if release {
        cmd.arg("--release");
    }
    for p in packages {
        cmd.args(["-p", p]);
    }
    run_cmd(cmd.args(extra))
}

/// The server and agent binaries, debug or release.
pub(crate) fn build_server_and_agent(release: bool) -> Result<()> {
    cargo_build(
        release,
        &["handraise-server", "handraise-agent"],
        &["--bins"],
    )
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

    fn run_value<T>(&mut self, name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let mut out = None;
        self.run(name, || {
            out = Some(f()?);
            Ok(())
        })?;
        out.context("phase produced nothing")
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

/// The cargo target directory: `CARGO_TARGET_DIR`, else the workspace's `target`.
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// Release `handraise-server`, `handraise-agent`, the tray app bundled as a `.deb` by the
/// Tauri CLI (from ui's npm packages), and the two packages of `packaging/`: the server's and
/// the tray app's for fleets (`target/release/bundle/deb`). Returns (server, agent) `.deb`s.
pub(crate) fn dist(root: &Path) -> Result<(PathBuf, PathBuf)> {
    deps::ensure(deps::BUILD_PACKAGES)?;
    deps::ensure_node()?;
    npm_ci(&root.join("ui"))?;
    build_server_and_agent(true)?;
    build_report(root, &target_dir(root).join("release"))?;
    run_cmd(
        Command::new(root.join("ui/node_modules/.bin/tauri"))
            .args([
                "build",
                "--bundles",
                "deb",
                "--config",
                "src-tauri/tauri.conf.json",
            ])
            .env("TAURI_FRONTEND_PATH", "ui")
            .current_dir(root),
    )?;
    let rel = target_dir(root).join("release");
    let bundle = rel.join("bundle/deb");
    let tauri_deb = std::fs::read_dir(&bundle)?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "deb")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("HandRaise_"))
        })
        .with_context(|| format!("no HandRaise_*.deb from Tauri in {}", bundle.display()))?;
    let arch = packaging::host_arch()?;
    let inputs = packaging::Inputs {
        root,
        version: env!("CARGO_PKG_VERSION"),
        arch: &arch,
    };
    let server = packaging::server_deb(&inputs, &rel.join("handraise-server"), &bundle)?;
    let agent = packaging::agent_deb(&inputs, &tauri_deb, &rel.join("handraise-agent"), &bundle)?;
    for f in [
        &tauri_deb,
        &server,
        &agent,
        &rel.join("handraise"),
        &rel.join("handraise-server"),
        &rel.join("handraise-agent"),
    ] {
        let size = f.metadata().map(|m| m.len()).unwrap_or(0);
        println!("{:>8.1} MiB  {}", size as f64 / 1048576.0, f.display());
    }
    Ok((server, agent))
}

pub(crate) fn test_packages() -> Vec<&'static str> {
    [
        deps::BUILD_PACKAGES,
        deps::TEST_RUNTIME_PACKAGES,
        deps::WINDOWS_PACKAGES,
    ]
    .concat()
}

fn codegen() -> Result<()> {
    run_cmd(
        cargo()
            .args([
                "test",
                "-p",
                "handraise-agent",
                "--features",
                "ts",
                "--test",
                "bindings",
            ])
            .env("HANDRAISE_WRITE_BINDINGS", "1"),
    )?;
    eprintln!("wrote ui/src/lib/bindings.ts");
    Ok(())
}

/// `npm ci` in `dir` unless its node_modules already match its lock file.
pub(crate) fn npm_ci(dir: &Path) -> Result<()> {
    let lock = dir.join("package-lock.json");
    let installed = dir.join("node_modules/.package-lock.json");
    let fresh = match (lock.metadata(), installed.metadata()) {
        (Ok(l), Ok(i)) => match (l.modified(), i.modified()) {
            (Ok(l), Ok(i)) => i >= l,
            _ => false,
        },
        _ => false,
    };
    if fresh {
        eprintln!("{}: node_modules up to date", dir.display());
        return Ok(());
    }
    run_cmd(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir),
    )
}

fn npm(dir: &Path, script: &str) -> Command {
    let mut cmd = Command::new("npm");
    cmd.args(["run", script]).current_dir(dir);
    cmd
}

/// The web report page's bundle (`ui/dist-report`, from the tray app's components) copied to
/// `report/` beside the server binary in `bin_dir`, where `handraise-server` looks for it when
/// `report_dir` is not set. `cargo build -p handraise-server` needs no npm: a server without
/// the bundle answers `/report/` with a page saying how to build it.
pub(crate) fn build_report(root: &Path, bin_dir: &Path) -> Result<()> {
    let ui = root.join("ui");
    npm_ci(&ui)?;
    run_cmd(&mut npm(&ui, "build:report"))?;
    let dest = bin_dir.join("report");
    if dest.exists() {
        std::fs::remove_dir_all(&dest).with_context(|| format!("removing {}", dest.display()))?;
    }
    copy_dir(&ui.join("dist-report"), &dest)
}

/// Copies the tree `from` to `to` (files and directories only).
pub(crate) fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Builds the UI and the tray app with the UI embedded (what a release has).
pub(crate) fn build_app(root: &Path) -> Result<()> {
    npm_ci(&root.join("ui"))?;
    run_cmd(&mut npm(&root.join("ui"), "build"))?;
    build_app_binary()
}

/// `target/debug/handraise` with the UI embedded. `cargo test --workspace` rebuilds the same
/// path without it (loading a dev server), so this runs again before the app's own tests;
/// both variants stay cached, so the second build is a relink.
fn build_app_binary() -> Result<()> {
    build_app_with_ui(false)
}

/// The tray app with the UI embedded (`--features custom-protocol`), debug or release.
pub(crate) fn build_app_with_ui(release: bool) -> Result<()> {
    cargo_build(
        release,
        &["handraise-app"],
        &["--features", "custom-protocol"],
    )
}

/// Features the workspace's tests and lints build with: `handraise-agent/ts` compiles the
/// check that `ui/src/lib/bindings.ts` is current (`crates/handraise-agent/tests/bindings.rs`),
/// which needs no Tauri.
const TEST_FEATURES: &[&str] = &["--features", "handraise-agent/ts"];

/// The server's tests and the end-to-end suite again on PostgreSQL: one throwaway cluster for
/// the run (`handraise_testkit::postgres`), its admin URL in `HANDRAISE_TEST_POSTGRES`, from
/// which every test makes a fresh database. The workspace's run before them is on SQLite.
fn postgres_tests(phases: &mut Phases, cargo_test: &dyn Fn(&[&str]) -> Command) -> Result<()> {
    use handraise_testkit::postgres::{PgCluster, TEST_POSTGRES_ENV};
    let cluster = phases.run_value("start PostgreSQL", PgCluster::start)?;
    let admin = cluster.admin_url();
    eprintln!("PostgreSQL for the tests: {TEST_POSTGRES_ENV}={admin}");
    phases.run("server tests on PostgreSQL", || {
        run_cmd(
            cargo_test(&["-p", "handraise-server"])
                .args(TEST_FEATURES)
                .env(TEST_POSTGRES_ENV, &admin),
        )
    })?;
    phases.run("end-to-end tests on PostgreSQL", || {
        run_cmd(
            // The e2e crate has no `handraise-agent` of its own: no test features.
            cargo_test(&["-p", "handraise-e2e", "--test", "e2e"]).env(TEST_POSTGRES_ENV, &admin),
        )
    })?;
    phases.run("stop PostgreSQL", || {
        drop(cluster);
        Ok(())
    })
}

/// `cargo xtask postgres`: a throwaway PostgreSQL cluster (as the tests' phases start one),
/// its admin URL printed, until Ctrl-C; then stopped and removed.
fn postgres() -> Result<()> {
    use handraise_testkit::postgres::{PgCluster, TEST_POSTGRES_ENV};
    use nix::sys::signal::{SigSet, Signal};
    let cluster = PgCluster::start()?;
    // Ctrl-C and SIGTERM are taken here (blocked, then awaited), so the cluster is stopped.
    let mut stop = SigSet::empty();
    stop.add(Signal::SIGINT);
    stop.add(Signal::SIGTERM);
    stop.thread_block()?;
    let admin = cluster.admin_url();
    println!(
        "PostgreSQL on 127.0.0.1:{port} (a throwaway cluster; stopped and removed at Ctrl-C)\n\
         admin URL: {admin}\n\n\
         Try:\n  \
         {TEST_POSTGRES_ENV}={admin} cargo test -p handraise-server\n  \
         {TEST_POSTGRES_ENV}={admin} cargo test -p handraise-e2e --test e2e nodes\n\n\
         Press Ctrl-C to stop.",
        port = cluster.port()
    );
    let signal = stop.wait()?;
    eprintln!("{signal}: stopping PostgreSQL");
    drop(cluster);
    Ok(())
}

fn test(root: &Path, args: &[String]) -> Result<()> {
    let soak = args.iter().any(|a| a == "--soak");
    let bin_dir = root.join("target/debug");
    let mut phases = Phases::new();
    let result = (|| -> Result<()> {
        phases.run("install system packages", || {
            deps::ensure(&test_packages())?;
            deps::ensure_node()
        })?;
        let tauri_driver = phases.run_value("install tauri-driver", deps::ensure_tauri_driver)?;
        phases.run("install npm packages", || {
            for dir in ["ui", "tests/console", "tests/app"] {
                if root.join(dir).join("package.json").exists() {
                    npm_ci(&root.join(dir))?;
                }
            }
            Ok(())
        })?;
        phases.run("cargo fmt --check", || {
            run_cmd(cargo().args(["fmt", "--all", "--", "--check"]))
        })?;
        phases.run("cargo clippy -D warnings", || {
            run_cmd(
                cargo()
                    .args(["clippy", "--workspace", "--all-targets"])
                    .args(TEST_FEATURES)
                    .args(["--", "-D", "warnings"]),
            )
        })?;
        phases.run("ui: build, type check, unit tests", || {
            let ui = root.join("ui");
            run_cmd(&mut npm(&ui, "build"))?;
            run_cmd(&mut npm(&ui, "check"))?;
            run_cmd(&mut npm(&ui, "test"))
        })?;
        phases.run("build binaries, the app and the web report page", || {
            build_server_and_agent(false)?;
            build_report(root, &bin_dir)?;
            build_app(root)
        })?;
        // The forwarding tests need Request Tracker: started here, and required (a missing RT
        // fails them instead of skipping them).
        let rt = phases.run_value("start Request Tracker", || {
            rtpeer::start(&rtpeer::start_script(root))
        });
        if let Err(e) = &rt {
            eprintln!("Request Tracker did not start ({e:#}): the forwarding tests will fail");
        }
        // `cargo test ARGS` with what every test run needs: the binaries, the peers required,
        // Request Tracker, the soak switch.
        let cargo_test = |args: &[&str]| {
            let mut cmd = cargo();
            cmd.arg("test")
                .args(args)
                .env("HANDRAISE_BIN_DIR", &bin_dir)
                .env(handraise_testkit::REQUIRE_PEERS_ENV, "1")
                .env("HANDRAISE_RT_REQUIRED", "1");
            if let Ok(rt) = &rt {
                cmd.env("HANDRAISE_RT_URL", &rt.url)
                    .env("HANDRAISE_RT_TOKEN", &rt.token);
            }
            if soak {
                cmd.env("HANDRAISE_SOAK", "1");
            }
            cmd
        };
        let tests = phases.run("rust tests", || {
            run_cmd(cargo_test(&["--workspace"]).args(TEST_FEATURES))
        });
        let on_postgres = match &tests {
            Ok(()) => postgres_tests(&mut phases, &cargo_test),
            Err(_) => Ok(()),
        };
        if rt.is_ok() {
            let _ = phases.run("stop Request Tracker", || rtpeer::stop(root));
        }
        tests?;
        on_postgres?;
        windows_phases(root, &mut phases, &bin_dir)?;
        phases.run("fuzz: 30 s per target (600 s with --soak)", || {
            let args: Vec<String> = if soak {
                vec!["--soak".into()]
            } else {
                Vec::new()
            };
            fuzz::run(root, &args)
        })?;
        phases.run("ui browser tests (chromium)", || {
            run_cmd(&mut npm(&root.join("ui"), "test:browser"))
        })?;
        if root.join("tests/console/package.json").exists() {
            phases.run("console browser tests (chromium)", || {
                run_cmd(npm(&root.join("tests/console"), "test").env("HANDRAISE_BIN_DIR", &bin_dir))
            })?;
        }
        if root.join("tests/app/package.json").exists() {
            phases.run("tray app: webdriver and tray tests (xvfb)", || {
                build_app_binary()?;
                run_cmd(
                    npm(&root.join("tests/app"), "test")
                        .env("HANDRAISE_BIN_DIR", &bin_dir)
                        .env("TAURI_DRIVER", &tauri_driver),
                )
            })?;
        }
        if soak {
            phases.run("packages: clean Debian 12 install", || {
                clean_install::run(root)
            })?;
        }
        Ok(())
    })();
    phases.summary();
    result
}
