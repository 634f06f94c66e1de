//! Console cookies behind a proxy: `X-Forwarded-Proto` / `Forwarded` make them `Secure`
//! and `__Host-` only from a trusted proxy; `always_secure_cookies` makes them so always.
//! (Over the server's own TLS: `transport.rs`.)

use super::console::{PASSWORD, enc, user};
use super::proxy::{PROXY, STRANGER, app};
use axum::extract::ConnectInfo;
use axum::http::{Method, StatusCode, header};
use handraise_server::Config;
use handraise_server::store::Role;
use handraise_testkit::router::{App, Auth, Reply, request};
use std::net::SocketAddr;

/// A request from TCP peer `peer` with the header `forwarded` (name, value), if any.
async fn from(
    app: &App,
    peer: &str,
    forwarded: Option<(&'static str, &str)>,
    (method, uri, cookie, form): (Method, &str, &str, &str),
) -> Reply {
    let (auth, content_type) = if cookie.is_empty() {
        (Auth::None, None)
    } else {
        (
            Auth::Cookie(cookie),
            Some("application/x-www-form-urlencoded"),
        )
    };
    let mut req =
        request(method, uri, auth, content_type, form.as_bytes().to_vec()).expect("request");
    req.extensions_mut()
        .insert(ConnectInfo(peer.parse::<SocketAddr>().expect("address")));
    if let Some((name, value)) = forwarded {
        req.headers_mut()
            .insert(name, value.parse().expect("header value"));
    }
    app.send(req).await
}

fn set_cookies(r: &Reply) -> Vec<String> {
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

/// Opens the sign-in form and signs in, both from `peer` with `forwarded`; the session's
/// `Set-Cookie` line, after checking the session works with it.
async fn session_cookie(app: &App, peer: &str, forwarded: Option<(&'static str, &str)>) -> String {
    let get = (Method::GET, "/console/sign-in", "", "");
    let form = from(app, peer, forwarded, get).await;
    let signin = set_cookies(&form)
        .first()
        .and_then(|c| c.split(';').next().map(str::to_owned))
        .expect("sign-in cookie");
    let html = String::from_utf8_lossy(&form.bytes).into_owned();
    let marker = "name=\"csrf\" value=\"";
    let csrf = html
        .split_once(marker)
        .and_then(|(_, rest)| rest.split('"').next())
        .expect("csrf token");
    let body = format!(
        "csrf={csrf}&email={}&password={}",
        enc("ada@example.org"),
        enc(PASSWORD)
    );
    let post = (
        Method::POST,
        "/console/sign-in",
        signin.as_str(),
        body.as_str(),
    );
    let signed = from(app, peer, forwarded, post).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{:?}", signed.headers);
    let line = set_cookies(&signed)
        .into_iter()
        .find(|c| c.contains("hr_session="))
        .expect("session cookie");
    let pair = line.split(';').next().unwrap_or_default().to_owned();
    let queue = (Method::GET, "/console/queue", pair.as_str(), "");
    assert_eq!(
        from(app, peer, forwarded, queue).await.status,
        StatusCode::OK
    );
    line
}

fn is_secure(line: &str) -> bool {
    line.starts_with("__Host-hr_session=") && line.ends_with("; Secure") && line.contains("Path=/;")
}

fn is_plain(line: &str) -> bool {
    line.starts_with("hr_session=") && !line.contains("Secure")
}

#[tokio::test]
async fn forwarded_https_makes_cookies_secure_only_from_a_trusted_proxy() {
    let app = app(Config::default());
    user(&app, "ada@example.org", "Ada", Role::Technician).await;
    let xfp = Some(("x-forwarded-proto", "https"));
    let forwarded = Some(("forwarded", "for=203.0.113.7;proto=https"));

    for (peer, header) in [(STRANGER, xfp), (STRANGER, forwarded), (PROXY, None)] {
        let line = session_cookie(&app, peer, header).await;
        assert!(is_plain(&line), "from {peer} with {header:?}: {line}");
    }
    for header in [xfp, forwarded] {
        let line = session_cookie(&app, PROXY, header).await;
        assert!(is_secure(&line), "from the proxy with {header:?}: {line}");
    }
    // Over HTTPS only the prefixed name is read: a plain cookie (which any HTTP page of the
    // network could plant) does not sign anyone in.
    let plain = session_cookie(&app, STRANGER, None).await;
    let pair = plain.split(';').next().unwrap_or_default();
    let queue = (Method::GET, "/console/queue", pair, "");
    let r = from(&app, PROXY, xfp, queue).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn always_secure_cookies_are_secure_without_https() {
    let app = app(Config {
        always_secure_cookies: true,
        ..Config::default()
    });
    user(&app, "ada@example.org", "Ada", Role::Technician).await;
    let line = session_cookie(&app, STRANGER, None).await;
    assert!(is_secure(&line), "{line}");
}
