//! Handler tests: the real router over an in-memory store, driven with
//! `tower::ServiceExt::oneshot`.

use axum::http::{Method, StatusCode, header};
use handraise_server::store::TicketStore;
use handraise_server::store::now_utc;
use handraise_server::{AppState, Config, SqlStore, Store};
use handraise_testkit::router::{App, Reply, assert_error, ticket_body};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

mod articles;
mod cluster;
mod console;
mod cookies;
mod database;
mod desk;
mod enrollment;
mod fair_share;
mod forwarded;
mod limits;
mod metrics;
mod oidc;
mod pages;
mod pg_tls;
mod proxy;
mod quotas;
mod report;
mod screenshots;
mod signin;
mod tokens;
mod transport;

type R<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[tokio::test]
async fn health_answers_ok() {
    let app = App::new();
    let r = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ok");
    let r = app.call(Method::GET, "/api/v1/nope", None, None).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn enroll_accepts_a_good_token_and_refuses_a_bad_one() {
    let app = App::new();
    let (id, secret) = app.device(Some("Lincoln"), None).await;
    assert!(Uuid::parse_str(&id).is_ok());
    assert_eq!(secret.len(), 64);
    let r = app.enroll(json!({"token": "wrong", "hostname": "x"})).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "invalid_token");
    let r = app
        .enroll(json!({"token": "enroll-me", "hostname": " "}))
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
}

#[tokio::test]
async fn enrollment_is_rate_limited_per_ip() {
    let app = App::with_config(Config {
        enroll_per_minute_per_ip: 2,
        ..Config::default()
    });
    app.device(None, None).await;
    app.device(None, None).await;
    let r = app
        .enroll(json!({"token": "enroll-me", "hostname": "x"}))
        .await;
    assert_error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(r.headers.get(header::RETRY_AFTER).is_some());
}

#[tokio::test]
async fn credentials_are_checked_per_endpoint_family() {
    let app = App::new();
    let (_, secret) = app.device(None, None).await;
    let tech = app.tech("Sam");
    let cases: &[(&str, Option<&str>, StatusCode)] = &[
        ("/api/v1/updates", None, StatusCode::UNAUTHORIZED),
        ("/api/v1/updates", Some("bogus"), StatusCode::UNAUTHORIZED),
        ("/api/v1/updates", Some(&tech), StatusCode::UNAUTHORIZED),
        ("/api/v1/updates", Some(&secret), StatusCode::OK),
        (
            "/api/v1/tech/tickets",
            Some(&secret),
            StatusCode::UNAUTHORIZED,
        ),
        ("/api/v1/tech/tickets", None, StatusCode::UNAUTHORIZED),
        ("/api/v1/tech/tickets", Some(&tech), StatusCode::OK),
    ];
    for (uri, token, want) in cases {
        let r: Reply = app.call(Method::GET, uri, *token, None).await;
        assert_eq!(r.status, *want, "{uri} with {token:?}: {}", r.body);
        if *want == StatusCode::UNAUTHORIZED {
            assert_eq!(r.body["code"], "unauthorized");
        }
    }
}

#[tokio::test]
async fn submit_is_idempotent_by_client_id() {
    let app = App::new();
    let (a, b) = app.two_devices().await;
    let body = ticket_body("  Printer jammed  ");
    let first = app.post("/api/v1/tickets", &a, body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["status"], "new");
    assert_eq!(first.body["client_id"], body["client_id"]);

    let mut changed = body.clone();
    changed["summary"] = json!("something else");
    let again = app.post("/api/v1/tickets", &a, changed).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, first.body, "the same receipt");

    let other = app.post("/api/v1/tickets", &b, body.clone()).await;
    assert_error(&other, StatusCode::CONFLICT, "conflict");

    let cid = body["client_id"].as_str().expect("id");
    let got = app.get(&format!("/api/v1/tickets/{cid}"), &a).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(
        got.body["summary"], "Printer jammed",
        "trimmed, unchanged by the repeat"
    );
    assert_eq!(app.store.list_tickets(None).expect("list").len(), 1);

    // The technician sees what the device sent.
    let tech = app.tech("Sam");
    let n = first.body["number"].as_i64().expect("n");
    let t = app.get(&format!("/api/v1/tech/tickets/{n}"), &tech).await;
    assert_eq!(t.status, StatusCode::OK);
    assert_eq!(t.body["urgency"], "whenever");
    assert_eq!(t.body["scope"], "me");
    assert_eq!(t.body["reporter"]["display_name"], "Ms. Lee");
    assert_eq!(t.body["self_help"][0]["outcome"], "still_broken");
    assert_eq!(t.body["snapshot"]["hostname"], "room-12");
    assert_eq!(t.body["created_at"], "2025-03-04T09:15:00+01:00");
}

