//! `forward`: forwarding to a help desk, through the real server. Tickets go
//! in through the agent API; when each reaches the desk is read from the
//! server's own account of its desks (`handraise-server desk list --json`:
//! a forward counts as sent once the desk answered its create and the server
//! recorded the desk's id).
//!
//! - **Latency**: tickets one at a time, each timed from its POST until the
//!   desk's `sent` count has grown by one. The server holds a new ticket
//!   back for its screenshot grace (3 s, `SCREENSHOT_GRACE`) before
//!   forwarding it, so the figure includes that wait; it is reported both
//!   ways. Tickets are posted at phases spread over the worker's one-second
//!   idle tick, as reports arrive at any moment.
//! - **Drain**: a burst of tickets queued for the desk, the desk disabled
//!   straight after (the worker leaves a disabled desk's queue alone) until
//!   every forward is past its grace, then enabled: the time from enabling
//!   until the desk's `sent` count has taken them all.

use crate::intake::{Target, client, enroll_many, snapshot, ticket};
use crate::stats::{Samples, r3};
use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What the server waits before forwarding a new ticket (its
/// `SCREENSHOT_GRACE`), subtracted for the second latency figure.
const GRACE: Duration = Duration::from_secs(3);
/// How often the desk's counts are read.
const POLL: Duration = Duration::from_millis(100);

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// The `handraise-server` binary serving `--data-dir` (for `desk list|enable|disable`).
    #[arg(long)]
    pub server_bin: PathBuf,
    /// The running server's data directory.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// The desk the server forwards to (its default desk).
    #[arg(long)]
    pub desk: i64,
    /// Tickets timed one at a time from report to desk (0: none).
    #[arg(long, default_value_t = 20)]
    pub latency: usize,
    /// Tickets queued while the desk is disabled, then drained (0: none).
    #[arg(long, default_value_t = 1000)]
    pub drain: usize,
    /// Agents posting the drain's tickets at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Upper bound on each ticket's wait for its desk, and on the drain, in seconds.
    #[arg(long, default_value_t = 3600.0)]
    pub timeout: f64,
    /// Label copied into the JSON results (the desk's kind).
    #[arg(long, default_value = "rt")]
    pub label: String,
}

/// The desk's counts from `desk list --json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    queued: i64,
    sent: i64,
    failed: i64,
}

struct Desk<'a> {
    a: &'a Args,
}

