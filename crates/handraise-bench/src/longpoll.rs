//! `longpoll`: N devices from one 127.0.0.x source address, each holding
//! `GET /api/v1/updates?wait=W` like an idle agent, then technician replies to
//! some of their tickets and the time until each waiting device has it.
//!
//! Phases, each announced by a JSON line on stdout so a driver (the xtask) can
//! sample the server between them: `setup` (devices enrolled, one ticket each)
//! → waits for `open` on stdin → `ready` (every long-poll connection
//! established) → waits for `go` on stdin → replies → `result`. With `--auto`
//! it does not wait for stdin.

use crate::intake::{client, enroll_many, retry_after, ticket};
use crate::stats::{Samples, r3};
use anyhow::{Context, Result, bail};
use handraise_wire::{TicketReceipt, UpdateKind, UpdatesPage};
use serde_json::json;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;
use tokio::sync::Semaphore;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: crate::intake::Target,
    /// Technician API token (for the replies).
    #[arg(long)]
    pub tech_token: String,
    /// Long-polling devices held by this process.
    #[arg(long, default_value_t = 1000)]
    pub connections: usize,
    /// Local address the devices connect from (127.0.0.x).
    #[arg(long)]
    pub source_ip: Option<IpAddr>,
    /// Seconds each long-poll asks the server to wait.
    #[arg(long, default_value_t = 25)]
    pub wait: u64,
    /// Technician replies sent by this process once every poll is held.
    #[arg(long, default_value_t = 100)]
    pub replies: usize,
    /// Pause between two replies, in milliseconds.
    #[arg(long, default_value_t = 20)]
    pub reply_interval_ms: u64,
    /// Do not wait for `open` / `go` on stdin.
    #[arg(long)]
    pub auto: bool,
    /// Upper bound on the whole run, in seconds.
    #[arg(long, default_value_t = 600)]
    pub max_secs: u64,
    /// Post the technician replies to this server instead (another node on the same
    /// database), so each reply crosses from one node to the other.
    #[arg(long)]
    pub reply_url: Option<String>,
}

/// Per-ticket time at which a reply was sent.
type Sent = Arc<Mutex<HashMap<i64, Instant>>>;

#[derive(Default)]
struct Counters {
    polls: AtomicUsize,
    poll_errors: AtomicUsize,
    server_errors: AtomicUsize,
    rate_limited: AtomicUsize,
}

