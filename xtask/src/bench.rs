//! `cargo xtask bench [--quick] [--rt | --no-rt] [--no-criterion] [--connections N]`:
//! release builds, a real `handraise-server` on 127.0.0.1 port 0 in a temporary
//! directory, the `handraise-bench` load generator against it, optionally Request
//! Tracker 5 under the same ticket-creation load, the criterion micro-benchmarks,
//! and `BENCHMARKS.md` rewritten with the figures, the machine and the command.
//!
//! Only 127.0.0.x addresses are used. Every wait is bounded in time; every child
//! process is ours and is ended by its id.

use crate::{cargo, run_cmd};
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Opts {
    quick: bool,
    rt: Option<bool>,
    criterion: bool,
    connections: Option<usize>,
    out: PathBuf,
}

impl Opts {
    fn parse(root: &Path, args: &[String]) -> Result<Self> {
        let mut o = Opts {
            quick: false,
            rt: None,
            criterion: true,
            connections: None,
            out: root.join("BENCHMARKS.md"),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--quick" => o.quick = true,
                "--rt" => o.rt = Some(true),
                "--no-rt" => o.rt = Some(false),
                "--no-criterion" => o.criterion = false,
                "--connections" => {
                    o.connections = Some(it.next().context("--connections N")?.parse()?);
                }
                "--out" => o.out = PathBuf::from(it.next().context("--out FILE")?),
                other => bail!(
                    "unknown option {other}; usage: cargo xtask bench [--quick] [--rt|--no-rt] [--no-criterion] [--connections N] [--out FILE]"
                ),
            }
        }
        Ok(o)
    }
}

/// A result line of `handraise-bench`: a flat JSON object.
#[derive(Debug, Clone)]
struct Line(String);

impl Line {
    fn raw(&self, key: &str) -> Option<&str> {
        let pat = format!("\"{key}\":");
        let start = self.0.find(&pat)? + pat.len();
        let rest = &self.0[start..];
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        Some(rest[..end].trim().trim_matches('"'))
    }
    fn num(&self, key: &str) -> f64 {
        self.raw(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    }
    fn str(&self, key: &str) -> &str {
        self.raw(key).unwrap_or("")
    }
}

fn lines_of(stdout: &str) -> Vec<Line> {
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| Line(l.to_owned()))
        .collect()
}

fn find<'a>(lines: &'a [Line], bench: &str) -> Result<&'a Line> {
    lines
        .iter()
        .find(|l| l.str("bench") == bench)
        .with_context(|| format!("no {bench} result"))
}

/// The 1-, 5- and 15-minute load averages.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Resident set size of `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmRSS:")
}