impl Desk<'_> {
    fn cli(&self, args: &[&str]) -> Result<String> {
        let out = Command::new(&self.a.server_bin)
            .args(args)
            .arg("--data-dir")
            .arg(&self.a.data_dir)
            .env("RUST_LOG", "warn")
            .output()
            .with_context(|| format!("run {}", self.a.server_bin.display()))?;
        ensure!(
            out.status.success(),
            "handraise-server {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    async fn counts(&self) -> Result<Counts> {
        let text = tokio::task::block_in_place(|| self.cli(&["desk", "list", "--json"]))?;
        let list: Vec<Value> = serde_json::from_str(&text).context("desk list --json")?;
        let d = list
            .iter()
            .find(|d| d["id"] == self.a.desk)
            .with_context(|| format!("no desk {}", self.a.desk))?;
        let n = |k: &str| d[k].as_i64().unwrap_or(0);
        Ok(Counts {
            queued: n("queued"),
            sent: n("sent"),
            failed: n("failed"),
        })
    }

    fn set_enabled(&self, on: bool) -> Result<()> {
        let verb = if on { "enable" } else { "disable" };
        let id = self.a.desk.to_string();
        tokio::task::block_in_place(|| self.cli(&["desk", verb, "--id", &id]))?;
        Ok(())
    }

    /// Polls until `sent` reaches `want`, at most until `deadline`; fails
    /// when a forward failed for good.
    async fn sent_reaches(&self, want: i64, failed_before: i64, deadline: Instant) -> Result<()> {
        loop {
            let c = self.counts().await?;
            if c.sent >= want {
                return Ok(());
            }
            if c.failed > failed_before {
                bail!("a forward failed for good: {c:?}");
            }
            if Instant::now() > deadline {
                bail!(
                    "the desk's sent count is {} of {want} at the deadline",
                    c.sent
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

pub async fn run(a: Args) -> Result<()> {
    let url = a.target.base_url()?;
    let desk = Desk { a: &a };
    let http = client(None, Duration::from_secs(30))?;
    let agents = a.concurrency.clamp(1, 256);
    let secrets = enroll_many(&http, &url, &a.target.enroll_token, agents, 16).await?;
    let snap = Arc::new(Some(snapshot()));
    let endpoint = format!("{url}/api/v1/tickets");
    let limit = Duration::from_secs_f64(a.timeout.clamp(1.0, 86_400.0));

    if a.latency > 0 {
        let mut raw = Samples::default();
        let mut less_grace = Samples::default();
        let secret = secrets.first().context("no enrolled agent")?;
        for i in 0..a.latency {
            // The worker looks for due work once a second while idle; posting
            // right after the previous forward was seen would lock every
            // ticket to the same phase of that second. Phases spread evenly
            // (golden-ratio steps) make the wait for the next pass fair.
            let phase = (i as f64 * 0.618_034).fract();
            tokio::time::sleep(Duration::from_secs_f64(phase)).await;
            let before = desk.counts().await?;
            let body = serde_json::to_vec(&ticket(snap.as_ref().as_ref(), i))?;
            let t = Instant::now();
            let r = http
                .post(&endpoint)
                .bearer_auth(secret)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await?;
            ensure!(r.status().is_success(), "ticket answered {}", r.status());
            desk.sent_reaches(before.sent + 1, before.failed, t + limit)
                .await?;
            let took = t.elapsed();
            raw.push(took);
            less_grace.push(took.saturating_sub(GRACE));
            eprintln!("forward latency {i}: {:.0} ms", took.as_secs_f64() * 1000.0);
        }
        eprintln!(
            "forward latency ({}): {} tickets, report → desk p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (minus the 3 s grace: p50 {:.0} ms, p99 {:.0} ms)",
            a.label,
            raw.len(),
            raw.percentile_ms(50.0),
            raw.percentile_ms(99.0),
            raw.max_ms(),
            less_grace.percentile_ms(50.0),
            less_grace.percentile_ms(99.0),
        );
        crate::emit(&json!({
            "bench": "forward-latency",
            "label": a.label,
            "tickets": raw.len(),
            "grace_ms": GRACE.as_millis() as u64,
            "p50_ms": r3(raw.percentile_ms(50.0)),
            "p99_ms": r3(raw.percentile_ms(99.0)),
            "max_ms": r3(raw.max_ms()),
            "p50_less_grace_ms": r3(less_grace.percentile_ms(50.0)),
            "p99_less_grace_ms": r3(less_grace.percentile_ms(99.0)),
        }));
    }

    if a.drain > 0 {
        let before = desk.counts().await?;
        let next = Arc::new(AtomicUsize::new(0));
        let posted = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for secret in secrets {
            let (http, endpoint, next, snap) = (
                http.clone(),
                endpoint.clone(),
                Arc::clone(&next),
                Arc::clone(&snap),
            );
            let n = a.drain;
            tasks.spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return anyhow::Ok(());
                    }
                    let body = serde_json::to_vec(&ticket(snap.as_ref().as_ref(), i))?;
                    let r = http
                        .post(&endpoint)
                        .bearer_auth(&secret)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await?;
                    ensure!(r.status().is_success(), "ticket answered {}", r.status());
                }
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.context("drain agent")??;
        }
        let filing = posted.elapsed();
        // Held: the worker leaves a disabled desk's queue alone. Forwards
        // already past their grace may have gone out; they are counted.
        desk.set_enabled(false)?;
        let held = desk.counts().await?;
        let early = held.sent - before.sent;
        let queued = held.queued - before.queued;
        ensure!(
            queued + early == a.drain as i64,
            "expected {} new forwards, found {queued} queued and {early} sent",
            a.drain
        );
        // Every forward past its grace, so all are due the moment the desk is back.
        tokio::time::sleep(GRACE.saturating_sub(posted.elapsed()) + Duration::from_secs(1)).await;
        let load = loadavg();
        let t = Instant::now();
        desk.set_enabled(true)?;
        desk.sent_reaches(before.sent + a.drain as i64, before.failed, t + limit)
            .await?;
        let took = t.elapsed().as_secs_f64();
        let per_sec = queued as f64 / took;
        eprintln!(
            "forward drain ({}): {queued} queued forwards ({early} sent before the desk was held; filing took {:.2} s) delivered in {took:.1} s = {per_sec:.2} tickets/s",
            a.label,
            filing.as_secs_f64()
        );
        crate::emit(&json!({
            "bench": "forward-drain",
            "label": a.label,
            "tickets": a.drain,
            "queued": queued,
            "sent_early": early,
            "filing_s": r3(filing.as_secs_f64()),
            "elapsed_s": r3(took),
            "per_sec": r3(per_sec),
            "load": load,
        }));
    }
    Ok(())
}

/// The 1-minute load average.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}
