//! The real router over an in-memory store, driven in process with
//! `tower::ServiceExt::oneshot`: the fixture of the server's handler tests, its property
//! tests and the fuzz targets.
//!
//! This module is the one place that builds server state from the server library's
//! internals (store, configuration, console accounts); everything else goes through HTTP.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use handraise_server::auth::hash_secret;
use handraise_server::service::enrollment::{self, TokenOwner};
use handraise_server::store::{
    AccountStore, AdminStore, NewEnrollToken, NewUser, Role, UserRecord, now_utc,
};
use handraise_server::{AppState, Config, SqlStore, Store, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::Arc;
use time::OffsetDateTime;
use tower::ServiceExt;
use uuid::Uuid;

/// The enrollment token every [`App`] accepts.
pub const ENROLL_TOKEN: &str = "enroll-me";

/// Configuration with every rate limit out of the way: for tests about parsing, where a 429
/// would hide what the input does.
pub fn unlimited() -> Config {
    Config {
        device_burst: u32::MAX,
        device_per_second: 1e12,
        enroll_per_minute_per_ip: u32::MAX,
        signin_max_failures: u32::MAX,
        device_tickets_per_day: u64::MAX,
        device_messages_per_day: u64::MAX,
        device_screenshot_bytes_per_day: u64::MAX,
        max_unauthenticated_per_client: usize::MAX,
        ..Config::default()
    }
}

/// An answer: status, headers, the body's bytes and the body as JSON (null when it is not).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
    pub body: Value,
}

impl Reply {
    /// A header as text.
    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Who a request authenticates as.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    None,
    /// A device secret or a technician token.
    Bearer(&'a str),
    /// A console session (`name=value`).
    Cookie(&'a str),
}

/// A request, or the builder's error for a URI or header no client could send.
pub fn request(
    method: Method,
    uri: &str,
    auth: Auth<'_>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Result<Request<Body>, axum::http::Error> {
    let mut b = Request::builder().method(method).uri(uri);
    match auth {
        Auth::None => {}
        Auth::Bearer(t) => b = b.header(header::AUTHORIZATION, format!("Bearer {t}")),
        Auth::Cookie(c) => b = b.header(header::COOKIE, c),
    }
    if let Some(ct) = content_type {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    b.body(Body::from(body))
}

/// Sends `req` through `router`.
pub async fn send(router: &Router, req: Request<Body>) -> Reply {
    let resp = match router.clone().oneshot(req).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    };
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        bytes,
        body,
    }
}

/// A ticket body as a device sends it: every optional part filled.
pub fn ticket_body(summary: &str) -> Value {
    json!({
        "client_id": Uuid::now_v7(),
        "created_at": "2025-03-04T09:15:00+01:00",
        "category": "printer",
        "summary": summary,
        "reporter": {"display_name": "Ms. Lee"},
        "self_help": [{"article_slug": "printer-jam", "outcome": "still_broken"}],
        "snapshot": {"schema_version": 1, "hostname": "room-12"}
    })
}

/// An error answer: this status, this code, a message.
pub fn assert_error(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["code"], code, "{}", r.body);
    assert!(
        r.body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        r.body
    );
}

/// A fresh store for a test: on PostgreSQL when `HANDRAISE_TEST_POSTGRES` names a
/// test server ([`crate::postgres`]), else in memory on SQLite.
pub fn test_store() -> SqlStore {
    match crate::postgres::test_database().expect("a test database") {
        Some(url) => SqlStore::open_postgres(&url).expect("the PostgreSQL store opens"),
        None => SqlStore::open_in_memory().expect("an in-memory store opens"),
    }
}

/// The router, its state and its store, with [`ENROLL_TOKEN`] accepted.
pub struct App {
    pub router: Router,
    pub state: AppState,
    pub store: Arc<SqlStore>,
    pub enroll_token: String,
}

impl Default for App {
    fn default() -> Self {
        Self::new()
    }
}

impl App {
    /// An in-memory store with the shipped configuration.
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> Self {
        Self::over(Arc::new(test_store()), config)
    }

    /// The router over `store` (e.g. a file), with [`ENROLL_TOKEN`] added to it.
    pub fn over(store: Arc<SqlStore>, config: Config) -> Self {
        store
            .create_enroll_token(
                &NewEnrollToken::new(&hash_secret(ENROLL_TOKEN), "test"),
                now_utc(),
            )
            .expect("enroll token");
        let state = AppState::new(store.clone() as Arc<dyn Store>, config);
        App {
            router: router(state.clone()),
            state,
            store,
            enroll_token: ENROLL_TOKEN.into(),
        }
    }

