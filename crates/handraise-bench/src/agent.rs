//! `agent`: the agent core as the tray app uses it — report-to-durable
//! latency, device snapshot times (cold and warm), and draining a queue of
//! tickets to a server over loopback.

use crate::stats::{Samples, r3};
use anyhow::{Context, Result};
use handraise_agent::facts::{self, ContactFacts, Depth};
use handraise_agent::{Agent, Config, ReportInput};
use handraise_wire::Category;
use serde_json::json;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Server base URL for the drain (loopback only); without it the drain is skipped.
    #[arg(long)]
    pub url: Option<String>,
    #[arg(long)]
    pub enroll_token: Option<String>,
    /// Reports timed one by one.
    #[arg(long, default_value_t = 500)]
    pub reports: usize,
    /// Tickets queued, then drained to the server.
    #[arg(long, default_value_t = 1000)]
    pub drain: usize,
    /// Upper bound on the drain, in seconds.
    #[arg(long, default_value_t = 300)]
    pub max_drain_secs: u64,
    /// Where the agent data directories go (a temporary directory by default).
    #[arg(long)]
    pub work_dir: Option<std::path::PathBuf>,
}

pub async fn run(a: Args) -> Result<()> {
    let tmp = match &a.work_dir {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    snapshots().await?;
    report_latency(tmp.path(), a.reports.clamp(1, 100_000)).await?;
    if let (Some(url), Some(token)) = (&a.url, &a.enroll_token) {
        crate::check_loopback(url)?;
        drain(
            tmp.path(),
            url,
            token,
            a.drain.clamp(1, 100_000),
            Duration::from_secs(a.max_drain_secs.clamp(1, 3600)),
        )
        .await?;
    }
    Ok(())
}

/// Times `facts::collect` the first time in this process (cold) and again
/// (warm), for both depths.
async fn snapshots() -> Result<()> {
    let timed = |depth| {
        tokio::task::spawn_blocking(move || {
            let t = Instant::now();
            let s = facts::collect(
                depth,
                &ContactFacts::default(),
                time::OffsetDateTime::now_utc(),
            );
            (
                t.elapsed(),
                serde_json::to_vec(&s).map(|v| v.len()).unwrap_or(0),
            )
        })
    };
    let (quick_cold, bytes_quick) = timed(Depth::Quick).await?;
    let mut quick_warm = Samples::default();
    for _ in 0..5 {
        quick_warm.push(timed(Depth::Quick).await?.0);
    }
    let (full_cold, bytes_full) = timed(Depth::Full).await?;
    let (full_warm, _) = timed(Depth::Full).await?;
    let ms = |d: Duration| r3(d.as_secs_f64() * 1000.0);
    eprintln!(
        "snapshot: quick cold {:.1} ms, warm p50 {:.1} ms ({bytes_quick} bytes); full cold {:.1} ms, warm {:.1} ms ({bytes_full} bytes)",
        ms(quick_cold),
        quick_warm.percentile_ms(50.0),
        ms(full_cold),
        ms(full_warm)
    );
    crate::emit(&json!({
        "bench": "agent_snapshot",
        "quick_cold_ms": ms(quick_cold),
        "quick_warm_ms": r3(quick_warm.percentile_ms(50.0)),
        "full_cold_ms": ms(full_cold),
        "full_warm_ms": ms(full_warm),
        "quick_bytes": bytes_quick,
        "full_bytes": bytes_full,
    }));
    Ok(())
}

fn input(i: usize) -> ReportInput {
    let mut r = ReportInput::new(
        Category::Display,
        format!("Projector shows no picture ({i})"),
    );
    r.details = Some("The projector turns on but says no signal from HDMI.".into());
    r.room = Some("14".into());
    r
}

/// `Agent::report` one at a time with a cached snapshot, as the tray app
/// does it: the time until the ticket is committed to the outbox.
async fn report_latency(dir: &std::path::Path, n: usize) -> Result<()> {
    let agent = Agent::open(Config::with_data_dir(dir.join("report")))?;
    // The first report of a fresh data directory takes a quick snapshot.
    let t = Instant::now();
    agent.report(input(0)).await?;
    let first = t.elapsed();
    // The tray app keeps a full snapshot cached; so do we.
    agent.facts().await?;
    let mut lat = Samples::default();
    let started = Instant::now();
    for i in 1..=n {
        let t = Instant::now();
        agent.report(input(i)).await?;
        lat.push(t.elapsed());
        if started.elapsed() > Duration::from_secs(120) {
            break;
        }
    }
    eprintln!(
        "report: {} reports, first (no cached snapshot) {:.1} ms; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        lat.len(),
        first.as_secs_f64() * 1000.0,
        lat.percentile_ms(50.0),
        lat.percentile_ms(99.0),
        lat.max_ms()
    );
    crate::emit(&json!({
        "bench": "agent_report",
        "reports": lat.len(),
        "first_ms": r3(first.as_secs_f64() * 1000.0),
        "p50_ms": r3(lat.percentile_ms(50.0)),
        "p99_ms": r3(lat.percentile_ms(99.0)),
        "max_ms": r3(lat.max_ms()),
    }));
    Ok(())
}

/// Queues `n` tickets offline, enrolls, then runs sync passes until the
/// queue is empty (bounded by `max` and 1,000 passes).
async fn drain(
    dir: &std::path::Path,
    url: &str,
    token: &str,
    n: usize,
    max: Duration,
) -> Result<()> {
    let agent = Agent::open(Config::with_data_dir(dir.join("drain")))?;
    agent.facts().await?;
    let t = Instant::now();
    for i in 0..n {
        agent.report(input(i)).await?;
    }
    let queue_secs = t.elapsed().as_secs_f64();
    agent
        .enroll(url, token, Some("Bench Elementary".into()), None)
        .await
        .context("enroll the drain agent")?;
    let started = Instant::now();
    let mut sent = 0_usize;
    let mut rejected = 0_usize;
    let mut passes = 0_usize;
    let mut remaining = n;
    while remaining > 0 && started.elapsed() < max && passes < 1000 {
        let report = agent.sync_once().await?;
        passes += 1;
        sent += report.sent_tickets.len();
        rejected += report.rejected.len();
        remaining = report.remaining.total();
        if let Some(f) = &report.failure {
            eprintln!("drain pass {passes}: {f}");
        }
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "drain: {sent} of {n} tickets sent in {secs:.2} s ({:.0}/s) over {passes} passes; {rejected} rejected, {remaining} left; queueing them took {queue_secs:.2} s",
        sent as f64 / secs
    );
    crate::emit(&json!({
        "bench": "agent_drain",
        "queued": n,
        "sent": sent,
        "rejected": rejected,
        "remaining": remaining,
        "passes": passes,
        "drain_s": r3(secs),
        "per_sec": r3(sent as f64 / secs),
        "queue_s": r3(queue_secs),
    }));
    Ok(())
}
