//! The seeded router of `handraise-testkit` (one enrolled device that has a ticket, a
//! technician token, an article, an announcement), built once per fuzzing process.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use handraise_testkit::router::{self, Auth, Seeded};
use std::sync::OnceLock;

pub struct Fixture {
    pub rt: tokio::runtime::Runtime,
    pub seeded: Seeded,
}

pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let seeded = rt.block_on(Seeded::new());
        Fixture { rt, seeded }
    })
}

/// A JSON request with an optional bearer token (not every target sends JSON).
#[allow(dead_code)]
pub fn json(method: Method, uri: &str, token: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let auth = token.map_or(Auth::None, Auth::Bearer);
    router::request(method, uri, auth, Some("application/json"), body).expect("request")
}

/// Runs the request; panics (a finding) on a 5xx or a 4xx that is not
/// `{ "code", "message" }`.
pub fn check(req: Request<Body>) -> StatusCode {
    let f = fixture();
    let what = format!("{} {}", req.method(), req.uri());
    let reply = f.rt.block_on(router::send(&f.seeded.app.router, req));
    let status = reply.status;
    assert!(
        !status.is_server_error(),
        "{what} answered {status}: {}",
        String::from_utf8_lossy(&reply.bytes)
    );
    if status.is_client_error() {
        let v: serde_json::Value = serde_json::from_slice(&reply.bytes)
            .unwrap_or_else(|e| panic!("{what} answered {status} with non-JSON: {e}"));
        assert!(
            v["code"].is_string() && v["message"].is_string(),
            "{what} answered {status} with {v}"
        );
    }
    status
}