pub async fn run(a: Args) -> Result<()> {
    let url = a.target.base_url()?;
    let reply_url = match &a.reply_url {
        Some(u) => {
            crate::check_loopback(u)?;
            u.trim_end_matches('/').to_owned()
        }
        None => url.clone(),
    };
    if let Some(ip) = a.source_ip
        && !ip.is_loopback()
    {
        bail!("--source-ip must be a 127.0.0.x address");
    }
    let run_deadline = Instant::now() + Duration::from_secs(a.max_secs.clamp(10, 7200));
    let n = a.connections.clamp(1, 20_000);
    let wait = a.wait.min(30);
    let http = client(a.source_ip, Duration::from_secs(wait + 30))?;

    // Setup: devices and one ticket each.
    let setup_started = Instant::now();
    let secrets = enroll_many(&http, &url, &a.target.enroll_token, n, 64).await?;
    let numbers = create_tickets(&http, &url, &secrets, 64).await?;
    let setup_secs = setup_started.elapsed().as_secs_f64();
    crate::emit(
        &json!({"bench": "longpoll", "event": "setup", "devices": n, "setup_s": r3(setup_secs)}),
    );
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    if !a.auto {
        wait_for_line(&mut stdin, "open", run_deadline).await?;
    }

    // Hold a long-poll per device.
    let sent: Sent = Arc::new(Mutex::new(HashMap::new()));
    let received = Arc::new(Mutex::new(Samples::default()));
    let counters = Arc::new(Counters::default());
    let mut polls = tokio::task::JoinSet::new();
    for (secret, number) in secrets.iter().cloned().zip(numbers.iter().copied()) {
        let http = http.clone();
        let endpoint = format!("{url}/api/v1/updates");
        let sent = Arc::clone(&sent);
        let received = Arc::clone(&received);
        let counters = Arc::clone(&counters);
        polls.spawn(async move {
            let mut cursor = 0_i64;
            while Instant::now() < run_deadline {
                let resp = http
                    .get(format!("{endpoint}?cursor={cursor}&wait={wait}"))
                    .bearer_auth(&secret)
                    .send()
                    .await;
                counters.polls.fetch_add(1, Ordering::Relaxed);
                let resp = match resp {
                    Ok(r) => r,
                    Err(_) => {
                        counters.poll_errors.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                let status = resp.status();
                if status.as_u16() == 429 {
                    counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(retry_after(&resp)).await;
                    continue;
                }
                if !status.is_success() {
                    if status.is_server_error() {
                        counters.server_errors.fetch_add(1, Ordering::Relaxed);
                    }
                    counters.poll_errors.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                let Ok(page) = resp.json::<UpdatesPage>().await else {
                    counters.poll_errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let now = Instant::now();
                for u in &page.updates {
                    if matches!(u.kind, UpdateKind::Reply { .. }) && u.ticket_number == number {
                        let at = sent
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&number);
                        if let Some(at) = at {
                            received
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(now.saturating_duration_since(at));
                        }
                    }
                }
                cursor = page.cursor;
            }
        });
    }
    let port = url
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse::<u16>().ok())
        .context("the URL needs an explicit port")?;
    let established = wait_established(a.source_ip, port, n, run_deadline).await;
    crate::emit(
        &json!({"bench": "longpoll", "event": "ready", "devices": n, "established": established}),
    );
    if !a.auto {
        wait_for_line(&mut stdin, "go", run_deadline).await?;
    } else {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // Replies to distinct devices, spread over the process's devices.
    let replies = a.replies.min(n);
    let stride = (n / replies.max(1)).max(1);
    let mut post_latency = Samples::default();
    let mut reply_errors = 0_usize;
    for k in 0..replies {
        if Instant::now() >= run_deadline {
            break;
        }
        let number = numbers[(k * stride) % n];
        sent.lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(number, Instant::now());
        let t0 = Instant::now();
        let r = http
            .post(format!("{reply_url}/api/v1/tech/tickets/{number}/reply"))
            .bearer_auth(&a.tech_token)
            .json(&json!({"body": format!("bench reply {k}: please try the other printer")}))
            .send()
            .await;
        match r {
            Ok(r) if r.status().is_success() => {
                let _ = r.bytes().await;
                post_latency.push(t0.elapsed());
            }
            Ok(r) => {
                reply_errors += 1;
                if r.status().is_server_error() {
                    counters.server_errors.fetch_add(1, Ordering::Relaxed);
                }
                eprintln!("reply answered {}", r.status());
                sent.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&number);
            }
            Err(e) => {
                reply_errors += 1;
                eprintln!("reply failed: {e}");
                sent.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&number);
            }
        }
        tokio::time::sleep(Duration::from_millis(a.reply_interval_ms)).await;
    }
    // Wait (bounded) for the last replies to arrive.
    let until = (Instant::now() + Duration::from_secs(wait + 10)).min(run_deadline);
    while Instant::now() < until && !sent.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let lost = sent.lock().unwrap_or_else(|e| e.into_inner()).len();
    polls.abort_all();
    let lat = received.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let source = a.source_ip.map(|ip| ip.to_string()).unwrap_or_default();
    eprintln!(
        "longpoll {source}: {n} devices, {established} established; {} replies received of {replies}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; reply POST p50 {:.1} ms; {} not received, {} poll errors, {} 5xx",
        lat.len(),
        lat.percentile_ms(50.0),
        lat.percentile_ms(99.0),
        lat.max_ms(),
        post_latency.percentile_ms(50.0),
        lost,
        counters.poll_errors.load(Ordering::Relaxed),
        counters.server_errors.load(Ordering::Relaxed),
    );
    crate::emit(&json!({
        "bench": "longpoll",
        "event": "result",
        "source_ip": source,
        "devices": n,
        "established": established,
        "replies": replies,
        "received": lat.len(),
        "not_received": lost,
        "reply_errors": reply_errors,
        "p50_ms": r3(lat.percentile_ms(50.0)),
        "p99_ms": r3(lat.percentile_ms(99.0)),
        "max_ms": r3(lat.max_ms()),
        "reply_post_p50_ms": r3(post_latency.percentile_ms(50.0)),
        "polls": counters.polls.load(Ordering::Relaxed),
        "poll_errors": counters.poll_errors.load(Ordering::Relaxed),
        "server_errors": counters.server_errors.load(Ordering::Relaxed),
        "rate_limited": counters.rate_limited.load(Ordering::Relaxed),
        "setup_s": r3(setup_secs),
    }));
    Ok(())
}

/// One ticket per device; returns the ticket numbers in device order.
async fn create_tickets(
    http: &reqwest::Client,
    url: &str,
    secrets: &[String],
    parallel: usize,
) -> Result<Vec<i64>> {
    let sem = Arc::new(Semaphore::new(parallel.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, secret) in secrets.iter().cloned().enumerate() {
        let permit = Arc::clone(&sem).acquire_owned().await?;
        let http = http.clone();
        let endpoint = format!("{url}/api/v1/tickets");
        tasks.spawn(async move {
            let _permit = permit;
            let body = ticket(None, i);
            for _ in 0..20 {
                let r = http
                    .post(&endpoint)
                    .bearer_auth(&secret)
                    .json(&body)
                    .send()
                    .await?;
                if r.status().as_u16() == 429 {
                    tokio::time::sleep(retry_after(&r)).await;
                    continue;
                }
                if !r.status().is_success() {
                    bail!("ticket answered {}", r.status());
                }
                let receipt: TicketReceipt = r.json().await?;
                return Ok((i, receipt.number));
            }
            bail!("ticket kept answering 429")
        });
    }
    let mut numbers = vec![0_i64; secrets.len()];
    while let Some(r) = tasks.join_next().await {
        let (i, number) = r.context("ticket task")??;
        numbers[i] = number;
    }
    Ok(numbers)
}

async fn wait_for_line(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::io::Stdin>>,
    want: &str,
    deadline: Instant,
) -> Result<()> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, lines.next_line()).await {
            Err(_) => bail!("timed out waiting for {want:?} on stdin"),
            Ok(Ok(Some(line))) if line.trim() == want => return Ok(()),
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) => bail!("stdin closed before {want:?}"),
            Ok(Err(e)) => return Err(e.into()),
        }
    }
}

