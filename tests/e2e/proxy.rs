//! A fault-injecting TCP proxy between an agent and the server, on 127.0.0.1.
//!
//! Each accepted connection gets one action, drawn from a seeded generator: pass it through,
//! delay it, cut it in the middle of the request, reset it after the server received the
//! request but before the client sees the answer, or answer an HTTP error itself (500, 502,
//! 503, or 429 with `Retry-After`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Pass,
    Delay(Duration),
    CutMidRequest,
    ResetBeforeResponse,
    Answer(u16),
}

/// Counts of what the proxy did, for assertions.
#[derive(Debug, Default)]
pub struct Counts {
    pub connections: AtomicU64,
    pub passed: AtomicU64,
    pub delayed: AtomicU64,
    pub cut: AtomicU64,
    pub reset: AtomicU64,
    pub answered: AtomicU64,
}

pub struct Proxy {
    pub addr: SocketAddr,
    pub counts: Arc<Counts>,
    /// Percent of new connections passed untouched (100 = a clean network).
    pub healthy_percent: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const SCRIPT: &[Action] = &[
    Action::CutMidRequest,
    Action::ResetBeforeResponse,
    Action::Answer(503),
    Action::Answer(429),
    Action::Answer(500),
    Action::Delay(Duration::from_millis(300)),
    Action::Answer(502),
    Action::ResetBeforeResponse,
];

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// The fault mix: `healthy_percent` of connections pass untouched; the rest are spread over
/// the faults.
pub fn pick(seed_state: &mut u64, healthy_percent: u64) -> Action {
    let mut rng = Rng(*seed_state | 1);
    let roll = rng.next() % 100;
    let sub = rng.next();
    *seed_state = rng.0;
    if roll < healthy_percent {
        return Action::Pass;
    }
    match sub % 8 {
        0 | 1 => Action::Delay(Duration::from_millis(50 + sub % 400)),
        2 => Action::CutMidRequest,
        3 | 4 => Action::ResetBeforeResponse,
        5 => Action::Answer(500),
        6 => Action::Answer([502, 503][(sub >> 8) as usize % 2]),
        _ => Action::Answer(429),
    }
}

impl Proxy {
    pub async fn start(target: SocketAddr, seed: u64) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let counts = Arc::new(Counts::default());
        let healthy_percent = Arc::new(AtomicU64::new(100));
        let healthy = healthy_percent.clone();
        let c = counts.clone();
        let task = tokio::spawn(async move {
            let mut state = seed;
            // While faults are on, the first connections go through every fault once, so a
            // short run cannot miss any of them; the rest are drawn at random.
            let mut scripted = SCRIPT.iter();
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                c.connections.fetch_add(1, Ordering::Relaxed);
                let healthy = healthy.load(Ordering::Relaxed);
                let action = match (healthy < 100).then(|| scripted.next()).flatten() {
                    Some(action) => *action,
                    None => pick(&mut state, healthy),
                };
                let c = c.clone();
                tokio::spawn(async move {
                    let _ = handle(client, target, action, &c).await;
                });
            }
        });
        Ok(Proxy {
            addr,
            counts,
            healthy_percent,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn read_head(client: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 64 * 1024 {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(buf)
}

async fn handle(
    mut client: TcpStream,
    target: SocketAddr,
    action: Action,
    counts: &Counts,
) -> std::io::Result<()> {
    match action {
        Action::Pass => {
            counts.passed.fetch_add(1, Ordering::Relaxed);
            let mut server = TcpStream::connect(target).await?;
            tokio::io::copy_bidirectional(&mut client, &mut server).await?;
        }
        Action::Delay(d) => {
            counts.delayed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(d).await;
            let mut server = TcpStream::connect(target).await?;
            tokio::io::copy_bidirectional(&mut client, &mut server).await?;
        }
        Action::CutMidRequest => {
            counts.cut.fetch_add(1, Ordering::Relaxed);
            let head = read_head(&mut client).await?;
            let mut server = TcpStream::connect(target).await?;
            // Half of what arrived, then both sides are dropped.
            server.write_all(&head[..head.len() / 2]).await?;
        }
        Action::ResetBeforeResponse => {
            counts.reset.fetch_add(1, Ordering::Relaxed);
            let mut server = TcpStream::connect(target).await?;
            let (mut cr, mut cw) = client.split();
            let (mut sr, mut sw) = server.split();
            // Forward the request until the server starts answering, then drop the client.
            let forward = tokio::io::copy(&mut cr, &mut sw);
            let mut first = [0u8; 1];
            tokio::select! {
                _ = forward => {}
                r = sr.read(&mut first) => { let _ = r; }
            }
            // Hard reset: the client sees the connection die with no answer.
            let _ = cw.shutdown().await;
        }
        Action::Answer(code) => {
            counts.answered.fetch_add(1, Ordering::Relaxed);
            let _ = read_head(&mut client).await?;
            let reason = match code {
                429 => "Too Many Requests",
                500 => "Internal Server Error",
                502 => "Bad Gateway",
                _ => "Service Unavailable",
            };
            let body = format!(r#"{{"code":"proxy","message":"injected {code}"}}"#);
            let resp = format!(
                "HTTP/1.1 {code} {reason}\r\ncontent-type: application/json\r\nretry-after: 1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(resp.as_bytes()).await?;
            client.shutdown().await?;
        }
    }
    Ok(())
}
