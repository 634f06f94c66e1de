//! `cargo xtask bench --postgres [--quick]`: the server on PostgreSQL against the
//! server on SQLite, same run, same machine, and two nodes on one PostgreSQL
//! database: ticket intake at 1, 16 and 256 agents on each backend, then the
//! time from a technician's reply posted through one node to a device
//! long-polling the other, with the long-polls each node holds.
//!
//! The cluster is a throwaway one from Debian's packages (the testkit's), on
//! loopback, with PostgreSQL's durable defaults restored for the run (`fsync`
//! on, `synchronous_commit` on): what a district gets.

use super::results::{cpu_secs, find, lines_of, ms, rss_kib, run_bounded};
use super::{DEFAULT_ENV, LOAD_ENV, Opts};
use crate::benchmarks::{loadavg, section, write_section};
use anyhow::{Context, Result};
use handraise_testkit::postgres::{PgCluster, psql};
use handraise_testkit::{Launch, Server};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// This benchmark's section of BENCHMARKS.md.
const SECTION: &str = "postgres";

/// A release server on 127.0.0.1 with its tokens: on SQLite (`None`) or on the
/// PostgreSQL database `database`.
struct Node {
    server: Server,
    enroll_token: String,
    tech_token: String,
}

impl Node {
    fn start(bin: &Path, env: &[(&str, &str)], database: Option<&str>) -> Result<Node> {
        let mut launch = Launch::new(bin).envs(env);
        if let Some(url) = database {
            launch = launch.database(url);
        }
        let server = launch.start()?;
        Ok(Node {
            enroll_token: server.enroll_token("bench")?,
            tech_token: server.tech_token("Bench Tech")?,
            server,
        })
    }

    fn pid(&self) -> u32 {
        self.server.pid().unwrap_or(0)
    }

    fn bench(&self, bench_bin: &Path, subcommand: &str) -> Command {
        let mut cmd = Command::new(bench_bin);
        cmd.args([subcommand, "--url", &self.server.url])
            .args(["--enroll-token", &self.enroll_token]);
        cmd
    }
}

pub fn run(o: &Opts, command: &str, date: &str, server_bin: &Path, bench_bin: &Path) -> Result<()> {
    let load_at_start = loadavg();
    let cluster = PgCluster::start().context("starting PostgreSQL")?;
    // The testkit's cluster skips fsync (tests need no durability); a district's does not.
    // One statement per call: psql runs a multi-statement -c as one transaction, which
    // ALTER SYSTEM refuses.
    for sql in [
        "ALTER SYSTEM SET fsync = on",
        "ALTER SYSTEM SET synchronous_commit = on",
        "SELECT pg_reload_conf()",
    ] {
        psql(&cluster.admin_url(), sql)?;
    }
    let version = psql(&cluster.admin_url(), "SHOW server_version;")?;

    let mut sections = Vec::new();
    let mut rows = Vec::new();
    for (backend, database) in [
        ("SQLite", None),
        ("PostgreSQL", Some(cluster.create_database()?)),
    ] {
        let node = Node::start(server_bin, LOAD_ENV, database.as_deref())?;
        rows.extend(intake_rows(o, backend, &node, bench_bin)?);
    }
    let secs = intake_secs(o);
    sections.push(format!(
        "### Intake: PostgreSQL against SQLite\n\n\
         `handraise-bench intake` as in \"Server intake\" above ({secs} s per row, per-device \
         limits raised), against one release server on each backend in turn. PostgreSQL \
         {} on loopback, durable defaults (`fsync` and `synchronous_commit` on: every commit \
         waits for its WAL to reach the disk); SQLite in WAL with `synchronous=NORMAL` (a \
         commit reaches the disk at the next checkpoint).\n\n\
         | backend | agents | tickets/s | p50 | p99 | max | tickets per server CPU-s | errors |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n{}\n",
        version.trim(),
        rows.join("\n")
    ));
    sections.push(two_nodes(o, &cluster, server_bin, bench_bin)?);

    let body = format!(
        "## PostgreSQL and two nodes\n\n\
         Run: `{command}` on {date}; load (1 min) at start {}.\n\n{}",
        load_at_start.split_whitespace().next().unwrap_or("?"),
        sections.join("\n")
    );
    eprintln!("\n{body}");
    write_section(&o.out, SECTION, &section(SECTION, &body))?;
    eprintln!("\nwrote {}", o.out.display());
    Ok(())
}

