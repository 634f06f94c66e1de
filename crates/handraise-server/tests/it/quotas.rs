//! Per-device daily quotas, and one "me too" / "this fixed it" per device.

use super::{App, Reply, assert_error, ticket_body};
use axum::http::{Method, StatusCode, header};
use handraise_server::service;
use handraise_server::store::TicketStore;
use handraise_server::{AppError, Config};
use serde_json::json;
use uuid::Uuid;

/// A 429 `quota_exceeded` naming `what`, with a `Retry-After` of at most an hour.
fn assert_over_quota(r: &Reply, what: &str) {
    assert_error(r, StatusCode::TOO_MANY_REQUESTS, "quota_exceeded");
    let message = r.body["message"].as_str().unwrap_or_default();
    assert!(message.contains(what), "{message}");
    let retry: u64 = r
        .header(header::RETRY_AFTER)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!((1..=3600).contains(&retry), "Retry-After {retry}");
}

#[tokio::test]
async fn a_device_over_its_daily_tickets_gets_429_but_a_replay_keeps_its_receipt() {
    let app = App::with_config(Config {
        device_tickets_per_day: 2,
        ..Config::default()
    });
    let (a, b) = app.two_devices().await;
    let first = ticket_body("one");
    let r = app.post("/api/v1/tickets", &a, first.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let receipt = r.body.clone();
    app.ticket(&a, "two").await;
    let r = app.post("/api/v1/tickets", &a, ticket_body("three")).await;
    assert_over_quota(&r, "2 tickets");
    // The idempotent replay of an accepted ticket answers its first receipt, over quota.
    let r = app.post("/api/v1/tickets", &a, first).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, receipt);
    // Nothing of the refused one was stored; another device has its own quota.
    assert_eq!(app.store.list_tickets(None).expect("list").len(), 2);
    app.ticket(&b, "other device").await;
}

#[tokio::test]
async fn messages_and_screenshot_bytes_have_daily_quotas_and_repeats_do_not_count() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let app = App::with_config(Config {
        device_messages_per_day: 1,
        device_screenshot_bytes_per_day: (png.len() * 2) as u64,
        ..Config::default()
    });
    let (_, a) = app.device(None, None).await;
    let (cid, _) = app.ticket(&a, "ticket").await;
    let url = format!("/api/v1/tickets/{cid}/messages");
    let msg =
        |id: Uuid| json!({"client_id": id, "created_at": "2026-03-02T08:00:00Z", "body": "hi"});
    let first = Uuid::now_v7();
    assert_eq!(
        app.post(&url, &a, msg(first)).await.status,
        StatusCode::CREATED
    );
    assert_over_quota(&app.post(&url, &a, msg(Uuid::now_v7())).await, "1 messages");
    assert_eq!(app.post(&url, &a, msg(first)).await.status, StatusCode::OK);

    let shot = format!("/api/v1/tickets/{cid}/screenshot");
    let put = |bytes: Vec<u8>| app.raw(Method::PUT, &shot, &a, "image/png", bytes);
    assert_eq!(put(png.clone()).await.status, StatusCode::OK);
    // The same image again (a retried upload) is not counted twice.
    for _ in 0..3 {
        assert_eq!(put(png.clone()).await.status, StatusCode::OK);
    }
    let mut bigger = png.clone();
    bigger.extend_from_slice(b"more");
    assert_over_quota(&put(bigger).await, "screenshot bytes");
    let mut other = png.clone();
    other[png.len() - 1] = b'R';
    assert_eq!(put(other).await.status, StatusCode::OK, "exactly the quota");
}

#[tokio::test]
async fn quotas_start_again_at_midnight_utc() {
    let app = App::with_config(Config {
        device_tickets_per_day: 1,
        ..Config::default()
    });
    let (id, _) = app.device(None, None).await;
    let device: Uuid = id.parse().expect("device id");
    let quotas = app.state.quotas();
    // 30 s before midnight UTC.
    let late = time::OffsetDateTime::from_unix_timestamp(20_514 * 86_400 + 86_370).expect("time");
    let file = |summary: &str, now| {
        let t: handraise_wire::NewTicket =
            serde_json::from_value(ticket_body(summary)).expect("ticket");
        service::intake::create_ticket(app.state.store(), quotas, device, t, now)
    };
    let retry_after = |r: Result<_, AppError>| match r {
        Err(AppError::QuotaExceeded {
            retry_after_secs, ..
        }) => retry_after_secs,
        other => panic!("expected a quota refusal, got {other:?}"),
    };
    assert!(file("late", late).await.is_ok());
    assert_eq!(retry_after(file("later", late).await), 30, "until midnight");
    let next_day = late + time::Duration::minutes(1);
    assert!(file("next day", next_day).await.is_ok());
    // Early in a day, Retry-After is capped at an hour.
    assert_eq!(retry_after(file("again", next_day).await), 3600);
}

/// The real agent against a server whose quota it passes: the refused ticket stays queued
/// (not rejected) and the agent waits the server's `Retry-After` before trying again.
#[tokio::test]
async fn the_agent_keeps_a_ticket_refused_by_quota_queued_and_waits() {
    use handraise_agent::{Agent, ItemState, ReportInput, SyncError};
    let app = App::with_config(Config {
        device_tickets_per_day: 1,
        ..Config::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(handraise_server::serve(
        listener,
        app.state.clone(),
        std::future::pending(),
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = Agent::open(handraise_agent::Config::with_data_dir(dir.path())).expect("agent");
    agent
        .enroll(&format!("http://{addr}"), &app.enroll_token, None, None)
        .await
        .expect("enroll");
    let input = |s: &str| ReportInput::new(handraise_wire::Category::Wifi, s);
    let first = agent.report(input("one")).await.expect("report");
    let second = agent.report(input("two")).await.expect("report");
    let before = time::OffsetDateTime::now_utc();
    let report = agent.sync_once().await.expect("sync");
    assert_eq!(report.sent_tickets.len(), 1, "{report:?}");
    assert_eq!(report.sent_tickets[0].0, first);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let retry_after = match &report.failure {
        Some(e @ SyncError::Unavailable { status: 429, .. }) => e.retry_after(),
        other => panic!("expected a 429, got {other:?}"),
    };
    let retry_after = retry_after.expect("Retry-After");
    let status = agent.status().await.expect("status");
    let kept = status.tickets.iter().find(|t| t.client_id == second);
    assert_eq!(kept.map(|t| t.state), Some(ItemState::Queued));
    assert_eq!(status.queued.total(), 1);
    // Nothing is tried again before the server's Retry-After.
    let next = status.next_attempt_at.expect("a next attempt");
    assert!(
        next >= before + retry_after,
        "{next} vs {before} + {retry_after:?}"
    );
    let again = agent
        .sync_with(handraise_agent::SyncOptions::background(false))
        .await
        .expect("sync");
    assert!(again.sent_tickets.is_empty(), "{again:?}");
    assert_eq!(again.waiting_until, Some(next));
    server.abort();
}
