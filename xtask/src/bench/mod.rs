//! `cargo xtask bench [--quick] [--rt | --no-rt] [--no-criterion] [--connections N]`:
//! release builds, a real `handraise-server` on 127.0.0.1 port 0 in a temporary
//! directory, the `handraise-bench` load generator against it, optionally Request
//! Tracker 5 under the same ticket-creation load, the criterion micro-benchmarks,
//! and `BENCHMARKS.md` rewritten with the figures, the machine and the command.
//!
//! `cargo xtask bench --forwarding [--quick] [--rt-drain N]` instead measures forwarding to help desks
//! ([`forwarding`]) into its own section; `cargo xtask bench --postgres [--quick]` the server on
//! PostgreSQL against SQLite and two nodes on one database ([`postgres`]).
//!
//! Only 127.0.0.x addresses are used. Every wait is bounded in time; every child
//! process is ours and is ended by its id.

mod compare;
mod forwarding;
mod postgres;
mod results;
mod server;

pub(crate) use results::run_bounded;

use crate::benchmarks::{loadavg, machine, section, write_section};
use crate::cargo_build;
use anyhow::{Context, Result, bail};
use handraise_testkit::{Launch, Server};
use std::path::{Path, PathBuf};
use std::process::Command;

struct Opts {
    quick: bool,
    rt: Option<bool>,
    criterion: bool,
    connections: Option<usize>,
    /// Only the forwarding benchmarks (`--forwarding`).
    forwarding: bool,
    /// Only PostgreSQL against SQLite and two nodes (`--postgres`).
    postgres: bool,
    /// Forwards drained into Request Tracker (`--rt-drain N`, with `--forwarding`).
    rt_drain: Option<usize>,
    out: PathBuf,
    /// Installs and starts Request Tracker, printing `RT_URL=` and `RT_TOKEN=`:
    /// `HANDRAISE_RT_START`, else the repository's `tests/peers/rt/start-rt.sh`.
    rt_script: PathBuf,
}

impl Opts {
    fn parse(root: &Path, args: &[String]) -> Result<Self> {
        let mut o = Opts {
            quick: false,
            rt: None,
            criterion: true,
            connections: None,
            forwarding: false,
            postgres: false,
            rt_drain: None,
            out: root.join("BENCHMARKS.md"),
            rt_script: crate::rtpeer::start_script(root),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--quick" => o.quick = true,
                "--rt" => o.rt = Some(true),
                "--no-rt" => o.rt = Some(false),
                "--no-criterion" => o.criterion = false,
                "--forwarding" => o.forwarding = true,
                "--postgres" => o.postgres = true,
                "--rt-drain" => o.rt_drain = Some(it.next().context("--rt-drain N")?.parse()?),
                "--connections" => {
                    o.connections = Some(it.next().context("--connections N")?.parse()?);
                }
                "--out" => o.out = PathBuf::from(it.next().context("--out FILE")?),
                other => bail!(
                    "unknown option {other}; usage: cargo xtask bench [--quick] [--rt|--no-rt] [--no-criterion] [--connections N] [--forwarding [--rt-drain N]] [--postgres] [--out FILE]"
                ),
            }
        }
        Ok(o)
    }
}

/// A release `handraise-server` on 127.0.0.1 port 0 in a temporary directory, with an
/// enrollment token and a technician token for the load generator.
struct Target {
    server: Server,
    url: String,
    enroll_token: String,
    tech_token: String,
}

impl Target {
    fn start(bin: &Path, env: &[(&str, &str)]) -> Result<Self> {
        let server = Launch::new(bin).envs(env).start()?;
        Ok(Target {
            url: server.url.clone(),
            enroll_token: server.enroll_token("bench")?,
            tech_token: server.tech_token("Bench Tech")?,
            server,
        })
    }

    fn pid(&self) -> u32 {
        self.server.pid().unwrap_or(0)
    }

    /// `handraise-bench SUBCOMMAND --url URL --enroll-token TOKEN` against this server.
    fn bench(&self, bench_bin: &Path, subcommand: &str) -> Command {
        let mut cmd = Command::new(bench_bin);
        cmd.args([subcommand, "--url", &self.url])
            .args(["--enroll-token", &self.enroll_token]);
        cmd
    }
}

