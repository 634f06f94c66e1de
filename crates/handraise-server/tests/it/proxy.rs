//! The client address behind a reverse proxy: `X-Forwarded-For` is believed only from the
//! `trusted_proxies`, and every limit keyed by client address (enrollment, sign-in) uses it.

use super::console::{enc, user};
use axum::extract::ConnectInfo;
use axum::http::{Method, StatusCode};
use handraise_server::Config;
use handraise_server::store::Role;
use handraise_testkit::router::{App, Auth, Reply, request};
use serde_json::json;
use std::net::SocketAddr;

/// The reverse proxy of these tests.
pub(crate) const PROXY: &str = "127.0.0.1:40000";
/// Another peer, not a trusted proxy.
pub(crate) const STRANGER: &str = "127.0.0.2:40000";

/// The router with [`PROXY`] trusted.
pub(crate) fn app(config: Config) -> App {
    App::with_config(Config {
        trusted_proxies: "127.0.0.1/32".parse().expect("networks"),
        ..config
    })
}

/// A POST from TCP peer `peer` with `X-Forwarded-For: forwarded`.
async fn post_from(
    app: &App,
    peer: &str,
    forwarded: &str,
    uri: &str,
    (auth, content_type, body): (Auth<'_>, &str, Vec<u8>),
) -> Reply {
    let mut req = request(Method::POST, uri, auth, Some(content_type), body).expect("request");
    let peer: SocketAddr = peer.parse().expect("address");
    req.extensions_mut().insert(ConnectInfo(peer));
    req.headers_mut()
        .insert("x-forwarded-for", forwarded.parse().expect("header value"));
    app.send(req).await
}

async fn enroll_from(app: &App, peer: &str, forwarded: &str) -> StatusCode {
    let body = json!({"token": app.enroll_token, "hostname": "room-12"}).to_string();
    let req = (Auth::None, "application/json", body.into_bytes());
    post_from(app, peer, forwarded, "/api/v1/enroll", req)
        .await
        .status
}

#[tokio::test]
async fn enrollment_is_limited_per_forwarded_address_only_from_a_trusted_proxy() {
    let app = app(Config {
        enroll_per_minute_per_ip: 1,
        ..Config::default()
    });
    let (created, limited) = (StatusCode::CREATED, StatusCode::TOO_MANY_REQUESTS);
    let steps = [
        // Through the proxy, two schools' clients each get their own allowance...
        (PROXY, "203.0.113.7", created),
        (PROXY, "203.0.113.7", limited),
        // ...keyed by the rightmost untrusted hop, not what the client wrote left of it.
        (PROXY, "198.51.100.1, 203.0.113.8", created),
        // From a peer that is not a trusted proxy the header is ignored: one allowance.
        (STRANGER, "203.0.113.9", created),
        (STRANGER, "203.0.113.10", limited),
    ];
    for (peer, forwarded, want) in steps {
        let got = enroll_from(&app, peer, forwarded).await;
        assert_eq!(got, want, "from {peer} for {forwarded}");
    }
}

#[tokio::test]
async fn failed_sign_ins_count_per_forwarded_address_only_from_a_trusted_proxy() {
    let app = app(Config {
        signin_max_failures: 1,
        ..Config::default()
    });
    for email in ["ada@", "tom@", "eve@", "bob@"].map(|n| format!("{n}example.org")) {
        user(&app, &email, &email, Role::Technician).await;
    }
    let sign_in = |peer: &'static str, forwarded: &'static str, email: &'static str| {
        let form = format!("csrf=x&email={}&password=wrong-password-1", enc(email));
        let app = &app;
        async move {
            let req = (
                Auth::Cookie("hr_signin=x"),
                "application/x-www-form-urlencoded",
                form.into_bytes(),
            );
            post_from(app, peer, forwarded, "/console/sign-in", req)
                .await
                .status
        }
    };
    let (refused, slowed) = (StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS);
    let steps = [
        // One failure from 203.0.113.7 (through the proxy) slows that address down...
        (PROXY, "203.0.113.7", "ada@example.org", refused),
        (PROXY, "203.0.113.7", "tom@example.org", slowed),
        // ...and no other client of the same proxy.
        (PROXY, "203.0.113.8", "tom@example.org", refused),
        // A stranger's header is ignored: its failures count against the stranger itself.
        (STRANGER, "203.0.113.9", "eve@example.org", refused),
        (STRANGER, "203.0.113.10", "bob@example.org", slowed),
    ];
    for (peer, forwarded, email, want) in steps {
        let got = sign_in(peer, forwarded, email).await;
        assert_eq!(got, want, "{email} from {peer} for {forwarded}");
    }
}
