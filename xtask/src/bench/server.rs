//! The server's own figures: ticket intake, the updates feed holding thousands of waiting
//! long-polls, and the agent core reporting and draining its outbox.

use super::results::{Line, cpu_secs, find, lines_of, ms, rss_kib, run_bounded, status_field};
use super::{DEFAULT_ENV, LOAD_ENV, Opts, Report, Target};
use crate::benchmarks::{loadavg, nofile_soft};
use anyhow::{Context, Result};
use handraise_testkit::process::wait_or_kill;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub fn intake(o: &Opts, server_bin: &Path, bench_bin: &Path, r: &mut Report) -> Result<()> {
    let server = Target::start(server_bin, LOAD_ENV)?;
    let secs = if o.quick { "3" } else { "10" };
    let mut rows = Vec::new();
    for c in [1_usize, 16, 256] {
        let load = loadavg();
        let cpu0 = cpu_secs(server.pid());
        let out = run_bounded(
            server.bench(bench_bin, "intake").args([
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

pub fn longpoll(o: &Opts, server_bin: &Path, bench_bin: &Path, r: &mut Report) -> Result<()> {
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
    let server = Target::start(server_bin, DEFAULT_ENV)?;
    let rss_idle = rss_kib(server.pid());
    let load = loadavg();
    let (tx, rx) = mpsc::channel::<(usize, String)>();
    let mut procs = Vec::new();
    for p in 0..procs_n {
        let count = per.min(n - p * per);
        let source = format!("127.0.0.{}", 11 + p);
        let mut child = server
            .bench(bench_bin, "longpoll")
            .args([
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
        // End of input ends a load generator; one that hangs is killed.
        drop(p.stdin);
        let _ = wait_or_kill(&mut p.child, Duration::from_secs(10));
    }
    r.section(result?);
    Ok(())
}

pub fn agent(o: &Opts, server_bin: &Path, bench_bin: &Path, r: &mut Report) -> Result<()> {
    let server = Target::start(server_bin, DEFAULT_ENV)?;
    let load = loadavg();
    let reports = if o.quick { "200" } else { "1000" };
    let drain = if o.quick { "200" } else { "1000" };
    let out = run_bounded(
        server
            .bench(bench_bin, "agent")
            .args(["--reports", reports, "--drain", drain]),
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
