//! `intake`: N simulated agents, each an enrolled device, posting tickets
//! (with a real device snapshot, as the agent sends them) as fast as the
//! server answers.

use crate::stats::{Samples, r3};
use anyhow::{Context, Result, bail};
use handraise_agent::facts::{self, ContactFacts, Depth};
use handraise_wire::{
    Category, DeviceSnapshot, EnrollRequest, EnrollResponse, NewTicket, Reporter,
};
use serde_json::json;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use uuid::Uuid;

/// The server under load and how its simulated devices enroll.
#[derive(Debug, clap::Args)]
pub struct Target {
    /// Server base URL (loopback only).
    #[arg(long)]
    pub url: String,
    /// Enrollment token for the simulated devices.
    #[arg(long)]
    pub enroll_token: String,
}

impl Target {
    /// The checked base URL (no trailing slash).
    pub fn base_url(&self) -> Result<String> {
        crate::check_loopback(&self.url)?;
        Ok(self.url.trim_end_matches('/').to_owned())
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// Concurrent simulated agents (one device each).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Upper bound on tickets sent.
    #[arg(long, default_value_t = 10_000)]
    pub tickets: usize,
    /// Upper bound on sending time, in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Attach no device snapshot (smaller bodies).
    #[arg(long)]
    pub no_snapshot: bool,
    /// Local address to send from (127.0.0.x).
    #[arg(long)]
    pub source_ip: Option<IpAddr>,
    /// Label copied into the JSON result.
    #[arg(long, default_value = "intake")]
    pub label: String,
}

/// An HTTP client for many concurrent connections from `source`.
pub fn client(source: Option<IpAddr>, timeout: Duration) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true);
    if let Some(ip) = source {
        b = b.local_address(ip);
    }
    Ok(b.build()?)
}

/// Enrolls `n` devices with at most `parallel` requests at once; returns
/// their secrets.
pub async fn enroll_many(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    n: usize,
    parallel: usize,
) -> Result<Vec<String>> {
    let sem = Arc::new(Semaphore::new(parallel.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let permit = Arc::clone(&sem).acquire_owned().await?;
        let http = http.clone();
        let endpoint = format!("{url}/api/v1/enroll");
        let req = EnrollRequest {
            token: token.to_owned(),
            hostname: format!("bench-{i}"),
            school: Some("Bench Elementary".into()),
            building: None,
            os: Some("Linux".into()),
            model: None,
            agent_version: Some("bench".into()),
            machine_id: None,
        };
        tasks.spawn(async move {
            let _permit = permit;
            for attempt in 0..20 {
                let resp = http.post(&endpoint).json(&req).send().await?;
                let status = resp.status();
                if status.as_u16() == 429 && attempt < 19 {
                    tokio::time::sleep(retry_after(&resp)).await;
                    continue;
                }
                if !status.is_success() {
                    let body = resp.text().await.unwrap_or_default();
                    bail!("enroll answered {status}: {body}");
                }
                let e: EnrollResponse = resp.json().await?;
                return Ok(e.device_secret);
            }
            bail!("enroll kept answering 429")
        });
    }
    let mut secrets = Vec::with_capacity(n);
    while let Some(r) = tasks.join_next().await {
        secrets.push(r.context("enroll task")??);
    }
    Ok(secrets)
}

/// The `Retry-After` of a 429, capped at 2 s.
pub fn retry_after(resp: &reqwest::Response) -> Duration {
    let secs = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1);
    Duration::from_secs(secs.min(2))
}

/// A quick device snapshot of this machine, as the agent attaches to reports.
pub fn snapshot() -> DeviceSnapshot {
    let now = time::OffsetDateTime::now_utc();
    facts::collect(Depth::Quick, &ContactFacts::default(), now)
}

/// A ticket as the agent sends it.
pub fn ticket(snapshot: Option<&DeviceSnapshot>, i: usize) -> NewTicket {
    NewTicket {
        client_id: Uuid::now_v7(),
        created_at: time::OffsetDateTime::now_utc(),
        category: Category::Printer,
        summary: format!("Printer in room 12 jams on every page ({i})"),
        details: Some("It started after lunch. I tried turning it off and on again.".into()),
        urgency: None,
        scope: None,
        room: Some("12".into()),
        reporter: Some(Reporter {
            os_user: Some("teacher".into()),
            display_name: Some("A. Teacher".into()),
            email: Some("teacher@school.example".into()),
        }),
        snapshot: snapshot.cloned(),
        self_help: Vec::new(),
        offline_at_submit: None,
        announcement_id: None,
    }
}