    /// Another server node over the same store and configuration: its own state (rate
    /// limits, long-polls, clock, caches), as a second `serve` on one database has.
    pub fn another_node(&self) -> App {
        let store = Arc::clone(&self.store);
        let state = AppState::new(store.clone() as Arc<dyn Store>, self.state.config().clone());
        App {
            router: router(state.clone()),
            state,
            store,
            enroll_token: self.enroll_token.clone(),
        }
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        send(&self.router, req).await
    }

    /// A request with an optional bearer token and an optional JSON body.
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let auth = token.map_or(Auth::None, Auth::Bearer);
        let (ctype, bytes) = match body {
            Some(v) => (
                Some("application/json"),
                serde_json::to_vec(&v).expect("JSON serialises"),
            ),
            None => (None, Vec::new()),
        };
        self.send(request(method, uri, auth, ctype, bytes).expect("a valid request"))
            .await
    }

    /// `GET uri` with a bearer token.
    pub async fn get(&self, uri: &str, token: &str) -> Reply {
        self.call(Method::GET, uri, Some(token), None).await
    }

    /// `POST uri` with a bearer token and a JSON body.
    pub async fn post(&self, uri: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, uri, Some(token), Some(body)).await
    }

    /// `POST uri` with a bearer token and no body (revoke, unpublish, end).
    pub async fn post_empty(&self, uri: &str, token: &str) -> Reply {
        self.call(Method::POST, uri, Some(token), None).await
    }

    /// `POST /api/v1/enroll` with `body`, no credential.
    pub async fn enroll(&self, body: Value) -> Reply {
        self.call(Method::POST, "/api/v1/enroll", None, Some(body))
            .await
    }

    /// A request with an arbitrary body and content type.
    pub async fn raw(
        &self,
        method: Method,
        uri: &str,
        token: &str,
        ctype: &str,
        body: Vec<u8>,
    ) -> Reply {
        let req = request(method, uri, Auth::Bearer(token), Some(ctype), body);
        self.send(req.expect("a valid request")).await
    }

    /// Enrolls a device; (device id, secret).
    pub async fn device(&self, school: Option<&str>, building: Option<&str>) -> (String, String) {
        let r = self
            .enroll(json!({"token": self.enroll_token, "hostname": "room-12",
                           "school": school, "building": building}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        (
            r.body["device_id"].as_str().expect("id").to_owned(),
            r.body["device_secret"].as_str().expect("secret").to_owned(),
        )
    }

    /// Two devices enrolled with no school: their secrets.
    pub async fn two_devices(&self) -> (String, String) {
        let (_, a) = self.device(None, None).await;
        let (_, b) = self.device(None, None).await;
        (a, b)
    }

    /// A new technician API token for `name`: the password-less
    /// technician-role user of `tech-token create --name`.
    pub fn tech(&self, name: &str) -> String {
        enrollment::create_tech_token(self.store.as_ref(), TokenOwner::Name(name), None, now_utc())
            .expect("tech token")
            .token
    }

    /// A console user `email` of `role` (its technician name is the email)
    /// who cannot sign in (no real password hash): for API-token tests.
    pub fn user(&self, email: &str, role: Role) -> UserRecord {
        let user = NewUser {
            email: email.into(),
            role,
            password_hash: "not-a-password-hash".into(),
            technician_name: email.into(),
        };
        self.store.create_user(&user, now_utc()).expect("user")
    }

    /// A new API token of console user `email`, made at `now` to last `days`.
    pub fn token_of(&self, email: &str, days: Option<u32>, now: OffsetDateTime) -> String {
        enrollment::create_tech_token(self.store.as_ref(), TokenOwner::Email(email), days, now)
            .expect("tech token")
            .token
    }

    /// A new API token of a new admin user `email`.
    pub fn admin_tech(&self, email: &str) -> String {
        self.user(email, Role::Admin);
        self.token_of(email, None, now_utc())
    }

    /// Files a ticket; (client id, number).
    pub async fn ticket(&self, secret: &str, summary: &str) -> (String, i64) {
        let body = ticket_body(summary);
        let r = self.post("/api/v1/tickets", secret, body.clone()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        (
            body["client_id"].as_str().expect("id").to_owned(),
            r.body["number"].as_i64().expect("n"),
        )
    }

    /// `POST /api/v1/tech/tickets/{number}/{action}` (assign, status, reply, note).
    pub async fn ticket_action(&self, tech: &str, number: i64, action: &str, body: Value) -> Reply {
        self.post(
            &format!("/api/v1/tech/tickets/{number}/{action}"),
            tech,
            body,
        )
        .await
    }

    /// An admin signed in through the console's own form: the session cookie
    /// (`hr_session=...`) and the session's CSRF token.
    pub async fn console_admin(&self, email: &str, password: &str) -> (String, String) {
        let input = handraise_server::service::accounts::UserInput {
            email,
            name: Some("Admin"),
            role: handraise_server::store::Role::Admin,
            password,
        };
        handraise_server::service::accounts::create_user(
            self.state.store().as_ref(),
            &input,
            now_utc(),
        )
        .expect("admin");
        let get = |uri: &str, cookie: &str| {
            let auth = if cookie.is_empty() {
                Auth::None
            } else {
                Auth::Cookie(cookie)
            };
            request(Method::GET, uri, auth, None, Vec::new()).expect("request")
        };
        let page = self.send(get("/console/sign-in", "")).await;
        let pre = set_cookie(&page, "hr_signin");
        let form = format!(
            "csrf={}&email={}&password={}",
            csrf_of(&page),
            email.replace('@', "%40"),
            password
        );
        let req = request(
            Method::POST,
            "/console/sign-in",
            Auth::Cookie(&pre),
            Some("application/x-www-form-urlencoded"),
            form.into_bytes(),
        );
        let signed = self.send(req.expect("request")).await;
        assert_eq!(signed.status, StatusCode::SEE_OTHER, "signed in");
        let session = set_cookie(&signed, "hr_session");
        let queue = self.send(get("/console/queue", &session)).await;
        assert_eq!(queue.status, StatusCode::OK);
        let csrf = csrf_of(&queue);
        (session, csrf)
    }
}

/// `name=value` of the `Set-Cookie` named `name`.
fn set_cookie(r: &Reply, name: &str) -> String {
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no {name} cookie"))
}

/// The first CSRF token in a page's forms.
pub fn csrf_of(r: &Reply) -> String {
    let html = String::from_utf8_lossy(&r.bytes);
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// An [`App`] with every limit out of the way, one enrolled device that filed one ticket (in
/// progress, so the feed has an entry), a technician token, a published article
/// (`printer-jam`), an announcement and an admin's console session.
pub struct Seeded {
    pub app: App,
    pub device_secret: String,
    pub ticket_client_id: String,
    pub ticket_number: i64,
    pub tech_token: String,
    pub announcement_id: i64,
    /// The admin's session cookie and its CSRF token.
    pub console_cookie: String,
    pub console_csrf: String,
}

impl Seeded {
    pub async fn new() -> Self {
        let app = App::with_config(unlimited());
        let (_, device_secret) = app.device(Some("S"), None).await;
        let (ticket_client_id, ticket_number) = app.ticket(&device_secret, "jammed").await;
        let tech_token = app.tech("Seeded Tech");
        let r = app
            .ticket_action(
                &tech_token,
                ticket_number,
                "status",
                json!({"status": "in_progress"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let mut created = Vec::new();
        for (uri, body) in [
            (
                "/api/v1/tech/kb",
                json!({"slug": "printer-jam", "title": "Paper jam", "body": "1. Open the tray",
                       "categories": ["printer"], "keywords": ["jam"], "published": true}),
            ),
            (
                "/api/v1/tech/announcements",
                json!({"kind": "outage", "title": "Wi-Fi down", "message": "Working on it"}),
            ),
        ] {
            let r = app.post(uri, &tech_token, body).await;
            assert_eq!(r.status, StatusCode::CREATED, "{uri}: {}", r.body);
            created.push(r.body);
        }
        let announcement_id = created[1]["id"].as_i64().expect("id");
        let (console_cookie, console_csrf) = app
            .console_admin("seeded@example.org", "seeded-password-1")
            .await;
        Seeded {
            app,
            device_secret,
            ticket_client_id,
            ticket_number,
            tech_token,
            announcement_id,
            console_cookie,
            console_csrf,
        }
    }
}

/// Serves `app` on a free port of 127.0.0.1 from a background task (a stand-in receiver or
/// help desk in a test); returns its address. The task ends with the test's runtime.
pub async fn serve_on_loopback(app: Router) -> std::io::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}
