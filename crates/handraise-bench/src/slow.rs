//! `slow`: slow clients held against the server while one normal agent works.
//!
//! Opens `--drip-headers` connections that send a request's headers one byte
//! every `--drip-interval-secs` and never finish them, `--silent` connections
//! that send nothing, and `--drip-bodies` that send complete headers and then
//! a body one byte at a time. Meanwhile one enrolled device does what an agent
//! does (file a ticket, poll the updates feed) every `--agent-interval-ms`,
//! with the agent's 30 s request timeout. Prints one JSON line: how the
//! agent's requests fared (answered, failed, latency percentiles) and how many
//! slow connections the server closed, and after how long.

use crate::intake::{client, enroll_many, ticket};
use crate::stats::{Samples, r3};
use anyhow::Result;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: crate::intake::Target,
    /// Connections sending a request's headers a byte at a time, never finishing them.
    #[arg(long, default_value_t = 250)]
    pub drip_headers: usize,
    /// Connections that open and send nothing.
    #[arg(long, default_value_t = 200)]
    pub silent: usize,
    /// Connections sending complete headers, then a body a byte at a time.
    #[arg(long, default_value_t = 50)]
    pub drip_bodies: usize,
    /// Seconds between two bytes of a dripping connection.
    #[arg(long, default_value_t = 3)]
    pub drip_interval_secs: u64,
    /// Seconds the slow connections are held while the agent works (at most 600).
    #[arg(long, default_value_t = 60)]
    pub duration: u64,
    /// Pause between two of the agent's requests, in milliseconds.
    #[arg(long, default_value_t = 250)]
    pub agent_interval_ms: u64,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    DripHeaders,
    Silent,
    DripBody,
}

/// When each slow connection was closed by the server (seconds after it opened), per kind.
#[derive(Default)]
struct Closed {
    drip_headers: Vec<f64>,
    silent: Vec<f64>,
    drip_bodies: Vec<f64>,
    refused: usize,
}

