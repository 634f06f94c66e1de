//! The tray app's footprint and start-up, measured on the release build under Xvfb:
//! memory idle (no window), after a report window opens and closes (20 cycles), wake-ups
//! while idle, and trigger → interactive cold and warm — for both window designs.

use crate::benchmarks::{loadavg, machine, section, write_section};
use anyhow::{Context, Result};
use handraise_testkit::{Agent, Guard, Launch, wait_until};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Memory of a process tree, from `/proc/PID/smaps_rollup`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mem {
    pub anon_kb: u64,
    pub pss_kb: u64,
    pub processes: usize,
}

impl Mem {
    fn mb(kb: u64) -> f64 {
        kb as f64 / 1024.0
    }
}

fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(t.path().join("children")) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}

fn tree(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let kids = children(all[i]);
        all.extend(kids);
        i += 1;
    }
    all
}

pub fn measure(pid: u32) -> Mem {
    let mut m = Mem::default();
    for p in tree(pid) {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")) else {
            continue;
        };
        let field = |name: &str| {
            text.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        m.anon_kb += field("Anonymous:");
        m.pss_kb += field("Pss:");
        m.processes += 1;
    }
    m
}

/// Context switches of each thread of `pid` and its descendants (each one a wake-up), by
/// thread id, with the thread's name.
fn switches(pid: u32) -> std::collections::HashMap<String, (String, u64)> {
    let mut out = std::collections::HashMap::new();
    let tasks = tree(pid)
        .into_iter()
        .filter_map(|p| std::fs::read_dir(format!("/proc/{p}/task")).ok())
        .flatten();
    for t in tasks.flatten() {
        let name = std::fs::read_to_string(t.path().join("comm"))
            .unwrap_or_default()
            .trim()
            .to_owned();
        let Ok(text) = std::fs::read_to_string(t.path().join("status")) else {
            continue;
        };
        let n: u64 = text
            .lines()
            .filter(|l| {
                l.starts_with("voluntary_ctxt_switches")
                    || l.starts_with("nonvoluntary_ctxt_switches")
            })
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum();
        out.insert(t.file_name().to_string_lossy().into_owned(), (name, n));
    }
    out
}

/// Wake-ups between two [`switches`] readings, per minute, summed by thread name (a thread
/// that ended in between counts what it had at the first reading as nothing new).
fn wakeups_by_name(
    before: &std::collections::HashMap<String, (String, u64)>,
    after: &std::collections::HashMap<String, (String, u64)>,
    seconds: f64,
) -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    for (tid, (name, n)) in after {
        let was = before.get(tid).map_or(0, |(_, n)| *n);
        let d = n.saturating_sub(was);
        if d > 0 {
            *out.entry(name.clone()).or_insert(0.0) += d as f64 / seconds * 60.0;
        }
    }
    out
}

fn quiet(cmd: &mut Command) -> Result<Guard> {
    Ok(Guard(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("could not start {cmd:?}"))?,
    ))
}

fn window_count(title: &str, display: &str) -> usize {
    Command::new("wmctrl")
        .arg("-l")
        .env("DISPLAY", display)
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| l.contains(title))
                .count()
        })
        .unwrap_or(0)
}

fn unix_ms_now() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// "window ready" times (ms) logged by the app, in order.
fn ready_times(log: &Path) -> Vec<f64> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("window ready"))
        .filter_map(|l| l.split("ms=").nth(1))
        .filter_map(|v| v.split_whitespace().next()?.parse().ok())
        .collect()
}

pub struct Figures {
    pub design: &'static str,
    pub idle: Mem,
    pub after_first_close: Mem,
    pub after_cycles: Mem,
    pub worst_after_close: Mem,
    pub cycles: usize,
    pub idle_wakeups_per_min: f64,
    /// The same, by thread name: the tokio workers run the sync schedule; anything else
    /// waking an idle tray is a defect.
    pub idle_wakeups_by_thread: std::collections::BTreeMap<String, f64>,
    /// The first window on an account whose caches are empty.
    pub ready_first_ever_ms: Option<f64>,
    pub ready_cold_ms: Option<f64>,
    pub ready_warm_ms: Vec<f64>,
}

