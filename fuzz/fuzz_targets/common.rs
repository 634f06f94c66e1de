//! The real router over an in-memory store, with one enrolled device that
//! has a ticket, and a technician token; built once per fuzzing process.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use handraise_server::auth::hash_secret;
use handraise_server::store::{AccountStore, AdminStore, now_utc};
use handraise_server::{AppState, Config, SqliteStore, Store, router};
use http_body_util::BodyExt;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

/// Not every target uses every field.
#[allow(dead_code)]
pub struct Fixture {
    pub rt: tokio::runtime::Runtime,
    pub app: Router,
    pub device_secret: String,
    pub ticket_client_id: String,
    pub ticket_number: i64,
    pub tech_token: String,
}

pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let store = Arc::new(SqliteStore::open_in_memory().expect("store"));
        let now = now_utc();
        store
            .create_enroll_token(&hash_secret("enroll-me"), "fuzz", now)
            .expect("enroll token");
        store
            .create_tech_token("Fuzz Tech", &hash_secret("tech-token"), now)
            .expect("tech token");
        let config = Config {
            device_burst: u32::MAX,
            device_per_second: 1e12,
            enroll_per_minute_per_ip: u32::MAX,
            ..Config::default()
        };
        let app = router(AppState::new(store as Arc<dyn Store>, config));
        let (secret, cid, number) = rt.block_on(async {
            let (s, b) = call(
                &app,
                json(Method::POST, "/api/v1/enroll", None,
                     br#"{"token":"enroll-me","hostname":"fuzz"}"#.to_vec()),
            )
            .await;
            assert_eq!(s, StatusCode::CREATED);
            let v: serde_json::Value = serde_json::from_slice(&b).expect("json");
            let secret = v["device_secret"].as_str().expect("secret").to_owned();
            let cid = uuid::Uuid::now_v7().to_string();
            let body = format!(
                r#"{{"client_id":"{cid}","created_at":"2026-01-05T10:00:00Z","category":"printer","summary":"jammed"}}"#
            );
            let (s, b) = call(&app, json(Method::POST, "/api/v1/tickets", Some(&secret), body.into_bytes())).await;
            assert_eq!(s, StatusCode::CREATED);
            let v: serde_json::Value = serde_json::from_slice(&b).expect("json");
            (secret, cid, v["number"].as_i64().expect("number"))
        });
        Fixture {
            rt,
            app,
            device_secret: secret,
            ticket_client_id: cid,
            ticket_number: number,
            tech_token: "tech-token".into(),
        }
    })
}

pub fn json(method: Method, uri: &str, token: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Body::from(body)).expect("request")
}

pub async fn call(app: &Router, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    (status, body)
}

/// Runs the request; panics (a finding) on a 5xx or a 4xx that is not
/// `{ "code", "message" }`.
pub fn check(req: Request<Body>) -> StatusCode {
    let f = fixture();
    let what = format!("{} {}", req.method(), req.uri());
    let (status, body) = f.rt.block_on(call(&f.app, req));
    assert!(
        !status.is_server_error(),
        "{what} answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    if status.is_client_error() {
        let v: serde_json::Value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{what} answered {status} with non-JSON: {e}"));
        assert!(
            v["code"].is_string() && v["message"].is_string(),
            "{what} answered {status} with {v}"
        );
    }
    status
}