/// Waits (at most 120 s) until `want` TCP connections from `source` to the
/// server port are established, reading `/proc/net/tcp`; returns the count
/// seen last.
async fn wait_established(
    source: Option<IpAddr>,
    port: u16,
    want: usize,
    deadline: Instant,
) -> usize {
    let until = (Instant::now() + Duration::from_secs(120)).min(deadline);
    let mut seen = 0;
    while Instant::now() < until {
        seen = established_to(source, port);
        if seen >= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    seen
}

/// ESTABLISHED connections from `source` (any local address when `None`) to
/// remote `port`, per `/proc/net/tcp`.
fn established_to(source: Option<IpAddr>, port: u16) -> usize {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return 0;
    };
    let local_ip = match source {
        Some(IpAddr::V4(v4)) => Some(format!("{:08X}", u32::from_le_bytes(v4.octets()))),
        _ => None,
    };
    let remote_port = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let mut f = line.split_whitespace();
            let (Some(_), Some(local), Some(remote), Some(state)) =
                (f.next(), f.next(), f.next(), f.next())
            else {
                return false;
            };
            state == "01"
                && remote.ends_with(&remote_port)
                && local_ip
                    .as_deref()
                    .is_none_or(|ip| local.split(':').next() == Some(ip))
        })
        .count()
}