fn intake_secs(o: &Opts) -> &'static str {
    if o.quick { "3" } else { "10" }
}

/// One table row per agent count for `node`.
fn intake_rows(o: &Opts, backend: &str, node: &Node, bench_bin: &Path) -> Result<Vec<String>> {
    let mut rows = Vec::new();
    for c in [1_usize, 16, 256] {
        let cpu0 = cpu_secs(node.pid());
        let out = run_bounded(
            node.bench(bench_bin, "intake").args([
                "--concurrency",
                &c.to_string(),
                "--tickets",
                "1000000",
                "--duration",
                intake_secs(o),
            ]),
            Duration::from_secs(300),
        )?;
        let cpu = cpu_secs(node.pid()) - cpu0;
        let lines = lines_of(&out);
        let l = find(&lines, "intake")?;
        rows.push(format!(
            "| {backend} | {c} | {:.0} | {} | {} | {} | {:.0} | {} |",
            l.num("per_sec"),
            ms(l.num("p50_ms")),
            ms(l.num("p99_ms")),
            ms(l.num("max_ms")),
            l.num("tickets") / cpu,
            l.num("errors") + l.num("server_errors"),
        ));
    }
    Ok(rows)
}

/// Devices long-polling node A, replies posted through node B.
fn two_nodes(o: &Opts, cluster: &PgCluster, server_bin: &Path, bench_bin: &Path) -> Result<String> {
    let database = cluster.create_database()?;
    let a = Node::start(server_bin, DEFAULT_ENV, Some(&database))?;
    let b = Node::start(server_bin, DEFAULT_ENV, Some(&database))?;
    let devices = if o.quick { 300 } else { 2_000 };
    let replies = if o.quick { 30 } else { 200 };
    let rss_a = rss_kib(a.pid());
    let out = run_bounded(
        a.bench(bench_bin, "longpoll").args([
            "--tech-token",
            &a.tech_token,
            "--reply-url",
            &b.server.url,
            "--connections",
            &devices.to_string(),
            "--source-ip",
            "127.0.0.11",
            "--replies",
            &replies.to_string(),
            "--reply-interval-ms",
            "50",
            "--auto",
            "--max-secs",
            "900",
        ]),
        Duration::from_secs(1_000),
    )?;
    let lines = lines_of(&out);
    let ready = lines
        .iter()
        .find(|l| l.str("event") == "ready")
        .context("no ready line from the load generator")?;
    let l = lines
        .iter()
        .find(|l| l.str("event") == "result")
        .context("no result line from the load generator")?;
    Ok(format!(
        "### A reply through node B to a device long-polling node A\n\n\
         Two release servers (`serve`) on one PostgreSQL database; `handraise-bench longpoll` \
         enrolls {devices} devices through node A, holds each one's `GET /api/v1/updates?wait=25` \
         on node A, and posts {replies} technician replies (one every 50 ms, to distinct \
         devices) through node B. Each is timed from just before its POST to node B until the \
         waiting poll on node A returns it: node B's write sends `NOTIFY` with the device's id, \
         node A's listener wakes that device's poll, which reads its feed.\n\n\
         | figure | value |\n|---|---:|\n\
         | long-polls held by node A (established) | {:.0} |\n\
         | node A RSS before / after | {:.0} / {:.0} MiB |\n\
         | replies sent / received | {:.0} / {:.0} |\n\
         | reply through B → device on A, p50 | {} |\n\
         | reply through B → device on A, p99 (target ≤ 1 s) | {} |\n\
         | reply through B → device on A, max | {} |\n\
         | reply POST to node B, p50 | {} |\n\
         | poll errors / 5xx | {:.0} / {:.0} |\n",
        ready.num("established"),
        rss_a as f64 / 1024.0,
        rss_kib(a.pid()) as f64 / 1024.0,
        l.num("replies"),
        l.num("received"),
        ms(l.num("p50_ms")),
        ms(l.num("p99_ms")),
        ms(l.num("max_ms")),
        ms(l.num("reply_post_p50_ms")),
        l.num("poll_errors"),
        l.num("server_errors"),
    ))
}