fn status_field(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// User + system CPU seconds used by `pid` (assumes the usual 100 clock ticks/s).
fn cpu_secs(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return f64::NAN;
    };
    let f: Vec<&str> = after.split_whitespace().collect();
    // After the command name: state is field 3, utime 14, stime 15 (1-based).
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// The soft open-file limit of this process.
fn nofile_soft() -> Option<usize> {
    std::fs::read_to_string("/proc/self/limits")
        .ok()?
        .lines()
        .find(|l| l.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

/// Runs `cmd`, stdout captured, stderr shown; killed after `limit`.
fn run_bounded(cmd: &mut Command, limit: Duration) -> Result<String> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("could not start {shown}"))?;
    let mut stdout = child.stdout.take().context("stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{shown} took longer than {} s; killed", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    print!("{out}");
    Ok(out)
}

fn last_line(out: &[u8]) -> Result<String> {
    String::from_utf8_lossy(out)
        .lines()
        .last()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .context("command printed nothing")
}

/// A release `handraise-server` on 127.0.0.1 port 0 in a temporary directory.
struct Server {
    child: Child,
    dir: PathBuf,
    url: String,
    enroll_token: String,
    tech_token: String,
}

impl Server {
    fn start(bin: &Path, name: &str, env: &[(&str, &str)]) -> Result<Server> {
        let dir =
            std::env::temp_dir().join(format!("handraise-bench-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let d = dir.to_string_lossy().into_owned();
        run_cmd(
            Command::new(bin)
                .args(["init", "--data-dir", &d])
                .stdout(Stdio::null()),
        )?;
        let token = |args: &[&str]| -> Result<String> {
            let out = Command::new(bin).args(args).output()?;
            if !out.status.success() {
                bail!("{args:?} failed");
            }
            last_line(&out.stdout)
        };
        let enroll_token = token(&[
            "enroll-token",
            "create",
            "--data-dir",
            &d,
            "--label",
            "bench",
        ])?;
        let tech_token = token(&[
            "tech-token",
            "create",
            "--data-dir",
            &d,
            "--name",
            "Bench Tech",
        ])?;
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--data-dir", &d, "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().context("start handraise-server")?;
        let stdout = child.stdout.take().context("server stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("handraise-server did not print its address within 30 s");
            }
        };
        if !url.starts_with("http://127.") {
            bail!("server is not on loopback: {url}");
        }
        Ok(Server {
            child,
            dir,
            url,
            enroll_token,
            tech_token,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM (drain), then make sure it is gone.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Limits raised so that one machine can play thousands of devices: every
/// simulated device enrolls from the same few addresses and the single
/// -agent intake run sends far faster than a real device ever does.
const LOAD_ENV: &[(&str, &str)] = &[
    ("HANDRAISE_SERVER_ENROLL_PER_MINUTE_PER_IP", "100000000"),
    ("HANDRAISE_SERVER_DEVICE_BURST", "100000000"),
    ("HANDRAISE_SERVER_DEVICE_PER_SECOND", "100000000"),
];
/// Only enrollment opened up: per-device limits as shipped.
const DEFAULT_ENV: &[(&str, &str)] = &[("HANDRAISE_SERVER_ENROLL_PER_MINUTE_PER_IP", "100000000")];

struct Report {
    sections: Vec<String>,
    raw: Vec<String>,
}

impl Report {
    fn section(&mut self, s: String) {
        eprintln!("\n{s}");
        self.sections.push(s);
    }
}

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let o = Opts::parse(root, args)?;
    let command = std::iter::once("cargo xtask bench".to_owned())
        .chain(args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let load_at_start = loadavg();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    run_cmd(cargo().args([
        "build",
        "--release",
        "-p",
        "handraise-server",
        "-p",
        "handraise-bench",
        "-p",
        "handraise-agent",
    ]))?;
    let bin = root.join("target/release");
    let server_bin = bin.join("handraise-server");
    let bench_bin = bin.join("handraise-bench");
    let mut report = Report {
        sections: Vec::new(),
        raw: Vec::new(),
    };

    let intake_result = intake(&o, &server_bin, &bench_bin, &mut report);
    if let Err(e) = &intake_result {
        report.section(format!("## Server intake\n\nFAILED: {e:#}\n"));
    }
    if let Err(e) = longpoll(&o, &server_bin, &bench_bin, &mut report) {
        report.section(format!("## Updates feed capacity\n\nFAILED: {e:#}\n"));
    }
    if let Err(e) = agent(&o, &server_bin, &bench_bin, &mut report) {
        report.section(format!("## Agent\n\nFAILED: {e:#}\n"));
    }
    if let Err(e) = rt(&o, &server_bin, &bench_bin, &mut report) {
        report.section(format!(
            "## Side by side with Request Tracker 5\n\nFAILED: {e:#}\n"
        ));
    }
    if o.criterion {
        if let Err(e) = criterion(&o, &mut report) {
            report.section(format!(
                "## Micro-benchmarks (criterion)\n\nFAILED: {e:#}\n"
            ));
        }
    } else {
        report
            .section("## Micro-benchmarks (criterion)\n\nNot run (`--no-criterion`).\n".to_owned());
    }

    let section = render(&o, &command, &date, &load_at_start, &report);
    let text = std::fs::read_to_string(&o.out).unwrap_or_else(|_| "# Benchmarks\n".into());
    std::fs::write(&o.out, splice(&text, &section))
        .with_context(|| format!("write {}", o.out.display()))?;
    let raw = root.join("target/bench-results.jsonl");
    std::fs::write(&raw, report.raw.join("\n") + "\n")?;
    eprintln!(
        "\nwrote {} (raw results: {})",
        o.out.display(),
        raw.display()
    );
    Ok(())
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("?")
        .to_owned();
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned();
    format!(
        "{nproc} CPUs ({model}), {mem_gib:.1} GiB RAM, Linux {kernel}, open-file limit {}",
        nofile_soft().map_or("?".into(), |n| n.to_string())
    )
}

fn render(o: &Opts, command: &str, date: &str, load: &str, r: &Report) -> String {
    let mut s = String::new();
    s.push_str(START);
    s.push_str("\n## Server, agent and Request Tracker\n\n");
    s.push_str(
        "Generated by `cargo xtask bench` (xtask/src/bench.rs) with the `handraise-bench` load \
         generator (crates/handraise-bench); do not edit this section by hand — rerun it. How \
         the figures are made and what they mean is in docs/reliability.md.\n\n",
    );
    s.push_str(&format!("- Command: `{command}`\n"));
    s.push_str(&format!("- Date: {date}\n"));
    s.push_str(&format!("- Machine: {}\n", machine()));
    s.push_str(&format!(
        "- Load average (1, 5, 15 min) at start: {load}. The load generator, the server and \
         (for the comparison) Request Tracker share this machine's CPUs; every figure below \
         also gives the 1-minute load average when its run started. A load average above the \
         number of CPUs means other work was competing with the run.\n"
    ));
    if o.quick {
        s.push_str("- `--quick`: short runs and fewer connections; indicative only.\n");
    }
    s.push('\n');
    for sec in &r.sections {
        // Sub-sections of this one.
        s.push('#');
        s.push_str(sec);
        s.push('\n');
    }
    s.push_str(END);
    s.push('\n');
    s
}

const START: &str = "<!-- server:start -->";
const END: &str = "<!-- server:end -->";

/// Replaces this xtask's section of BENCHMARKS.md (between the `server`
/// markers), keeping every other section (e.g. `cargo xtask bench-app`'s).
fn splice(text: &str, section: &str) -> String {
    match (text.find(START), text.find(END)) {
        (Some(a), Some(b)) if b > a => {
            let mut end = b + END.len();
            if text[end..].starts_with('\n') {
                end += 1;
            }
            format!("{}{}{}", &text[..a], section, &text[end..])
        }
        _ => format!("{}\n\n{}", text.trim_end(), section),
    }
}

fn ms(x: f64) -> String {
    if x.is_nan() {
        "?".into()
    } else if x >= 100.0 {
        format!("{x:.0} ms")
    } else if x >= 10.0 {
        format!("{x:.1} ms")
    } else {
        format!("{x:.2} ms")
    }
}

fn intake(o: &Opts, server_bin: &Path, bench_bin: &Path, r: &mut Report) -> Result<()> {
    let server = Server::start(server_bin, "intake", LOAD_ENV)?;
    let secs = if o.quick { "3" } else { "10" };
    let mut rows = Vec::new();
    for c in [1_usize, 16, 256] {
        let load = loadavg();
        let cpu0 = cpu_secs(server.pid());
        let out = run_bounded(
            Command::new(bench_bin).args([
                "intake",
                "--url",
                &server.url,
                "--enroll-token",
                &server.enroll_token,
                "--concurrency",
                &c.to_string(),
                "--tickets",
                "1000000",
                "--duration",
                secs,
            ]),
            Duration::from_secs(300),
        )?;
        let cpu = cpu_secs(server.pid()) - cpu0;
        let lines = lines_of(&out);
        let l = find(&lines, "intake")?.clone();
        r.raw.push(l.0.clone());
        let tickets = l.num("tickets");
        let per_cpu_sec = tickets / cpu;
        rows.push(format!(
            "| {c} | {:.0} | {} | {} | {} | {:.0} | {:.0} | {} | {:.0} MiB | {} |",
            l.num("per_sec"),
            ms(l.num("p50_ms")),
            ms(l.num("p99_ms")),
            ms(l.num("max_ms")),
            tickets,
            per_cpu_sec,
            l.num("errors") + l.num("server_errors"),
            rss_kib(server.pid()) as f64 / 1024.0,
            load.split_whitespace().next().unwrap_or("?"),
        ));
    }
    r.section(format!(
        "## Server intake\n\n\
         `handraise-bench intake`: N simulated agents, each an enrolled device, post tickets \
         (summary, details, reporter and this machine's quick device snapshot, about 1.1 KB of \
         JSON) back to back for {secs} s against the release server on the SQLite default \
         (WAL, synchronous=NORMAL). Per-device rate limits are raised for this run (a real \
         device sends a few tickets a day). Latency is request to receipt, as the agent sees \
         it. \"Server CPU\" is tickets per CPU-second the server process used (user+system): \
         the load generator runs on the same CPUs, so tickets/s understates what the server \
         does on dedicated cores; tickets per server CPU-second × 2 estimates the 2-core \
         ceiling. Target: ≥ 2,000 tickets/s on 2 cores.\n\n\
         | agents | tickets/s | p50 | p99 | max | tickets | tickets per server CPU-s | errors | server RSS after | load (1 min) |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n{}\n",
        rows.join("\n")
    ));
    Ok(())
}

struct Proc {
    child: Child,
    stdin: ChildStdin,
}

fn longpoll(o: &Opts, server_bin: &Path, bench_bin: &Path, r: &mut Report) -> Result<()> {
    let wanted = o
        .connections
        .unwrap_or(if o.quick { 1_500 } else { 15_000 });
    // The server needs a descriptor per connection plus its database and spares.
    let limit = nofile_soft().unwrap_or(1024);
    let n = wanted.min(limit.saturating_sub(500));
    let note = if n < wanted {
        format!(
            " (capped from {wanted} by the open-file limit {limit}; raise `ulimit -n` for more)"
        )
    } else {
        String::new()
    };
    let procs_n = n.div_ceil(5_000).max(1);
    let per = n.div_ceil(procs_n);
    let replies = if o.quick { 30 } else { 100 };
    let server = Server::start(server_bin, "longpoll", DEFAULT_ENV)?;
    let rss_idle = rss_kib(server.pid());
    let load = loadavg();
    let (tx, rx) = mpsc::channel::<(usize, String)>();
    let mut procs = Vec::new();
    for p in 0..procs_n {
        let count = per.min(n - p * per);
        let source = format!("127.0.0.{}", 11 + p);
        let mut child = Command::new(bench_bin)
            .args([
                "longpoll",
                "--url",
                &server.url,
                "--enroll-token",
                &server.enroll_token,
                "--tech-token",
                &server.tech_token,
                "--connections",
                &count.to_string(),
                "--source-ip",
                &source,
                "--replies",
                &replies.to_string(),
                "--reply-interval-ms",
                "50",
                "--max-secs",
                "900",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("start handraise-bench longpoll")?;
        let stdout = child.stdout.take().context("stdout")?;
        let stdin = child.stdin.take().context("stdin")?;
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send((p, line)).is_err() {
                    break;
                }
            }
        });
        procs.push(Proc { child, stdin });
    }
    drop(tx);
    let result = (|| -> Result<String> {
        let wait_for = |event: &str, limit: Duration| -> Result<Vec<Line>> {
            let deadline = Instant::now() + limit;
            let mut got = Vec::new();
            while got.len() < procs_n {
                let left = deadline.saturating_duration_since(Instant::now());
                let (_, line) = rx
                    .recv_timeout(left)
                    .with_context(|| format!("waiting for {event} from the load generators"))?;
                println!("{line}");
                let l = Line(line);
                if l.str("event") == event {
                    got.push(l);
                }
            }
            Ok(got)
        };
        let setup = wait_for("setup", Duration::from_secs(900))?;
        std::thread::sleep(Duration::from_secs(2));
        let rss_base = rss_kib(server.pid());
        for p in &mut procs {
            writeln!(p.stdin, "open")?;
        }
        let ready = wait_for("ready", Duration::from_secs(300))?;
        std::thread::sleep(Duration::from_secs(3));
        let rss_held = rss_kib(server.pid());
        let established: f64 = ready.iter().map(|l| l.num("established")).sum();
        let load_held = loadavg();
        for p in &mut procs {
            writeln!(p.stdin, "go")?;
        }
        let results = wait_for("result", Duration::from_secs(300))?;
        let rss_peak = status_field(server.pid(), "VmHWM:");
        for l in &results {
            r.raw.push(l.0.clone());
        }
        let sum = |k: &str| results.iter().map(|l| l.num(k)).sum::<f64>();
        let worst = |k: &str| results.iter().map(|l| l.num(k)).fold(0.0_f64, f64::max);
        let per_conn = (rss_held as f64 - rss_base as f64) * 1024.0 / established.max(1.0);
        let at_20k = (rss_base as f64 * 1024.0 + per_conn * 20_000.0) / 1024.0 / 1024.0;
        let setup_s = setup
            .iter()
            .map(|l| l.num("setup_s"))
            .fold(0.0_f64, f64::max);
        Ok(format!(
            "## Updates feed capacity\n\n\
             `handraise-bench longpoll` × {procs_n} processes, each from its own source address \
             (127.0.0.11 upwards) holding {per} devices' `GET /api/v1/updates?wait=25` like idle \
             agents{note}. Each device was enrolled and filed one ticket first (setup took {setup_s:.0} s). \
             Once every long-poll connection is established (counted in /proc/net/tcp), each \
             process sends {replies} technician replies (one every 50 ms, to distinct devices) \
             and times each from just before the reply's POST until the device's waiting poll \
             returns it. Per-device limits as shipped; enrollment limit raised.\n\n\
             | figure | value |\n|---|---:|\n\
             | long-polls held at once (established) | {established:.0} |\n\
             | server RSS idle / after setup / holding them | {:.0} / {:.0} / {:.0} MiB |\n\
             | server RSS per held long-poll | {:.1} KiB |\n\
             | server peak RSS (VmHWM) | {:.0} MiB |\n\
             | extrapolated RSS at 20,000 devices | {at_20k:.0} MiB |\n\
             | replies sent / received | {:.0} / {:.0} |\n\
             | reply → waiting device, p50 (mean of processes) | {} |\n\
             | reply → waiting device, p99 (worst process) — target ≤ 1 s | {} |\n\
             | reply → waiting device, max | {} |\n\
             | technician reply POST p50 | {} |\n\
             | poll errors / 5xx | {:.0} / {:.0} |\n\
             | load (1 min) at start / while held | {} / {} |\n",
            rss_idle as f64 / 1024.0,
            rss_base as f64 / 1024.0,
            rss_held as f64 / 1024.0,
            per_conn / 1024.0,
            rss_peak as f64 / 1024.0,
            sum("replies"),
            sum("received"),
            ms(sum("p50_ms") / results.len().max(1) as f64),
            ms(worst("p99_ms")),
            ms(worst("max_ms")),
            ms(sum("reply_post_p50_ms") / results.len().max(1) as f64),
            sum("poll_errors"),
            sum("server_errors"),
            load.split_whitespace().next().unwrap_or("?"),
            load_held.split_whitespace().next().unwrap_or("?"),
        ))
    })();
    for mut p in procs {
        drop(p.stdin);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = p.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = p.child.kill();
        let _ = p.child.wait();
    }
    r.section(result?);
    Ok(())
}

fn agent(o: &Opts, server_bin: &Path, bench_bin: &Path, r: &mut Report) -> Result<()> {
    let server = Server::start(server_bin, "agent", DEFAULT_ENV)?;
    let load = loadavg();
    let reports = if o.quick { "200" } else { "1000" };
    let drain = if o.quick { "200" } else { "1000" };
    let out = run_bounded(
        Command::new(bench_bin).args([
            "agent",
            "--url",
            &server.url,
            "--enroll-token",
            &server.enroll_token,
            "--reports",
            reports,
            "--drain",
            drain,
        ]),
        Duration::from_secs(900),
    )?;
    let lines = lines_of(&out);
    for l in &lines {
        r.raw.push(l.0.clone());
    }
    let snap = find(&lines, "agent_snapshot")?;
    let rep = find(&lines, "agent_report")?;
    let dr = find(&lines, "agent_drain")?;
    r.section(format!(
        "## Agent\n\n\
         `handraise-bench agent` drives the agent core library as the tray app does \
         (load (1 min) at start: {}). Report-to-durable is `Agent::report` returning, i.e. the \
         ticket committed to the outbox (SQLite WAL, synchronous=NORMAL: survives a crash or \
         SIGKILL of the process), with a cached device snapshot, {reports} reports one after \
         another. The drain queues {drain} tickets offline, enrolls, and runs `sync_once` \
         passes against a release server with the per-device limits as shipped (burst 120, \
         60 requests/s), so it shows what a device that was offline for a long time sees.\n\n\
         | figure | value |\n|---|---:|\n\
         | report → durable, p50 | {} |\n\
         | report → durable, p99 — target ≤ 20 ms | {} |\n\
         | report → durable, max | {} |\n\
         | first report of a fresh data directory (takes a quick snapshot) | {} |\n\
         | quick snapshot, cold (first in process) / warm | {} / {} |\n\
         | full snapshot (samples CPU, processes, printers), cold / warm | {} / {} |\n\
         | snapshot JSON size quick / full (this machine) | {:.0} / {:.0} bytes |\n\
         | queueing {drain} tickets offline | {:.2} s |\n\
         | draining {drain} queued tickets over loopback | {:.2} s ({:.0} tickets/s, {:.0} passes, {:.0} sent, {:.0} rejected, {:.0} left) |\n",
        load.split_whitespace().next().unwrap_or("?"),
        ms(rep.num("p50_ms")),
        ms(rep.num("p99_ms")),
        ms(rep.num("max_ms")),
        ms(rep.num("first_ms")),
        ms(snap.num("quick_cold_ms")),
        ms(snap.num("quick_warm_ms")),
        ms(snap.num("full_cold_ms")),
        ms(snap.num("full_warm_ms")),
        snap.num("quick_bytes"),
        snap.num("full_bytes"),
        dr.num("queue_s"),
        dr.num("drain_s"),
        dr.num("per_sec"),
        dr.num("passes"),
        dr.num("sent"),
        dr.num("rejected"),
        dr.num("remaining"),
    ));
    Ok(())
}

const START_RT: &str = "/work/shared/peers/rt/start-rt.sh";

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn rt(o: &Opts, server_bin: &Path, bench_bin: &Path, r: &mut Report) -> Result<()> {
    let title = "## Side by side with Request Tracker 5";
    let script = std::env::var("HANDRAISE_RT_START").unwrap_or_else(|_| START_RT.to_owned());
    let available = Path::new(&script).exists();
    let wanted = match o.rt {
        Some(w) => w,
        None => available && is_root(),
    };
    if !wanted {
        let why = if o.rt == Some(false) {
            "`--no-rt` was given".to_owned()
        } else if !available {
            format!("{script} is not there")
        } else {
            "not running as root (start-rt.sh installs Debian packages); pass `--rt` to try anyway"
                .to_owned()
        };
        r.section(format!("{title}\n\nSkipped: {why}.\n"));
        return Ok(());
    }
    eprintln!("\n==> starting Request Tracker ({script}); the first time installs it");
    let out = run_bounded(&mut Command::new(&script), Duration::from_secs(900))?;
    let value = |k: &str| {
        out.lines()
            .rev()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .map(str::to_owned)
            .with_context(|| format!("start-rt.sh printed no {k}"))
    };
    let rt_url = value("RT_URL")?;
    let rt_token = value("RT_TOKEN")?;
    let secs = if o.quick { "10" } else { "30" };
    let concurrency = "4";
    let server = Server::start(server_bin, "compare", LOAD_ENV)?;
    let load_hr = loadavg();
    let hr = run_bounded(
        Command::new(bench_bin).args([
            "intake",
            "--url",
            &server.url,
            "--enroll-token",
            &server.enroll_token,
            "--concurrency",
            concurrency,
            "--tickets",
            "1000000",
            "--duration",
            secs,
            "--label",
            "rt-compare",
        ]),
        Duration::from_secs(300),
    )?;
    drop(server);
    let load_rt = loadavg();
    let rtout = run_bounded(
        Command::new(bench_bin).args([
            "rt",
            "--url",
            &rt_url,
            "--token",
            &rt_token,
            "--concurrency",
            concurrency,
            "--tickets",
            "100000",
            "--duration",
            secs,
        ]),
        Duration::from_secs(600),
    )?;
    let h = lines_of(&hr);
    let t = lines_of(&rtout);
    let h = find(&h, "intake")?.clone();
    let t = find(&t, "rt")?.clone();
    r.raw.push(h.0.clone());
    r.raw.push(t.0.clone());
    let ratio = h.num("per_sec") / t.num("per_sec");
    r.section(format!(
        "{title}\n\n\
         The same ticket-creation load — {concurrency} concurrent clients creating tickets back \
         to back for {secs} s, each ticket carrying a summary, details, the reporter and this \
         machine's device snapshot — against `handraise-server` (release, SQLite) and against \
         Request Tracker 5 from Debian's packages (SQLite backend, its standalone server with \
         4 workers, started by `{script}`, REST2 `POST /REST/2.0/ticket` with an API token; RT \
         checks the token with bcrypt on every request, as shipped), one after the other in \
         one run on the same machine.\n\n\
         | system | tickets/s | p50 | p99 | tickets | errors | load (1 min) at start |\n\
         |---|---:|---:|---:|---:|---:|---:|\n\
         | HandRaise | {:.1} | {} | {} | {:.0} | {:.0} | {} |\n\
         | Request Tracker 5 | {:.1} | {} | {} | {:.0} | {:.0} | {} |\n\n\
         **HandRaise creates tickets {ratio:.0}× as fast as Request Tracker under this load.**\n",
        h.num("per_sec"),
        ms(h.num("p50_ms")),
        ms(h.num("p99_ms")),
        h.num("tickets"),
        h.num("errors"),
        load_hr.split_whitespace().next().unwrap_or("?"),
        t.num("per_sec"),
        ms(t.num("p50_ms")),
        ms(t.num("p99_ms")),
        t.num("tickets"),
        t.num("errors"),
        load_rt.split_whitespace().next().unwrap_or("?"),
    ));
    Ok(())
}

fn criterion(o: &Opts, r: &mut Report) -> Result<()> {
    let load = loadavg();
    let (warm, measure) = if o.quick { ("0.5", "1") } else { ("1", "3") };
    let mut cmd = cargo();
    cmd.args([
        "bench",
        "-p",
        "handraise-wire",
        "-p",
        "handraise-agent",
        "-p",
        "handraise-server",
        "--bench",
        "*",
        "--",
        "--warm-up-time",
        warm,
        "--measurement-time",
        measure,
        "--noplot",
    ]);
    let out = run_bounded(&mut cmd, Duration::from_secs(1800))?;
    let rows = criterion_rows(&out);
    r.section(format!(
        "## Micro-benchmarks (criterion)\n\n\
         `cargo bench -p handraise-wire -p handraise-agent -p handraise-server` (benches in each \
         crate's `benches/`), warm-up {warm} s, measurement {measure} s; the median estimate per \
         iteration. Load (1 min) at start: {}.\n\n\
         | benchmark | time |\n|---|---:|\n{}\n",
        load.split_whitespace().next().unwrap_or("?"),
        rows.join("\n")
    ));
    Ok(())
}

/// `| name | median |` rows from criterion's output. A "change:" block after
/// an estimate repeats `time:` with percentages; only the first `time:` of
/// each benchmark counts.
fn criterion_rows(out: &str) -> Vec<String> {
    let mut rows: Vec<String> = Vec::new();
    let mut name = String::new();
    for line in out.lines() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(i) = t.find("time:") {
            let head = t[..i].trim();
            if !head.is_empty() {
                name = head.to_owned();
            }
            let inner = t[i + 5..].trim().trim_start_matches('[');
            // [low unit mid unit high unit]
            let parts: Vec<&str> = inner.split_whitespace().take(4).collect();
            let row_start = format!("| `{name}` |");
            if parts.len() == 4
                && !parts.iter().any(|p| p.contains('%'))
                && !rows.iter().any(|r| r.starts_with(&row_start))
            {
                rows.push(format!("{row_start} {} {} |", parts[2], parts[3]));
            }
        } else if !line.starts_with(' ') && !t.contains(':') {
            name = t.to_owned();
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::Line;

    #[test]
    fn criterion_medians_without_the_change_block() {
        let out = "agent/sync plan\n                        time:   [25.681 µs 28.634 µs 33.113 µs]\n\
                   Found 11 outliers among 100 measurements (11.00%)\n\
                   wire/parse NewTicket\n                        time:   [7.6 µs 9.2 µs 11.0 µs]\n\
                   \x20                       thrpt:  [221.37 MiB/s 265.88 MiB/s 319.09 MiB/s]\n\
                   \x20                change:\n\
                   \x20                       time:   [−3.4% −1.9163% +0.1%] (p = 0.08 > 0.05)\n";
        let rows = super::criterion_rows(out);
        assert_eq!(
            rows,
            vec![
                "| `agent/sync plan` | 28.634 µs |".to_owned(),
                "| `wire/parse NewTicket` | 9.2 µs |".to_owned()
            ]
        );
    }

    #[test]
    fn splices_only_its_own_section() {
        let other = "# Benchmarks\n\n<!-- app:start -->\napp\n<!-- app:end -->\n";
        let first = super::splice(other, "<!-- server:start -->\nA\n<!-- server:end -->\n");
        assert!(first.contains("app\n") && first.contains("\nA\n"));
        let second = super::splice(&first, "<!-- server:start -->\nB\n<!-- server:end -->\n");
        assert!(second.contains("app\n") && second.contains("\nB\n") && !second.contains("\nA\n"));
        assert_eq!(second.matches("server:start").count(), 1);
    }

    #[test]
    fn reads_flat_json() {
        let l = Line(r#"{"bench":"intake","per_sec":1013.866,"p50_ms":6.5,"label":"x"}"#.into());
        assert_eq!(l.str("bench"), "intake");
        assert_eq!(l.num("per_sec"), 1013.866);
        assert_eq!(l.num("p50_ms"), 6.5);
        assert_eq!(l.str("label"), "x");
        assert!(l.num("missing").is_nan());
    }
}
