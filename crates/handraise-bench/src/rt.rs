//! `rt`: the ticket-creation load of `intake` against Request Tracker's REST2
//! API (`POST /REST/2.0/ticket`), for a side-by-side figure.

use crate::intake::snapshot;
use crate::stats::{Samples, r3};
use anyhow::{Context, Result};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// RT base URL, e.g. http://127.0.0.1:8880 (loopback only).
    #[arg(long)]
    pub url: String,
    /// RT API auth token (`Authorization: token …`).
    #[arg(long)]
    pub token: String,
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Upper bound on tickets created.
    #[arg(long, default_value_t = 200)]
    pub tickets: usize,
    /// Upper bound on sending time, in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub duration: f64,
    /// Queue to create tickets in.
    #[arg(long, default_value = "General")]
    pub queue: String,
}

pub async fn run(a: Args) -> Result<()> {
    crate::check_loopback(&a.url)?;
    let endpoint = format!("{}/REST/2.0/ticket", a.url.trim_end_matches('/'));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    // The same content a HandRaise ticket carries: summary, details, the
    // reporter and the device snapshot (as the ticket body, since RT has no
    // structured place for it).
    let snap = serde_json::to_string_pretty(&snapshot())?;
    let concurrency = a.concurrency.clamp(1, 256);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(a.duration.clamp(0.1, 3600.0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let http = http.clone();
        let endpoint = endpoint.clone();
        let next = Arc::clone(&next);
        let token = a.token.clone();
        let queue = a.queue.clone();
        let snap = snap.clone();
        let limit = a.tickets;
        tasks.spawn(async move {
            let mut lat = Samples::default();
            let mut errors = 0_usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= limit || Instant::now() >= deadline {
                    break;
                }
                let body = json!({
                    "Queue": queue,
                    "Subject": format!("Printer in room 12 jams on every page ({i})"),
                    "Content": format!("It started after lunch. I tried turning it off and on again.\n\nDevice:\n{snap}"),
                    "Requestor": "teacher@school.example",
                    "CustomFields": {"Device": format!("bench-{i}")},
                });
                let t = Instant::now();
                let r = http
                    .post(&endpoint)
                    .header("authorization", format!("token {token}"))
                    .json(&body)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().as_u16() == 201 => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed());
                    }
                    Ok(r) => {
                        errors += 1;
                        let status = r.status();
                        let text = r.text().await.unwrap_or_default();
                        eprintln!("RT answered {status}: {}", text.chars().take(200).collect::<String>());
                    }
                    Err(e) => {
                        errors += 1;
                        eprintln!("RT request failed: {e}");
                    }
                }
            }
            (lat, errors)
        });
    }
    let mut lat = Samples::default();
    let mut errors = 0;
    while let Some(r) = tasks.join_next().await {
        let (l, e) = r.context("rt task")?;
        lat.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let per_sec = lat.len() as f64 / elapsed;
    eprintln!(
        "rt: {concurrency} clients, {} tickets in {elapsed:.2} s = {per_sec:.1} tickets/s; p50 {:.1} ms, p99 {:.1} ms; {errors} errors",
        lat.len(),
        lat.percentile_ms(50.0),
        lat.percentile_ms(99.0)
    );
    crate::emit(&json!({
        "bench": "rt",
        "concurrency": concurrency,
        "tickets": lat.len(),
        "errors": errors,
        "elapsed_s": r3(elapsed),
        "per_sec": r3(per_sec),
        "p50_ms": r3(lat.percentile_ms(50.0)),
        "p99_ms": r3(lat.percentile_ms(99.0)),
        "max_ms": r3(lat.max_ms()),
    }));
    Ok(())
}