/// Runs one design: `separate` (the default) or `in-process`.
pub fn run_design(
    app_bin: &Path,
    agent_dir: &Path,
    work: &Path,
    design: &'static str,
    settle: Duration,
    cycles: usize,
) -> Result<Figures> {
    let display = ":93";
    let _xvfb = quiet(Command::new("Xvfb").args([
        display,
        "-screen",
        "0",
        "1280x800x24",
        "-nolisten",
        "tcp",
    ]))?;
    wait_until("Xvfb's socket", Duration::from_secs(10), || {
        Path::new("/tmp/.X11-unix/X93").exists()
    })?;
    let _wm = quiet(Command::new("openbox").env("DISPLAY", display))?;
    let _tray = quiet(
        Command::new("trayer")
            .args([
                "--edge",
                "top",
                "--align",
                "right",
                "--widthtype",
                "pixel",
                "--width",
                "100",
                "--height",
                "32",
            ])
            .env("DISPLAY", display),
    )?;
    let home = work.join(format!("home-{design}"));
    std::fs::create_dir_all(&home)?;
    let app_cmd = |log: &Path| -> Result<Command> {
        let mut cmd = Command::new("dbus-run-session");
        cmd.arg("--")
            .arg(app_bin)
            .env("DISPLAY", display)
            .env("HANDRAISE_DATA_DIR", agent_dir)
            .env("HANDRAISE_WINDOW_MODE", design)
            .env("HANDRAISE_SYSTEM_CONFIG", home.join("none.toml"))
            .env("HANDRAISE_USER_CONFIG", home.join("none-user.toml"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("NO_AT_BRIDGE", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log)?);
        Ok(cmd)
    };
    // The very first window on a new account fills WebKit's, fontconfig's and Mesa's caches
    // (in XDG_CACHE_HOME); it is timed on its own, and the tray's first window ("cold") then
    // starts a new process with those caches in place, as on a laptop used before.
    let first_log = work.join(format!("first-{design}.log"));
    let mut first = app_cmd(&first_log)?;
    first
        .args(["--window", "report"])
        .env("HANDRAISE_TRIGGERED_AT_MS", unix_ms_now().to_string());
    let first = Guard(first.spawn().context("start the first window")?);
    wait_until(
        "the first window's ready signal",
        Duration::from_secs(30),
        || !ready_times(&first_log).is_empty(),
    )?;
    std::thread::sleep(Duration::from_millis(500));
    Command::new("wmctrl")
        .args(["-c", "Report a problem"])
        .env("DISPLAY", display)
        .status()?;
    drop(first);
    let ready_first_ever_ms = ready_times(&first_log).first().copied();
    let log = work.join(format!("app-{design}.log"));
    let app = app_cmd(&log)?.spawn().context("start the app")?;
    let app = Guard(app);
    // dbus-run-session's child is the app.
    let mut pid = 0;
    wait_until("the app process", Duration::from_secs(10), || {
        pid = children(app.0.id())
            .into_iter()
            .find(|p| {
                std::fs::read_to_string(format!("/proc/{p}/comm"))
                    .is_ok_and(|c| c.trim() == "handraise")
            })
            .unwrap_or(0);
        pid != 0
    })?;
    std::thread::sleep(settle);
    let idle = measure(pid);
    let s0 = switches(pid);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(60).min(settle));
    let idle_wakeups_by_thread = wakeups_by_name(&s0, &switches(pid), t0.elapsed().as_secs_f64());
    let idle_wakeups_per_min = idle_wakeups_by_thread.values().sum();

    let title = "Report a problem";
    let mut after_first_close = Mem::default();
    let mut worst = Mem::default();
    let mut last = Mem::default();
    for i in 0..cycles {
        Command::new("xdotool")
            .args(["key", "ctrl+alt+h"])
            .env("DISPLAY", display)
            .status()?;
        wait_until("the report window", Duration::from_secs(20), || {
            window_count(title, display) == 1
        })?;
        let want = i + 1;
        wait_until("the page's ready signal", Duration::from_secs(20), || {
            ready_times(&log).len() >= want
        })?;
        std::thread::sleep(Duration::from_millis(500));
        Command::new("wmctrl")
            .args(["-c", title])
            .env("DISPLAY", display)
            .status()?;
        wait_until("the window to close", Duration::from_secs(20), || {
            window_count(title, display) == 0
        })?;
        std::thread::sleep(Duration::from_secs(3));
        last = measure(pid);
        if i == 0 {
            after_first_close = last;
        }
        if last.pss_kb > worst.pss_kb {
            worst = last;
        }
    }
    let ready = ready_times(&log);
    Ok(Figures {
        design,
        idle,
        after_first_close,
        after_cycles: last,
        worst_after_close: worst,
        cycles,
        idle_wakeups_per_min,
        idle_wakeups_by_thread,
        ready_first_ever_ms,
        ready_cold_ms: ready.first().copied(),
        ready_warm_ms: ready.iter().skip(1).copied().collect(),
    })
}

fn pct(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    s[((s.len() - 1) as f64 * p).round() as usize]
}