#[derive(Default)]
struct Tally {
    latency: Samples,
    created: usize,
    errors: usize,
    server_errors: usize,
    rate_limited: usize,
}

pub async fn run(a: Args) -> Result<()> {
    let url = a.target.base_url()?;
    let concurrency = a.concurrency.clamp(1, 4096);
    let http = client(a.source_ip, Duration::from_secs(30))?;
    let secrets = enroll_many(&http, &url, &a.target.enroll_token, concurrency, 32).await?;
    let snap = (!a.no_snapshot).then(snapshot);
    let body_bytes = serde_json::to_vec(&ticket(snap.as_ref(), 0))?.len();

    let next = Arc::new(AtomicUsize::new(0));
    let limit = a.tickets;
    let duration = Duration::from_secs_f64(a.duration.clamp(0.1, 3600.0));
    let started = Instant::now();
    let deadline = started + duration;
    let snap = Arc::new(snap);
    let mut tasks = tokio::task::JoinSet::new();
    for secret in secrets {
        let http = http.clone();
        let endpoint = format!("{url}/api/v1/tickets");
        let next = Arc::clone(&next);
        let snap = Arc::clone(&snap);
        tasks.spawn(async move {
            let mut t = Tally::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= limit || Instant::now() >= deadline {
                    break;
                }
                let body = match serde_json::to_vec(&ticket(snap.as_ref().as_ref(), i)) {
                    Ok(b) => b,
                    Err(_) => {
                        t.errors += 1;
                        continue;
                    }
                };
                let sent = Instant::now();
                // The same client id on a retry: idempotent, as the agent does it.
                let mut done = false;
                for _ in 0..20 {
                    let resp = http
                        .post(&endpoint)
                        .bearer_auth(&secret)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    match resp {
                        Ok(r) if r.status().as_u16() == 429 => {
                            t.rate_limited += 1;
                            if Instant::now() >= deadline {
                                break;
                            }
                            tokio::time::sleep(retry_after(&r)).await;
                        }
                        Ok(r) if r.status().is_success() => {
                            // Read the receipt like an agent would.
                            let _ = r.bytes().await;
                            t.latency.push(sent.elapsed());
                            t.created += 1;
                            done = true;
                            break;
                        }
                        Ok(r) => {
                            if r.status().is_server_error() {
                                t.server_errors += 1;
                            }
                            let status = r.status();
                            let text = r.text().await.unwrap_or_default();
                            eprintln!("ticket answered {status}: {text}");
                            break;
                        }
                        Err(e) => {
                            eprintln!("ticket request failed: {e}");
                            break;
                        }
                    }
                }
                if !done {
                    t.errors += 1;
                }
            }
            t
        });
    }
    let mut total = Tally::default();
    while let Some(r) = tasks.join_next().await {
        let t = r.context("intake task")?;
        total.latency.extend(t.latency);
        total.created += t.created;
        total.errors += t.errors;
        total.server_errors += t.server_errors;
        total.rate_limited += t.rate_limited;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let per_sec = total.created as f64 / elapsed;
    let p50 = total.latency.percentile_ms(50.0);
    let p99 = total.latency.percentile_ms(99.0);
    eprintln!(
        "intake: {} agents, {} tickets in {:.2} s = {:.0} tickets/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} errors ({} 5xx), {} 429s; body {} bytes",
        concurrency,
        total.created,
        elapsed,
        per_sec,
        p50,
        p99,
        total.latency.max_ms(),
        total.errors,
        total.server_errors,
        total.rate_limited,
        body_bytes
    );
    crate::emit(&json!({
        "bench": "intake",
        "label": a.label,
        "concurrency": concurrency,
        "tickets": total.created,
        "errors": total.errors,
        "server_errors": total.server_errors,
        "rate_limited": total.rate_limited,
        "elapsed_s": r3(elapsed),
        "per_sec": r3(per_sec),
        "p50_ms": r3(p50),
        "p99_ms": r3(p99),
        "max_ms": r3(total.latency.max_ms()),
        "body_bytes": body_bytes,
    }));
    Ok(())
}