/// Limits raised so that one machine can play thousands of devices: every
/// simulated device enrolls from the same few addresses and the single
/// -agent intake run sends far faster than a real device ever does.
const LOAD_ENV: &[(&str, &str)] = &[
    ("HANDRAISE_SERVER_ENROLL_PER_MINUTE_PER_IP", "100000000"),
    (
        "HANDRAISE_SERVER_MAX_UNAUTHENTICATED_PER_CLIENT",
        "100000000",
    ),
    ("HANDRAISE_SERVER_DEVICE_BURST", "100000000"),
    ("HANDRAISE_SERVER_DEVICE_PER_SECOND", "100000000"),
    ("HANDRAISE_SERVER_DEVICE_TICKETS_PER_DAY", "100000000"),
];
/// Only enrollment opened up: per-device limits as shipped.
const DEFAULT_ENV: &[(&str, &str)] = &[
    ("HANDRAISE_SERVER_ENROLL_PER_MINUTE_PER_IP", "100000000"),
    (
        "HANDRAISE_SERVER_MAX_UNAUTHENTICATED_PER_CLIENT",
        "100000000",
    ),
];

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
    let packages: &[&str] = if o.forwarding || o.postgres {
        &["handraise-server", "handraise-bench"]
    } else {
        &["handraise-server", "handraise-bench", "handraise-agent"]
    };
    cargo_build(true, packages, &[])?;
    let bin = root.join("target/release");
    let server_bin = bin.join("handraise-server");
    let bench_bin = bin.join("handraise-bench");
    if o.forwarding {
        return forwarding::run(&o, &command, &date, &server_bin, &bench_bin);
    }
    if o.postgres {
        return postgres::run(&o, &command, &date, &server_bin, &bench_bin);
    }
    let mut report = Report {
        sections: Vec::new(),
        raw: Vec::new(),
    };

    let intake_result = server::intake(&o, &server_bin, &bench_bin, &mut report);
    if let Err(e) = &intake_result {
        report.section(format!("## Server intake\n\nFAILED: {e:#}\n"));
    }
    if let Err(e) = server::longpoll(&o, &server_bin, &bench_bin, &mut report) {
        report.section(format!("## Updates feed capacity\n\nFAILED: {e:#}\n"));
    }
    if let Err(e) = server::agent(&o, &server_bin, &bench_bin, &mut report) {
        report.section(format!("## Agent\n\nFAILED: {e:#}\n"));
    }
    if let Err(e) = compare::rt(&o, &server_bin, &bench_bin, &mut report) {
        report.section(format!(
            "## Side by side with Request Tracker 5\n\nFAILED: {e:#}\n"
        ));
    }
    if o.criterion {
        if let Err(e) = compare::criterion(&o, &mut report) {
            report.section(format!(
                "## Micro-benchmarks (criterion)\n\nFAILED: {e:#}\n"
            ));
        }
    } else {
        report
            .section("## Micro-benchmarks (criterion)\n\nNot run (`--no-criterion`).\n".to_owned());
    }

    let body = render(&o, &command, &date, &load_at_start, &report);
    write_section(&o.out, SECTION, &section(SECTION, &body))?;
    let raw = root.join("target/bench-results.jsonl");
    std::fs::write(&raw, report.raw.join("\n") + "\n")?;
    eprintln!(
        "\nwrote {} (raw results: {})",
        o.out.display(),
        raw.display()
    );
    Ok(())
}

/// This command's section of BENCHMARKS.md; `cargo xtask bench-app` writes another.
const SECTION: &str = "server";

/// The section's text, between its markers.
fn render(o: &Opts, command: &str, date: &str, load: &str, r: &Report) -> String {
    let mut s = String::new();
    s.push_str("## Server, agent and Request Tracker\n\n");
    s.push_str(
        "Generated by `cargo xtask bench` (xtask/src/bench/) with the `handraise-bench` load \
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
    s
}
