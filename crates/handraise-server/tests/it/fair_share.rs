//! Request-level fair share: requests in flight per client address without a valid
//! bearer, and one long-poll per device.

use super::{App, assert_error};
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use handraise_server::Config;
use handraise_testkit::router::{Auth, request, send};
use http_body_util::channel::{Channel, Sender};
use serde_json::json;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// A request from `ip`.
fn from(ip: &str, method: Method, uri: &str, auth: Auth<'_>) -> Request<Body> {
    let mut req = request(method, uri, auth, None, Vec::new()).expect("request");
    let addr = SocketAddr::new(ip.parse().expect("ip"), 40_000);
    req.extensions_mut().insert(ConnectInfo(addr));
    req
}

/// An enrollment from `ip` whose body stays open until the sender is dropped.
fn held_enrollment(ip: &str) -> (Sender<Bytes>, Request<Body>) {
    let (tx, body) = Channel::<Bytes>::new(1);
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/enroll")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::new(body))
        .expect("request");
    let addr = SocketAddr::new(ip.parse().expect("ip"), 40_000);
    req.extensions_mut().insert(ConnectInfo(addr));
    (tx, req)
}

/// Waits (yielding, never sleeping a guessed time) until `done` holds; fails after 10 s.
async fn until(what: &str, done: impl Fn() -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "timed out waiting until {what}");
}

#[tokio::test]
async fn unauthenticated_requests_in_flight_are_capped_per_client_address() {
    let app = App::with_config(Config {
        max_unauthenticated_per_client: 2,
        ..Config::default()
    });
    let (_, device) = app.device(None, None).await;
    let tech = app.tech("Lead");
    let a: IpAddr = "198.51.100.7".parse().expect("ip");
    // Two enrollments from one address, their bodies still coming.
    let mut held = Vec::new();
    for _ in 0..2 {
        let (tx, req) = held_enrollment("198.51.100.7");
        let router = app.router.clone();
        held.push((tx, tokio::spawn(async move { send(&router, req).await })));
    }
    until("both are in flight", || {
        app.state.unauthenticated_in_flight(a) == 2
    })
    .await;
    // A third without a valid bearer from that address is refused, but not another
    // address, nor a device or a technician with a valid bearer.
    let (near, far) = ("198.51.100.7", "198.51.100.8");
    let cases = [
        (near, "/healthz", Auth::None, StatusCode::TOO_MANY_REQUESTS),
        (
            near,
            "/api/v1/kb",
            Auth::Bearer("not-a-secret"),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        (far, "/healthz", Auth::None, StatusCode::OK),
        (near, "/api/v1/kb", Auth::Bearer(&device), StatusCode::OK),
        (
            near,
            "/api/v1/tech/tickets",
            Auth::Bearer(&tech),
            StatusCode::OK,
        ),
    ];
    for (ip, uri, auth, status) in cases {
        let r = send(&app.router, from(ip, Method::GET, uri, auth)).await;
        assert_eq!(r.status, status, "{ip} {uri}: {}", r.body);
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_error(&r, status, "rate_limited");
            assert_eq!(r.header(header::RETRY_AFTER), Some("1"));
        }
    }
    // Once the held requests end, the address may send again.
    for (tx, task) in held {
        drop(tx);
        let r = task.await.expect("held request");
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    }
    assert_eq!(app.state.unauthenticated_in_flight(a), 0);
    let r = send(
        &app.router,
        from("198.51.100.7", Method::GET, "/healthz", Auth::None),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn a_second_long_poll_of_a_device_replaces_the_first() {
    let app = App::new();
    let tech = app.tech("Lead");
    let (_, a) = app.device(None, None).await;
    let (_, b) = app.device(None, None).await;
    let (_, number) = app.ticket(&a, "Projector").await;
    let poll = |secret: &str| {
        let router = app.router.clone();
        let req = request(
            Method::GET,
            "/api/v1/updates?cursor=0&wait=30",
            Auth::Bearer(secret),
            None,
            Vec::new(),
        )
        .expect("request");
        tokio::spawn(async move { send(&router, req).await })
    };
    let first = poll(&a);
    let other = poll(&b);
    until("two devices poll", || app.state.long_polls().len() == 2).await;
    let second = poll(&a);
    // The first answers at once, as an ordinary empty page the agent applies.
    let r = tokio::time::timeout(Duration::from_secs(10), first)
        .await
        .expect("the first long-poll ends when replaced")
        .expect("task");
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["updates"], json!([]), "{}", r.body);
    assert_eq!(
        (&r.body["cursor"], &r.body["more"]),
        (&json!(0), &json!(false))
    );
    // The second (and the other device's) still wait, and get the reply.
    assert!(!second.is_finished() && !other.is_finished());
    assert_eq!(app.state.long_polls().len(), 2);
    let r = app
        .ticket_action(&tech, number, "reply", json!({"body": "On my way"}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = tokio::time::timeout(Duration::from_secs(10), second)
        .await
        .expect("woken by the reply")
        .expect("task");
    assert_eq!(r.body["updates"][0]["message"]["body"], "On my way");
    assert!(
        !other.is_finished(),
        "another device's long-poll is not disturbed"
    );
    other.abort();
}