#[tokio::test]
async fn another_devices_ticket_is_not_found() {
    let app = App::new();
    let (a, b) = app.two_devices().await;
    let (cid, _) = app.ticket(&a, "Mine").await;
    let r = app.get(&format!("/api/v1/tickets/{cid}"), &b).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let msg =
        json!({"client_id": Uuid::now_v7(), "created_at": "2025-03-04T09:15:00Z", "body": "hi"});
    let r = app
        .post(&format!("/api/v1/tickets/{cid}/messages"), &b, msg.clone())
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = app
        .get(&format!("/api/v1/tickets/{}", Uuid::now_v7()), &a)
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = app.get("/api/v1/tickets/not-a-uuid", &a).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");

    // The owner posts: 201 then 200 on a repeat; it shows in the ticket.
    let uri = format!("/api/v1/tickets/{cid}/messages");
    let r = app.post(&uri, &a, msg.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r2 = app.post(&uri, &a, msg).await;
    assert_eq!(r2.status, StatusCode::OK);
    assert_eq!(r2.body, r.body);
    let got = app.get(&format!("/api/v1/tickets/{cid}"), &a).await;
    assert_eq!(got.body["messages"][0]["author"], "teacher");
    assert_eq!(got.body["messages"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn bad_bodies_get_json_errors() {
    let app = App::with_config(Config {
        json_body_limit_bytes: 64 * 1024,
        ..Config::default()
    });
    let (_, secret) = app.device(None, None).await;
    let with = |f: &dyn Fn(&mut Value)| {
        let mut t = ticket_body("ok");
        f(&mut t);
        serde_json::to_vec(&t).expect("json")
    };
    let cases: Vec<(&str, &str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "malformed",
            "application/json",
            b"{\"client_id\": ".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "not utf-8",
            "application/json",
            b"\xff\xfe".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "missing field",
            "application/json",
            b"{}".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "text/plain",
            "text/plain",
            with(&|_| {}),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "oversize",
            "application/json",
            with(&|t| t["details"] = json!("x".repeat(100_000))),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "empty summary",
            "application/json",
            with(&|t| t["summary"] = json!("   ")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            "long summary",
            "application/json",
            with(&|t| t["summary"] = json!("é".repeat(201))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            "long details",
            "application/json",
            with(&|t| t["details"] = json!("d".repeat(20_001))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
    ];
    for (name, ctype, body, status, code) in cases {
        let r = app
            .raw(Method::POST, "/api/v1/tickets", &secret, ctype, body)
            .await;
        assert_eq!(r.status, status, "{name}: {}", r.body);
        assert_eq!(r.body["code"], code, "{name}: {}", r.body);
        assert!(r.body["message"].is_string(), "{name}");
    }
    // Exactly 200 characters (multi-byte) is fine.
    let r = app
        .post("/api/v1/tickets", &secret, ticket_body(&"é".repeat(200)))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(app.store.list_tickets(None).expect("list").len(), 1);
}

#[tokio::test]
async fn revoked_device_is_forbidden() {
    let app = App::new();
    let (id, secret) = app.device(None, None).await;
    let tech = app.admin_tech("lead@example.org");
    let r = app
        .post_empty(&format!("/api/v1/tech/devices/{id}/revoke"), &tech)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["revoked"], true);
    let r = app.post("/api/v1/tickets", &secret, ticket_body("x")).await;
    assert_error(&r, StatusCode::FORBIDDEN, "device_revoked");
    let r = app
        .post_empty(
            &format!("/api/v1/tech/devices/{}/revoke", Uuid::now_v7()),
            &tech,
        )
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn tech_changes_reach_only_the_owning_device_feed() {
    let app = App::new();
    let (a, b) = app.two_devices().await;
    let (cid, n) = app.ticket(&a, "Projector dead").await;
    app.ticket(&b, "Other").await;
    let tech = app.tech("Sam Rivera");

    let r = app
        .ticket_action(&tech, n, "assign", json!({"assignee": "Sam Rivera"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "assigned");
    assert_eq!(r.body["assignee"], "Sam Rivera");
    let r = app
        .ticket_action(&tech, n, "status", json!({"status": "in_progress"}))
        .await;
    assert_eq!(r.body["status"], "in_progress");
    let r = app
        .ticket_action(&tech, n, "note", json!({"body": "secret note"}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["kind"] == "note"))
    );
    let r = app
        .ticket_action(&tech, n, "reply", json!({"body": "On my way"}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .ticket_action(&tech, n, "reply", json!({"body": " "}))
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    let r = app
        .post(
            "/api/v1/tech/tickets/999999/status",
            &tech,
            json!({"status": "closed"}),
        )
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");

    let page = app.get("/api/v1/updates?cursor=0", &a).await;
    assert_eq!(page.status, StatusCode::OK);
    let updates = page.body["updates"].as_array().expect("updates").clone();
    let kinds: Vec<&str> = updates
        .iter()
        .map(|u| u["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["status", "status", "reply"], "{}", page.body);
    assert_eq!(updates[0]["status"], "assigned");
    assert_eq!(updates[0]["assignee"], "Sam Rivera");
    assert_eq!(updates[1]["status"], "in_progress");
    assert_eq!(updates[2]["message"]["body"], "On my way");
    assert_eq!(updates[2]["message"]["author"], "technician");
    assert_eq!(updates[2]["message"]["author_name"], "Sam Rivera");
    assert!(
        updates
            .iter()
            .all(|u| u["ticket_client_id"] == cid.as_str() && u["ticket_number"] == n)
    );
    assert!(!page.body.to_string().contains("secret note"));
    assert_eq!(page.body["cursor"], updates[2]["seq"]);
    assert_eq!(page.body["more"], false);

    // Cursor past the end: empty page keeps the cursor.
    let cursor = page.body["cursor"].as_i64().expect("cursor");
    let next = app
        .get(&format!("/api/v1/updates?cursor={cursor}"), &a)
        .await;
    assert_eq!(next.body["updates"], json!([]));
    assert_eq!(next.body["cursor"], cursor);

    let other = app.get("/api/v1/updates?cursor=0", &b).await;
    assert_eq!(other.body["updates"], json!([]), "{}", other.body);

    let got = app.get(&format!("/api/v1/tickets/{cid}"), &a).await;
    assert_eq!(got.body["status"], "in_progress");
    assert_eq!(got.body["assignee"], "Sam Rivera");
    assert!(
        !got.body.to_string().contains("secret note"),
        "{}",
        got.body
    );
    assert_eq!(got.body["messages"].as_array().map(Vec::len), Some(1));

    let list = app
        .get("/api/v1/tech/tickets?status=in_progress", &tech)
        .await;
    assert_eq!(list.body["tickets"].as_array().map(Vec::len), Some(1));
    let list = app.get("/api/v1/tech/tickets", &tech).await;
    assert_eq!(list.body["tickets"].as_array().map(Vec::len), Some(2));
    let bad = app.get("/api/v1/tech/tickets?status=bogus", &tech).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "bad_request");
}

#[tokio::test]
async fn updates_page_has_at_most_100_and_says_more() {
    let app = App::new();
    let (_, a) = app.device(None, None).await;
    let (_, n) = app.ticket(&a, "Busy").await;
    for i in 0..105 {
        let sam = handraise_server::store::Technician {
            id: 0,
            name: "Sam".into(),
        };
        handraise_server::service::tickets::reply(
            app.state.store(),
            &handraise_server::service::FeedNotifier::default(),
            &sam,
            n,
            &format!("r{i}"),
            now_utc(),
        )
        .await
        .expect("reply");
    }
    let p1 = app.get("/api/v1/updates?cursor=0", &a).await;
    assert_eq!(p1.body["updates"].as_array().map(Vec::len), Some(100));
    assert_eq!(p1.body["more"], true);
    let c = p1.body["cursor"].as_i64().expect("cursor");
    let p2 = app.get(&format!("/api/v1/updates?cursor={c}"), &a).await;
    assert_eq!(p2.body["updates"].as_array().map(Vec::len), Some(5));
    assert_eq!(p2.body["more"], false);
    assert_eq!(p2.body["updates"][4]["message"]["body"], "r104");
}

#[tokio::test]
async fn long_poll_returns_when_a_reply_arrives() {
    let app = Arc::new(App::new());
    let (_, a) = app.device(None, None).await;
    let (_, n) = app.ticket(&a, "Laptop").await;
    let tech = app.tech("Sam");
    let poller = {
        let app = app.clone();
        let a = a.clone();
        tokio::spawn(async move {
            let t = Instant::now();
            let r = app.get("/api/v1/updates?cursor=0&wait=30", &a).await;
            (r, t.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poller.is_finished(), "the poll waits while nothing is new");
    let r = app
        .post(
            &format!("/api/v1/tech/tickets/{n}/reply"),
            &tech,
            json!({"body": "Try the power button"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let (page, waited) = tokio::time::timeout(Duration::from_secs(20), poller)
        .await
        .expect("poll returned")
        .expect("task");
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body["updates"][0]["type"], "reply", "{}", page.body);
    assert_eq!(
        page.body["updates"][0]["message"]["body"],
        "Try the power button"
    );
    assert!(
        waited < Duration::from_secs(20),
        "woken by the reply: {waited:?}"
    );
}

#[tokio::test]
async fn long_poll_ends_at_shutdown_and_new_requests_get_503() {
    let app = Arc::new(App::new());
    let (_, a) = app.device(None, None).await;
    let poller = {
        let app = app.clone();
        tokio::spawn(async move { app.get("/api/v1/updates?cursor=0&wait=30", &a).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.state.begin_shutdown();
    let page = tokio::time::timeout(Duration::from_secs(10), poller)
        .await
        .expect("poll ended with shutdown")
        .expect("task");
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body["updates"], json!([]));
    let h = app.call(Method::GET, "/healthz", None, None).await;
    assert_error(&h, StatusCode::SERVICE_UNAVAILABLE, "shutting_down");
    assert!(h.headers.get(header::RETRY_AFTER).is_some());
}

#[tokio::test]
async fn per_device_rate_limit_answers_429_with_retry_after() {
    let app = App::with_config(Config {
        device_burst: 3,
        device_per_second: 0.2,
        ..Config::default()
    });
    let (a, b) = app.two_devices().await;
    for _ in 0..3 {
        let r = app.get("/api/v1/kb", &a).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = app.get("/api/v1/kb", &a).await;
    assert_error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("secs");
    assert!((1..=5).contains(&retry), "{retry}");
    // Another device is unaffected.
    let r = app.get("/api/v1/kb", &b).await;
    assert_eq!(r.status, StatusCode::OK);
}

/// A ticket links only to an announcement its device could have seen: one that has started
/// and is for its school (it may have ended since: the ticket may have waited offline).
/// Any other link is dropped and the ticket kept.
#[tokio::test]
async fn a_ticket_links_only_to_an_announcement_its_device_saw() {
    let app = App::new();
    let tech = app.tech("Lead");
    let (_, lincoln) = app.device(Some("Lincoln"), None).await;
    let mut ids = std::collections::HashMap::new();
    for (title, extra) in [
        ("district", json!({})),
        ("lincoln", json!({"school": "Lincoln"})),
        ("roosevelt", json!({"school": "Roosevelt"})),
        ("future", json!({"starts_at": "2999-01-01T00:00:00Z"})),
        ("ended", json!({})),
    ] {
        let mut body = json!({"kind": "outage", "title": title, "message": "We know"});
        body.as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        let r = app.post("/api/v1/tech/announcements", &tech, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        ids.insert(title, r.body["id"].as_i64().expect("id"));
    }
    let r = app
        .post_empty(
            &format!("/api/v1/tech/announcements/{}/end", ids["ended"]),
            &tech,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let cases = [
        (Some(ids["district"]), Some(ids["district"])),
        (Some(ids["lincoln"]), Some(ids["lincoln"])),
        (Some(ids["ended"]), Some(ids["ended"])),
        (Some(ids["roosevelt"]), None),
        (Some(ids["future"]), None),
        (Some(999_999), None),
        (None, None),
    ];
    for (sent, kept) in cases {
        let mut body = ticket_body("Projector out");
        body["announcement_id"] = json!(sent);
        let r = app.post("/api/v1/tickets", &lincoln, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{sent:?}: {}", r.body);
        let n = r.body["number"].as_i64().expect("number");
        let detail = app.store.ticket_detail(n).expect("read").expect("ticket");
        assert_eq!(detail.ticket.announcement_id, kept, "sent {sent:?}");
    }
}

#[tokio::test]
async fn announcements_are_scoped_to_school_and_building() {
    let app = App::new();
    let tech = app.tech("Lead");
    let (_, lincoln_a) = app.device(Some("Lincoln"), Some("A")).await;
    let (_, lincoln_b) = app.device(Some("Lincoln"), Some("B")).await;
    let (_, other) = app.device(Some("Roosevelt"), None).await;
    let (_, nowhere) = app.device(None, None).await;
    let make = |title: &str, school: Option<&str>, building: Option<&str>| json!({"kind": "outage", "title": title, "message": "We know", "school": school, "building": building});
    for body in [
        make("district", None, None),
        make("lincoln", Some("Lincoln"), None),
        make("lincoln-b", Some("Lincoln"), Some("B")),
        make("roosevelt", Some("Roosevelt"), None),
        json!({"kind": "notice", "title": "future", "message": "m", "starts_at": "2999-01-01T00:00:00Z"}),
    ] {
        let r = app.post("/api/v1/tech/announcements", &tech, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let ended = app
        .post(
            "/api/v1/tech/announcements",
            &tech,
            make("ended", None, None),
        )
        .await;
    let id = ended.body["id"].as_i64().expect("id");
    let r = app
        .post_empty(&format!("/api/v1/tech/announcements/{id}/end"), &tech)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["ends_at"].is_string());

    let cases: [(&str, &[&str]); 4] = [
        (&lincoln_a, &["district", "lincoln"]),
        (&lincoln_b, &["district", "lincoln", "lincoln-b"]),
        (&other, &["district", "roosevelt"]),
        (&nowhere, &["district"]),
    ];
    for (secret, want) in cases {
        let r = app.get("/api/v1/announcements", secret).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body["server_time"].is_string());
        let mut titles: Vec<&str> = r.body["announcements"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|a| a["title"].as_str())
            .collect();
        titles.sort();
        assert_eq!(titles, want);
    }
}

#[tokio::test]
async fn kb_since_version_includes_unpublished() {
    let app = App::new();
    let tech = app.tech("Lead");
    let (_, a) = app.device(None, None).await;
    let article = |slug: &str, title: &str| json!({"slug": slug, "title": title, "body": "1. Turn it off and on", "categories": ["wifi"], "keywords": ["network"]});
    let r = app
        .post(
            "/api/v1/tech/kb",
            &tech,
            article("wifi-reset", "Reset Wi-Fi"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .post("/api/v1/tech/kb", &tech, article("wifi-reset", "Again"))
        .await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    let r = app
        .post("/api/v1/tech/kb", &tech, article("Bad Slug", "x"))
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    app.post(
        "/api/v1/tech/kb",
        &tech,
        article("printer-jam", "Clear a jam"),
    )
    .await;

    let all = app.get("/api/v1/kb?since=0", &a).await;
    assert_eq!(all.body["articles"].as_array().map(Vec::len), Some(2));
    let v = all.body["version"].as_i64().expect("version");

    let r = app
        .call(
            Method::PUT,
            "/api/v1/tech/kb/printer-jam",
            Some(&tech),
            Some(article("printer-jam", "Clear a paper jam")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["version"].as_i64().expect("v") > v);
    let r = app
        .post_empty("/api/v1/tech/kb/wifi-reset/unpublish", &tech)
        .await;
    assert_eq!(r.body["published"], false);

    let changed = app.get(&format!("/api/v1/kb?since={v}"), &a).await;
    let arts = changed.body["articles"].as_array().expect("articles");
    assert_eq!(arts.len(), 2, "{}", changed.body);
    let find = |slug: &str| arts.iter().find(|x| x["slug"] == slug).expect("present");
    assert_eq!(find("printer-jam")["title"], "Clear a paper jam");
    assert_eq!(find("wifi-reset")["published"], false);
    let v2 = changed.body["version"].as_i64().expect("version");
    let none = app.get(&format!("/api/v1/kb?since={v2}"), &a).await;
    assert_eq!(none.body["articles"], json!([]));
    let r = app
        .post_empty("/api/v1/tech/kb/missing/unpublish", &tech)
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
}

/// A draft never reaches a device: an unpublished article is sent as its slug alone (so
/// caches drop it), and not at all to a device fetching everything.
#[tokio::test]
async fn unpublished_articles_do_not_reach_devices() {
    let app = App::new();
    let tech = app.tech("Lead");
    let (_, a) = app.device(None, None).await;
    let article = |slug: &str, published: bool| json!({"slug": slug, "title": "Secret plan", "body": "1. Draft", "categories": ["wifi"], "keywords": ["draft"], "published": published});
    for (slug, published) in [("live", true), ("draft", false), ("withdrawn", true)] {
        let r = app
            .post("/api/v1/tech/kb", &tech, article(slug, published))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let v = app.get("/api/v1/kb?since=0", &a).await.body["version"]
        .as_i64()
        .expect("version");
    let r = app
        .post_empty("/api/v1/tech/kb/withdrawn/unpublish", &tech)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let slugs = |body: &serde_json::Value| -> Vec<String> {
        body["articles"]
            .as_array()
            .expect("articles")
            .iter()
            .filter_map(|x| x["slug"].as_str().map(str::to_owned))
            .collect()
    };
    let all = app.get("/api/v1/kb?since=0", &a).await;
    assert_eq!(slugs(&all.body), ["live"], "{}", all.body);
    let changed = app.get(&format!("/api/v1/kb?since={v}"), &a).await;
    let arts = changed.body["articles"].as_array().expect("articles");
    assert_eq!(arts.len(), 1, "{}", changed.body);
    assert_eq!(arts[0]["slug"], "withdrawn");
    assert_eq!(arts[0]["published"], false);
    for key in ["title", "body"] {
        assert_eq!(arts[0][key], "", "{key}: {}", changed.body);
    }
    assert_eq!(arts[0]["keywords"], json!([]));
}

#[tokio::test]
async fn serve_binds_answers_and_drains_on_shutdown() -> R {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let store = Arc::new(handraise_testkit::router::test_store());
    let state = AppState::new(store as Arc<dyn Store>, Config::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(handraise_server::serve(listener, state, async move {
        let _ = stop_rx.await;
    }));
    let mut conn = tokio::net::TcpStream::connect(addr).await?;
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await?;
    let mut text = String::new();
    conn.read_to_string(&mut text).await?;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("\"status\":\"ok\""), "{text}");
    let _ = stop_tx.send(());
    tokio::time::timeout(Duration::from_secs(10), server).await???;
    Ok(())
}

/// Intake throughput over real TCP with keep-alive connections, one device
/// per connection. Run with
/// `cargo test --release -p handraise-server --test it -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark"]
async fn intake_throughput() -> R {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    const DEVICES: usize = 64;
    const PER_DEVICE: usize = 100;
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqlStore::open(&dir.path().join("bench.db"))?);
    let config = Config {
        enroll_per_minute_per_ip: 1000,
        ..Config::default()
    };
    let app = App::over(store.clone(), config);
    let state = app.state.clone();
    let mut secrets = Vec::new();
    for _ in 0..DEVICES {
        secrets.push(app.device(None, None).await.1);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(handraise_server::serve(
        listener,
        state,
        std::future::pending(),
    ));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for secret in secrets {
        tasks.push(tokio::spawn(async move {
            let conn = tokio::net::TcpStream::connect(addr).await?;
            let (rd, mut wr) = conn.into_split();
            let mut rd = BufReader::new(rd);
            for i in 0..PER_DEVICE {
                let body = serde_json::to_vec(&ticket_body(&format!("bench {i}")))?;
                let head = format!(
                    "POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {secret}\r\n\
                     Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                wr.write_all(head.as_bytes()).await?;
                wr.write_all(&body).await?;
                let mut status = String::new();
                rd.read_line(&mut status).await?;
                assert!(status.starts_with("HTTP/1.1 201"), "{status}");
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    rd.read_line(&mut line).await?;
                    if line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse()?;
                    }
                }
                let mut buf = vec![0; len];
                rd.read_exact(&mut buf).await?;
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let elapsed = start.elapsed();
    let total = DEVICES * PER_DEVICE;
    println!(
        "{total} tickets in {elapsed:?}: {:.0} tickets/s",
        total as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(store.list_tickets(None)?.len(), total);
    server.abort();
    Ok(())
}
