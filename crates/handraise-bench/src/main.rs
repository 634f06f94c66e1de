//! `handraise-bench` — load generator for `cargo xtask bench`.
//!
//! Every subcommand prints one flat JSON object per result on stdout (so the
//! xtask can read it without a JSON library) and a human summary on stderr.
//! Every loop is bounded in count and in time, and only loopback
//! (`127.0.0.0/8`) targets are accepted.
//!
//! - `intake`: simulated agents (one enrolled device each) posting tickets with
//!   a real device snapshot; tickets/s and latency percentiles.
//! - `longpoll`: thousands of devices holding `GET /api/v1/updates?wait=25`
//!   from one 127.0.0.x source address; technician replies, and the time from
//!   each reply to the waiting device receiving it.
//! - `agent`: the agent core: report-to-durable latency, snapshot times, and
//!   draining a queue of tickets to the server.
//! - `rt`: the same ticket creation against Request Tracker's REST2 API.
//! - `forward`: forwarding to a help desk through the real server: report to
//!   desk ticket latency, and the drain of a queue of forwards.
//! - `slow`: hundreds of slow clients (headers or a body a byte at a time, or
//!   nothing at all) held against the server while one normal agent works.

mod agent;
mod forward;
mod intake;
mod longpoll;
mod rt;
mod slow;
mod stats;

use anyhow::{Result, bail};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "handraise-bench", about = "HandRaise load generator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Tickets/s from N concurrent simulated agents.
    Intake(intake::Args),
    /// Concurrent long-polling devices and reply-to-device latency.
    Longpoll(longpoll::Args),
    /// Agent core: report latency, snapshot times, queue drain.
    Agent(agent::Args),
    /// Ticket creation against Request Tracker REST2.
    Rt(rt::Args),
    /// Forwarding to a help desk: report-to-desk latency and queue drain.
    Forward(forward::Args),
    /// Slow clients held against the server while a normal agent works.
    Slow(slow::Args),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        match cli.command {
            Command::Intake(a) => intake::run(a).await,
            Command::Longpoll(a) => longpoll::run(a).await,
            Command::Agent(a) => agent::run(a).await,
            Command::Rt(a) => rt::run(a).await,
            Command::Forward(a) => forward::run(a).await,
            Command::Slow(a) => slow::run(a).await,
        }
    })
}

/// Refuses any target that is not on the loopback network.
pub(crate) fn check_loopback(url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or(url);
    let host = rest.split(['/', ':']).next().unwrap_or("");
    let ok = host == "localhost"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !ok {
        bail!("refusing to load {url}: only 127.0.0.x targets are allowed");
    }
    Ok(())
}

/// Prints a flat JSON result line on stdout.
pub(crate) fn emit(value: &serde_json::Value) {
    println!("{value}");
}

#[cfg(test)]
mod tests {
    use super::check_loopback;

    #[test]
    fn only_loopback_targets() {
        assert!(check_loopback("http://127.0.0.1:8080").is_ok());
        assert!(check_loopback("http://127.0.0.9/x").is_ok());
        assert!(check_loopback("http://localhost:1").is_ok());
        assert!(check_loopback("http://10.0.0.1:8080").is_err());
        assert!(check_loopback("http://example.com").is_err());
    }
}
