//! Hostile and heavy input against the real server: a thundering herd of agents, the
//! authorisation matrix, slow-drip bodies, and bodies built to hurt the parser.

use crate::harness::{Agent, Api, Server, file_and_sync, is_error_shape, soak, ticket_body};
use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn ticket(i: usize) -> Value {
    let mut t = ticket_body("wifi", &format!("Wi-Fi down in room {i}"));
    t["scope"] = json!("building");
    t
}

/// Sends `body` until the server accepts it, sleeping Retry-After (plus jitter) on 429/503.
/// Returns how many 429s carried a Retry-After header.
async fn post_until_accepted(
    client: &reqwest::Client,
    url: &str,
    secret: Option<&str>,
    body: &Value,
    seed: u64,
) -> Result<(Value, u64)> {
    let mut limited = 0;
    for attempt in 0..200u64 {
        let mut req = client.post(url).json(body);
        if let Some(s) = secret {
            req = req.bearer_auth(s);
        }
        match req.send().await {
            Ok(resp) if resp.status().is_success() => return Ok((resp.json().await?, limited)),
            Ok(resp) if resp.status() == 429 || resp.status() == 503 => {
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                if resp.status() == 429 && retry_after.is_some() {
                    limited += 1;
                }
                let base = retry_after.unwrap_or(1) * 1000;
                let jitter = (seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(attempt.wrapping_mul(1442695040888963407))
                    >> 33)
                    % 1000;
                tokio::time::sleep(Duration::from_millis(base + jitter)).await;
            }
            Ok(resp) => anyhow::bail!("unexpected {}: {}", resp.status(), resp.text().await?),
            // A connection refused or reset under load is retried like an agent would.
            Err(_) => tokio::time::sleep(Duration::from_millis(200 + seed % 500)).await,
        }
    }
    anyhow::bail!("never accepted after 200 attempts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thundering_herd_gets_429s_and_every_ticket_once() -> Result<()> {
    let agents = if soak() { 5000 } else { 2000 };
    let server = tokio::task::block_in_place(|| {
        Server::start_with(&[
            ("HANDRAISE_SERVER_MAX_IN_FLIGHT", "8"),
            ("HANDRAISE_SERVER_ENROLL_PER_MINUTE_PER_IP", "1000000"),
        ])
    })?;
    let token = tokio::task::block_in_place(|| server.enroll_token("e2e"))?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .build()?;

    // Enroll every simulated agent (itself under the in-flight limit).
    let enroll_url = format!("{}/api/v1/enroll", server.url);
    let limited = Arc::new(AtomicU64::new(0));
    let mut secrets = Vec::with_capacity(agents);
    for chunk in (0..agents).collect::<Vec<_>>().chunks(200) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|i| {
                let client = client.clone();
                let url = enroll_url.clone();
                let body = json!({"token": token, "hostname": format!("herd-{i}")});
                let seed = *i as u64;
                tokio::spawn(
                    async move { post_until_accepted(&client, &url, None, &body, seed).await },
                )
            })
            .collect();
        for t in tasks {
            let (resp, _) = t.await??;
            secrets.push(
                resp["device_secret"]
                    .as_str()
                    .context("device_secret")?
                    .to_owned(),
            );
        }
    }

    // Every agent had a ticket queued while offline; all reconnect at the same instant.
    let start = Arc::new(tokio::sync::Barrier::new(agents));
    let tickets_url = format!("{}/api/v1/tickets", server.url);
    let t0 = Instant::now();
    let tasks: Vec<_> = secrets
        .iter()
        .enumerate()
        .map(|(i, secret)| {
            let client = client.clone();
            let url = tickets_url.clone();
            let secret = secret.clone();
            let body = ticket(i);
            let start = start.clone();
            let limited = limited.clone();
            tokio::spawn(async move {
                start.wait().await;
                let (receipt, n) =
                    post_until_accepted(&client, &url, Some(&secret), &body, i as u64).await?;
                limited.fetch_add(n, Ordering::Relaxed);
                anyhow::Ok((
                    body["client_id"].as_str().unwrap_or_default().to_owned(),
                    receipt,
                ))
            })
        })
        .collect();
    let mut sent = Vec::with_capacity(agents);
    for t in tasks {
        sent.push(t.await??);
    }
    let took = t0.elapsed();
    let limited = limited.load(Ordering::Relaxed);
    eprintln!(
        "{agents} agents: all accepted in {took:?}; {limited} answers were 429 with Retry-After"
    );
    assert!(
        limited > 0,
        "a herd against max_in_flight=8 must see 429s with Retry-After"
    );

    let listed = tokio::task::block_in_place(|| server.tickets())?;
    assert_eq!(listed.len(), agents, "exactly one ticket per agent");
    let ids: HashSet<&str> = listed
        .iter()
        .filter_map(|t| t["client_id"].as_str())
        .collect();
    for (id, receipt) in &sent {
        assert!(ids.contains(id.as_str()), "{id} missing");
        assert_eq!(receipt["client_id"].as_str(), Some(id.as_str()));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn authorisation_matrix() -> Result<()> {
    let server = tokio::task::block_in_place(Server::start)?;
    let (owner, other, revoked) = (Agent::new()?, Agent::new()?, Agent::new()?);
    let spare = Agent::new()?;
    let token = tokio::task::block_in_place(|| server.enroll_token("e2e"))?;
    for a in [&owner, &other, &revoked, &spare] {
        tokio::task::block_in_place(|| a.enroll(&server.url, &token))?;
    }
    let (id, number) = tokio::task::block_in_place(|| file_and_sync(&owner, "printer", "Jammed"))?;
    let api = Api::new(&server.url);
    let tech = tokio::task::block_in_place(|| server.tech_token("Sam"))?;
    let (_, rnum) = tokio::task::block_in_place(|| file_and_sync(&revoked, "other", "x"))?;
    let admin = tokio::task::block_in_place(|| server.admin_token("admin@example.org"))?;
    api.revoke_device_of(&admin, rnum).await?;
    let departed = tokio::task::block_in_place(|| {
        let token = server.tech_token("Departed")?;
        let listed = server.cli(&["tech-token", "list", "--json"])?;
        let rows: Vec<Value> = serde_json::from_str(&listed)?;
        let id = rows
            .iter()
            .find(|r| r["user_email"] == "Departed")
            .and_then(|r| r["id"].as_i64())
            .context("the token is listed")?;
        server.cli(&["tech-token", "revoke", "--id", &id.to_string()])?;
        anyhow::Ok(token)
    })?;
    let spare_device = spare.device_id()?;

    let creds: Vec<(&str, String)> = vec![
        ("none", String::new()),
        ("garbage", "not-a-secret".into()),
        ("owner", owner.secret()?),
        ("other device", other.secret()?),
        ("revoked device", revoked.secret()?),
        ("technician", tech.clone()),
        ("admin", admin.clone()),
        ("revoked technician token", departed),
    ];
    let msg = json!({"client_id": uuid::Uuid::now_v7(), "created_at": "2026-11-28T09:00:00Z", "body": "hi"});
    // Expected status per credential in the order above: a device's own read, the agent API,
    // the technician API.
    const OWN: [u16; 8] = [401, 401, 200, 404, 403, 401, 401, 401];
    const AGENT: [u16; 8] = [401, 401, 200, 200, 403, 401, 401, 401];
    const TECH: [u16; 8] = [401, 401, 401, 401, 401, 200, 200, 401];
    const ADMIN: [u16; 8] = [401, 401, 401, 401, 401, 403, 200, 401];
    let created = |codes: [u16; 8]| codes.map(|c| if c == 200 { 201 } else { c });
    let tech_ticket = format!("/api/v1/tech/tickets/{number}");
    // (method, path, body, expected statuses)
    let cases: Vec<(&str, String, Option<Value>, [u16; 8])> = vec![
        ("GET", format!("/api/v1/tickets/{id}"), None, OWN),
        (
            "POST",
            format!("/api/v1/tickets/{id}/messages"),
            Some(msg),
            created(OWN),
        ),
        (
            "POST",
            "/api/v1/tickets".into(),
            Some(ticket(1)),
            created(AGENT),
        ),
        ("GET", "/api/v1/updates?cursor=0".into(), None, AGENT),
        ("GET", "/api/v1/kb?since=0".into(), None, AGENT),
        ("GET", "/api/v1/announcements".into(), None, AGENT),
        ("GET", "/api/v1/tech/tickets".into(), None, TECH),
        ("GET", tech_ticket.clone(), None, TECH),
        (
            "POST",
            format!("{tech_ticket}/reply"),
            Some(json!({"body": "ok"})),
            TECH,
        ),
        (
            "POST",
            format!("{tech_ticket}/status"),
            Some(json!({"status": "in_progress"})),
            TECH,
        ),
        // Last: the admin's 200 revokes the spare device.
        (
            "POST",
            format!("/api/v1/tech/devices/{spare_device}/revoke"),
            None,
            ADMIN,
        ),
    ];
    let mut failures = Vec::new();
    for (method, path, body, want) in &cases {
        for ((who, secret), want) in creds.iter().zip(want) {
            let method = match *method {
                "GET" => reqwest::Method::GET,
                _ => reqwest::Method::POST,
            };
            let mut req = api.request(method.clone(), path, secret);
            if let Some(b) = body {
                // A fresh client id each time, so idempotency does not hide a second create.
                let mut b = b.clone();
                if b.get("client_id").is_some() {
                    b["client_id"] = json!(uuid::Uuid::now_v7());
                }
                req = req.json(&b);
            }
            let resp = req.send().await?;
            let got = resp.status().as_u16();
            if got != *want {
                failures.push(format!("{method} {path} as {who}: got {got}, want {want}"));
            }
            if got >= 400 {
                let v: Value = resp.json().await.unwrap_or(Value::Null);
                if !is_error_shape(&v) {
                    failures.push(format!("{method} {path} as {who}: error body {v}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorisation matrix:\n{}",
        failures.join("\n")
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_drip_bodies_time_out_while_others_are_served() -> Result<()> {
    let server = tokio::task::block_in_place(|| {
        Server::start_with(&[("HANDRAISE_SERVER_REQUEST_TIMEOUT_SECS", "3")])
    })?;
    let agent = Agent::new()?;
    tokio::task::block_in_place(|| agent.enroll(&server.url, &server.enroll_token("e2e")?))?;
    let secret = agent.secret()?;
    let addr = format!("127.0.0.1:{}", server.port);

    // Ten connections each promise 10 kB and send a byte a second.
    let mut drips = Vec::new();
    for _ in 0..10 {
        let mut s = tokio::net::TcpStream::connect(&addr).await?;
        let head = format!(
            "POST /api/v1/tickets HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {secret}\r\ncontent-type: application/json\r\ncontent-length: 10000\r\n\r\n{{"
        );
        s.write_all(head.as_bytes()).await?;
        drips.push(tokio::spawn(async move {
            let t = Instant::now();
            let mut answer = Vec::new();
            for _ in 0..30 {
                if s.write_all(b" ").await.is_err() {
                    break;
                }
                let mut buf = [0u8; 512];
                match tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => break,
                    Ok(Ok(n)) => {
                        answer.extend_from_slice(&buf[..n]);
                        break;
                    }
                    Err(_) => {}
                }
            }
            (String::from_utf8_lossy(&answer).into_owned(), t.elapsed())
        }));
    }
    // Meanwhile the server answers everyone else.
    let api = Api::new(&server.url);
    for i in 0..5 {
        let (code, body) = api.post("/api/v1/tickets", &secret, ticket(i)).await?;
        assert_eq!(code, 201, "{body}");
    }
    for d in drips {
        let (answer, took) = d.await?;
        assert!(
            took < Duration::from_secs(20),
            "a slow body is cut off, not held forever"
        );
        if !answer.is_empty() {
            assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_built_to_hurt_the_parser_get_4xx() -> Result<()> {
    let server = tokio::task::block_in_place(Server::start)?;
    let agent = Agent::new()?;
    tokio::task::block_in_place(|| agent.enroll(&server.url, &server.enroll_token("e2e")?))?;
    let secret = agent.secret()?;
    let api = Api::new(&server.url);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let mut deep_field = ticket(0);
    deep_field["snapshot"] = json!({"schema_version": 1});
    let deep_field = serde_json::to_string(&deep_field)?.replace(
        "\"schema_version\":1",
        &format!(
            "\"schema_version\":1,\"x\":{}{}",
            "{\"a\":".repeat(5000),
            "}".repeat(5000)
        ),
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("deeply nested array", deep.into_bytes()),
        ("deeply nested object in a field", deep_field.into_bytes()),
        ("invalid utf-8", b"{\"client_id\":\"\xff\xfe\"}".to_vec()),
        ("nul bytes", b"\0\0\0\0".to_vec()),
        ("number overflow", br#"{"client_id":"01936a4e-7d2c-7b4a-9f00-0123456789ab","created_at":"2026-11-28T09:00:00Z","category":"app","summary":"x","announcement_id":1e999}"#.to_vec()),
        ("bad date", br#"{"client_id":"01936a4e-7d2c-7b4a-9f00-0123456789ab","created_at":"yesterday","category":"app","summary":"x"}"#.to_vec()),
    ];
    for (name, body) in cases {
        let (code, err) = api
            .raw("/api/v1/tickets", &secret, "application/json", body)
            .await?;
        assert!((400..500).contains(&code), "{name}: got {code}");
        assert!(err["code"].is_string(), "{name}: {err}");
    }
    assert_eq!(api.health().await?, 200, "still serving");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_enrollment_token_enrolls_nobody_and_enrolled_devices_keep_working() -> Result<()>
{
    let server = tokio::task::block_in_place(Server::start)?;
    let token = tokio::task::block_in_place(|| server.enroll_token("e2e"))?;
    let agent = Agent::new()?;
    tokio::task::block_in_place(|| agent.enroll(&server.url, &token))?;
    let listed: Vec<Value> = serde_json::from_str(&tokio::task::block_in_place(|| {
        server.cli(&["enroll-token", "list", "--json"])
    })?)?;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(
        !listed[0].to_string().contains(&token),
        "the token itself is never listed"
    );
    let id = listed[0]["id"].as_i64().context("id")?.to_string();
    tokio::task::block_in_place(|| server.cli(&["enroll-token", "revoke", "--id", &id]))?;

    let api = Api::new(&server.url);
    let resp = api
        .client
        .post(format!("{}/api/v1/enroll", server.url))
        .json(&json!({"token": token, "hostname": "late-laptop"}))
        .send()
        .await?;
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await?;
    assert!(is_error_shape(&body), "{body}");

    let id = tokio::task::block_in_place(|| {
        agent.report("printer", "Still works after the token went")
    })?;
    assert!(
        tokio::task::block_in_place(|| agent.sync())?.0,
        "an enrolled device keeps working"
    );
    assert_eq!(tokio::task::block_in_place(|| server.count(&id))?, 1);
    Ok(())
}