/// The Markdown section for BENCHMARKS.md.
pub fn report(figs: &[Figures], binary: &Path) -> String {
    let mut out = String::new();
    let size = std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0);
    let _ = writeln!(
        out,
        "| design | idle anon | idle PSS | after 1st close anon / PSS | after {} cycles anon / PSS | worst PSS after a close | processes left | idle wake-ups/min | ready, first ever | ready cold | ready warm p50 / max |",
        figs.first().map_or(0, |f| f.cycles)
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|");
    for f in figs {
        let _ = writeln!(
            out,
            "| {} | {:.1} MB | {:.1} MB | {:.1} / {:.1} MB | {:.1} / {:.1} MB | {:.1} MB | {} | {:.1} | {} | {} | {:.0} / {:.0} ms |",
            f.design,
            Mem::mb(f.idle.anon_kb),
            Mem::mb(f.idle.pss_kb),
            Mem::mb(f.after_first_close.anon_kb),
            Mem::mb(f.after_first_close.pss_kb),
            Mem::mb(f.after_cycles.anon_kb),
            Mem::mb(f.after_cycles.pss_kb),
            Mem::mb(f.worst_after_close.pss_kb),
            f.after_cycles.processes,
            f.idle_wakeups_per_min,
            f.ready_first_ever_ms
                .map_or("—".into(), |v| format!("{v:.0} ms")),
            f.ready_cold_ms.map_or("—".into(), |v| format!("{v:.0} ms")),
            pct(&f.ready_warm_ms, 0.5),
            pct(&f.ready_warm_ms, 1.0),
        );
    }
    for f in figs {
        let threads: Vec<String> = f
            .idle_wakeups_by_thread
            .iter()
            .map(|(name, n)| format!("{name} {n:.0}"))
            .collect();
        let _ = writeln!(
            out,
            "\nIdle wake-ups a minute by thread, {}: {}.",
            f.design,
            if threads.is_empty() {
                "none".to_owned()
            } else {
                threads.join(", ")
            }
        );
    }
    let _ = writeln!(
        out,
        "\nRelease binary `{}`: {:.1} MiB.",
        in_repo(binary),
        size as f64 / 1048576.0
    );
    let deb = binary
        .parent()
        .and_then(|d| std::fs::read_dir(d.join("bundle/deb")).ok())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"));
    if let Some(deb) = deb {
        let size = std::fs::metadata(&deb).map(|m| m.len()).unwrap_or(0);
        let _ = writeln!(
            out,
            "`.deb` from `cargo xtask dist` (`{}`): {:.1} MiB.",
            in_repo(&deb),
            size as f64 / 1048576.0
        );
    }
    out
}

/// A path as BENCHMARKS.md shows it: relative to the repository (xtask runs from its
/// root), never one machine's absolute path.
fn in_repo(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|root| path.strip_prefix(root).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

pub fn app_binary(root: &Path) -> PathBuf {
    root.join("target/release/handraise")
}

/// `cargo xtask bench-app [--quick]`: builds the release app, measures both designs and
/// writes the figures into BENCHMARKS.md (between the `app` markers).
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let quick = args.iter().any(|a| a == "--quick");
    crate::deps::ensure(&crate::test_packages())?;
    crate::npm_ci(&root.join("ui"))?;
    crate::run_cmd(
        Command::new("npm")
            .args(["run", "build"])
            .current_dir(root.join("ui")),
    )?;
    crate::build_app_with_ui(true)?;
    crate::build_server_and_agent(true)?;
    let rel = root.join("target/release");
    let work = tempfile_dir(root)?;
    let server = Launch::new(rel.join("handraise-server"))
        .data_dir(work.join("server"))
        .quiet()
        .start()?;
    let token = server.enroll_token("bench")?;
    let mut figs = Vec::new();
    for design in ["separate", "in-process"] {
        let agent_dir = work.join(format!("agent-{design}"));
        Agent::at(rel.join("handraise-agent"), &agent_dir).enroll(&server.url, &token)?;
        let settle = if quick {
            Duration::from_secs(15)
        } else {
            Duration::from_secs(60)
        };
        let cycles = if quick { 5 } else { 20 };
        eprintln!(
            "measuring the {design} design ({}s settle, {cycles} cycles)",
            settle.as_secs()
        );
        figs.push(run_design(
            &app_binary(root),
            &agent_dir,
            &work,
            design,
            settle,
            cycles,
        )?);
    }
    drop(server);
    let body = format!(
        "## Tray app: memory and start-up\n\nMeasured by `cargo xtask bench-app{}` on {} (load average at start: {}), release build, Xvfb + openbox + trayer, enrolled, sums of `Anonymous` and `Pss` from `/proc/PID/smaps_rollup` over `handraise` and all its descendants. \"Ready\" is trigger (Ctrl+Alt+H) → the page's ready signal: \"first ever\" is the first window on an account with empty caches, \"cold\" the first window of a freshly started tray (caches filled), \"warm\" the later ones. Idle wake-ups are the context switches of every thread of the tree over 60 s after the settle (15 s with `--quick`). Targets: idle anon ≤ 40 MB and PSS ≤ 110 MB; after open/close within 20 MB of idle with no growth; no idle wake-ups beyond the sync schedule; ready ≤ 250 ms.\n\n{}",
        if quick { " --quick" } else { "" },
        machine(),
        loadavg(),
        report(&figs, &app_binary(root)),
    );
    let section = section("app", &body);
    write_section(&root.join("BENCHMARKS.md"), "app", &section)?;
    println!("{section}");
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

fn tempfile_dir(root: &Path) -> Result<PathBuf> {
    let dir = root.join("target/bench-app");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
