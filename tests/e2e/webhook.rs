//! Webhooks through the real server binary: `desk add --kind webhook`, a report from the
//! real agent, and a receiver in this test that checks every signature as a district's
//! would, answers the first POST with a 500 and is posted the same event again.

use crate::harness::{Agent, Server};
use anyhow::{Context, Result, bail};
use handraise_testkit::last_line;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::task::block_in_place;

const SECRET: &str = "whsec-e2e";

#[derive(Debug, Clone)]
struct Got {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Got {
    fn header(&self, k: &str) -> &str {
        self.headers
            .get(&k.to_ascii_lowercase())
            .map_or("", String::as_str)
    }

    /// The signature check the documentation gives receivers.
    fn signed(&self) -> bool {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()) else {
            return false;
        };
        mac.update(self.header("x-handraise-timestamp").as_bytes());
        mac.update(b".");
        mac.update(&self.body);
        let sig = self.header("x-handraise-signature");
        let Some(Ok(sig)) = sig.strip_prefix("sha256=").map(hex::decode) else {
            return false;
        };
        mac.verify_slice(&sig).is_ok()
    }
}

type Log = Arc<Mutex<Vec<Got>>>;

/// Reads one HTTP/1.1 request (headers, then `Content-Length` bytes).
async fn read_request(stream: &mut tokio::net::TcpStream) -> Result<Got> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let mut headers = HashMap::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).await?;
    Ok(Got { headers, body })
}

/// A receiver on 127.0.0.1: the first request gets a 500, the rest a 200.
async fn receiver() -> Result<(String, Log)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hooks/handraise", listener.local_addr()?);
    let log: Log = Arc::default();
    let seen = Arc::clone(&log);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let Ok(got) = read_request(&mut stream).await else {
                continue;
            };
            let first = {
                let mut log = seen.lock().unwrap_or_else(|e| e.into_inner());
                log.push(got);
                log.len() == 1
            };
            let status = if first {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let answer =
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    Ok((url, log))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_gets_signed_events_and_a_500_is_posted_again() -> Result<()> {
    let server = block_in_place(Server::start)?;
    let (url, log) = receiver().await?;
    let out = block_in_place(|| {
        server.cli_with_input(
            &[
                "desk",
                "add",
                "--kind",
                "webhook",
                "--name",
                "IT chat",
                "--url",
                &url,
                "--secret-file",
                "-",
                "--me-too-threshold",
                "3",
            ],
            SECRET,
        )
    })?;
    let hook = last_line(&out);
    // A notifier: never where tickets are worked.
    let refused = block_in_place(|| server.cli(&["desk", "default", "--id", &hook]));
    let e = format!(
        "{:#}",
        refused.expect_err("a webhook cannot be the default")
    );
    assert!(e.contains("cannot be the default desk"), "{e}");

    let agent = Agent::new()?;
    let id = block_in_place(|| -> Result<String> {
        agent.enroll(&server.url, &server.enroll_token("e2e")?)?;
        let id = agent.report("printer", "Printer jammed in B-12")?;
        let (ok, err) = agent.sync()?;
        anyhow::ensure!(ok, "sync: {err}");
        Ok(id)
    })?;

    let deadline = Instant::now() + Duration::from_secs(120);
    let got = loop {
        let got = log.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if got.len() >= 2 {
            break got;
        }
        if Instant::now() > deadline {
            bail!("the webhook was posted {} time(s) in 120 s", got.len());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(got.iter().all(Got::signed), "every POST is signed");
    assert_eq!(got[0].header("x-handraise-event"), "ticket.new");
    let event_id = got[0].header("x-handraise-event-id");
    assert!(!event_id.is_empty());
    assert_eq!(
        got[1].header("x-handraise-event-id"),
        event_id,
        "the same event"
    );
    let body: Value = serde_json::from_slice(&got[1].body)?;
    assert_eq!(body["ticket"]["client_id"], id.as_str(), "{body}");
    assert_eq!(body["ticket"]["summary"], "Printer jammed in B-12");

    // `desk list` counts it sent; the ticket stayed in HandRaise.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listed: Vec<Value> =
            serde_json::from_str(&block_in_place(|| server.cli(&["desk", "list", "--json"]))?)?;
        let d = listed
            .iter()
            .find(|d| d["id"].as_i64().is_some_and(|i| i.to_string() == hook))
            .context("webhook listed")?;
        assert_eq!(d["kind"], "webhook");
        if d["sent"] == 1 {
            assert_eq!(d["queued"], 0);
            break;
        }
        if Instant::now() > deadline {
            bail!("the webhook's delivery was never counted: {d}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(block_in_place(|| server.count(&id))?, 1);
    Ok(())
}