pub async fn run(a: Args) -> Result<()> {
    let url = a.target.base_url()?;
    let Some(addr) = url.strip_prefix("http://") else {
        anyhow::bail!("slow clients speak plain HTTP: give an http:// URL");
    };
    let addr = addr.split('/').next().unwrap_or_default().to_owned();
    let duration = Duration::from_secs(a.duration.clamp(5, 600));
    let interval = Duration::from_secs(a.drip_interval_secs.max(1));
    let http = client(None, Duration::from_secs(30))?;
    let secret = enroll_many(&http, &url, &a.target.enroll_token, 1, 1)
        .await?
        .pop()
        .unwrap_or_default();

    // The slow clients, all connected before the agent starts.
    let deadline = Instant::now() + duration;
    let closed = Arc::new(Mutex::new(Closed::default()));
    let mut slow = tokio::task::JoinSet::new();
    let kinds = std::iter::repeat_n(Kind::DripHeaders, a.drip_headers)
        .chain(std::iter::repeat_n(Kind::Silent, a.silent))
        .chain(std::iter::repeat_n(Kind::DripBody, a.drip_bodies));
    for kind in kinds {
        let (addr, closed) = (addr.clone(), Arc::clone(&closed));
        let secret = secret.clone();
        slow.spawn(async move {
            let opened = Instant::now();
            let held = match TcpStream::connect(&addr).await {
                Ok(conn) => hold(conn, kind, &secret, interval, deadline).await,
                Err(_) => {
                    lock(&closed).refused += 1;
                    return;
                }
            };
            if !held {
                let secs = opened.elapsed().as_secs_f64();
                let mut c = lock(&closed);
                match kind {
                    Kind::DripHeaders => c.drip_headers.push(secs),
                    Kind::Silent => c.silent.push(secs),
                    Kind::DripBody => c.drip_bodies.push(secs),
                }
            }
        });
    }

    // One normal agent meanwhile.
    let mut latency = Samples::default();
    let (mut answered, mut failed, mut refused) = (0usize, 0usize, 0usize);
    let mut worst_error = String::new();
    let mut i = 0usize;
    while Instant::now() < deadline {
        i += 1;
        let t = Instant::now();
        let resp = if i.is_multiple_of(2) {
            http.post(format!("{url}/api/v1/tickets"))
                .bearer_auth(&secret)
                .json(&ticket(None, i))
                .send()
                .await
        } else {
            http.get(format!("{url}/api/v1/updates?cursor=0&wait=0"))
                .bearer_auth(&secret)
                .send()
                .await
        };
        match resp {
            Ok(r) if r.status().is_success() => {
                answered += 1;
                latency.push(t.elapsed());
            }
            Ok(r) => {
                refused += 1;
                worst_error = format!("answered {}", r.status());
            }
            Err(e) => {
                failed += 1;
                worst_error = e.to_string();
            }
        }
        tokio::time::sleep(Duration::from_millis(a.agent_interval_ms)).await;
    }
    while slow.join_next().await.is_some() {}

    let c = lock(&closed);
    let total = a.drip_headers + a.silent + a.drip_bodies;
    let closed_n = c.drip_headers.len() + c.silent.len() + c.drip_bodies.len();
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().map(r3)
    };
    crate::emit(&json!({
        "bench": "slow",
        "slow_connections": total,
        "held_secs": duration.as_secs(),
        "agent_requests": answered + failed + refused,
        "agent_answered_2xx": answered,
        "agent_answered_other": refused,
        "agent_failed": failed,
        "agent_last_error": worst_error,
        "agent_p50_ms": r3(latency.percentile_ms(50.0)),
        "agent_p99_ms": r3(latency.percentile_ms(99.0)),
        "agent_max_ms": r3(latency.max_ms()),
        "slow_closed_by_server": closed_n,
        "slow_still_open_at_end": total - closed_n - c.refused,
        "slow_refused_at_connect": c.refused,
        "drip_headers_closed": c.drip_headers.len(),
        "drip_headers_median_close_s": median(&c.drip_headers),
        "silent_closed": c.silent.len(),
        "silent_median_close_s": median(&c.silent),
        "drip_bodies_closed": c.drip_bodies.len(),
        "drip_bodies_median_close_s": median(&c.drip_bodies),
    }));
    eprintln!(
        "{total} slow connections for {} s: the agent got {answered} answers, {refused} refusals, \
         {failed} failures (p50 {:.1} ms, p99 {:.1} ms); the server closed {closed_n} slow connections",
        duration.as_secs(),
        latency.percentile_ms(50.0),
        latency.percentile_ms(99.0),
    );
    Ok(())
}

fn lock(closed: &Mutex<Closed>) -> std::sync::MutexGuard<'_, Closed> {
    match closed.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Plays one slow client until `deadline`; whether the connection was still open then.
async fn hold(
    mut conn: TcpStream,
    kind: Kind,
    secret: &str,
    interval: Duration,
    deadline: Instant,
) -> bool {
    let head = match kind {
        Kind::DripHeaders => b"GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Slow: ".to_vec(),
        Kind::Silent => Vec::new(),
        Kind::DripBody => format!(
            "POST /api/v1/tickets HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {secret}\r\n\
             Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{"
        )
        .into_bytes(),
    };
    // Headers go out a byte at a time, a body's head at once and then its bytes one by one.
    let mut pending: std::collections::VecDeque<u8> = match kind {
        Kind::DripHeaders => head.into_iter().collect(),
        Kind::Silent => Default::default(),
        Kind::DripBody => {
            if conn.write_all(&head).await.is_err() {
                return false;
            }
            Default::default()
        }
    };
    let drip = !matches!(kind, Kind::Silent);
    let mut buf = [0u8; 4096];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        let wake = (now + interval).min(deadline);
        tokio::select! {
            read = conn.read(&mut buf) => match read {
                // The server answered (a timeout or a refusal) or closed: either way, done
                // when it closes.
                Ok(0) | Err(_) => return false,
                Ok(_) => {}
            },
            () = tokio::time::sleep_until(wake.into()) => {
                if drip {
                    let byte = pending.pop_front().unwrap_or(b' ');
                    if conn.write_all(&[byte]).await.is_err() {
                        return false;
                    }
                }
            }
        }
    }
}
