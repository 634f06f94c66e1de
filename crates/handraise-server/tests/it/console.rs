//! Console handler tests: sign-in, sessions, CSRF, escaping, and that a change made in the
//! console is the same change the technician API and the device feed see.

use super::{App, R};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use handraise_server::service::accounts::{self, UserInput};
use handraise_server::store::{Role, now_utc};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) html: String,
}

impl Page {
    pub(crate) fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// `name=value` of the `Set-Cookie` named `name`.
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(|c| c.split(';').next().unwrap_or("").to_owned())
    }

    fn set_cookie_line(&self, name: &str) -> String {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .unwrap_or("")
            .to_owned()
    }

    /// The first CSRF token in the page's forms.
    fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self
            .html
            .find(marker)
            .map(|i| i + marker.len())
            .unwrap_or(0);
        self.html[start..]
            .split('"')
            .next()
            .unwrap_or("")
            .to_owned()
    }
}

pub(crate) async fn page(
    app: &App,
    method: Method,
    uri: &str,
    cookie: &str,
    form: Option<&str>,
) -> Page {
    let mut b = Request::builder().method(method).uri(uri);
    if !cookie.is_empty() {
        b = b.header(header::COOKIE, cookie);
    }
    let req = match form {
        Some(f) => b
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(f.to_owned())),
        None => b.body(Body::empty()),
    }
    .expect("request");
    let resp = app.router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    Page {
        status,
        headers,
        html: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// Posts the urlencoded `form` to `uri` with the session `cookie`.
pub(crate) async fn post(app: &App, uri: &str, cookie: &str, form: &str) -> Page {
    page(app, Method::POST, uri, cookie, Some(form)).await
}

/// A signed-in console session: its cookie and its CSRF token.
pub(crate) struct SignedIn<'a> {
    app: &'a App,
    /// The session cookie (`hr_session=...`).
    pub(crate) session: String,
    pub(crate) csrf: String,
}

impl<'a> SignedIn<'a> {
    /// Signs `email` in (see [`sign_in`]).
    pub(crate) async fn sign_in(app: &'a App, email: &str) -> Self {
        let (session, csrf) = sign_in(app, email).await;
        Self { app, session, csrf }
    }

    /// Posts the form `fields` (may be empty) with the session's CSRF token.
    pub(crate) async fn send(&self, uri: &str, fields: &str) -> Page {
        let csrf = &self.csrf;
        let form = if fields.is_empty() {
            format!("csrf={csrf}")
        } else {
            format!("csrf={csrf}&{fields}")
        };
        post(self.app, uri, &self.session, &form).await
    }
}

pub(crate) fn enc(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)]).expect("encode")[2..].to_owned()
}

pub(crate) const PASSWORD: &str = "a long enough password";

pub(crate) async fn user(app: &App, email: &str, name: &str, role: Role) {
    let input = UserInput {
        email,
        name: Some(name),
        role,
        password: PASSWORD,
    };
    accounts::create_user(app.state.store().as_ref(), &input, now_utc()).expect("user");
}

/// Opens the sign-in form; returns its cookie (`hr_signin=...`) and its CSRF token.
pub(crate) async fn sign_in_form(app: &App) -> (String, String) {
    let form_page = page(app, Method::GET, "/console/sign-in", "", None).await;
    let pre = form_page.cookie("hr_signin").expect("sign-in cookie");
    (pre, form_page.csrf())
}

/// Signs in; returns the session cookie (`hr_session=...`) and the session's CSRF token.
pub(crate) async fn sign_in(app: &App, email: &str) -> (String, String) {
    let (pre, csrf) = sign_in_form(app).await;
    let body = format!(
        "csrf={csrf}&email={}&password={}",
        enc(email),
        enc(PASSWORD)
    );
    let r = page(app, Method::POST, "/console/sign-in", &pre, Some(&body)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
    assert_eq!(r.location(), "/console/queue");
    let session = r.cookie("hr_session").expect("session cookie");
    let queue = page(app, Method::GET, "/console/queue", &session, None).await;
    assert_eq!(queue.status, StatusCode::OK);
    (session, queue.csrf())
}

#[tokio::test]
async fn root_sends_strangers_to_sign_in_and_members_to_the_queue() {
    let app = App::new();
    let r = page(&app, Method::GET, "/", "", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/console/sign-in");
    let r = page(&app, Method::GET, "/console/sign-in", "", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.html.contains(r#"type="password""#));
    assert!(r.headers.contains_key("content-security-policy"));
    let r = page(&app, Method::GET, "/console/queue", "", None).await;
    assert_eq!(r.location(), "/console/sign-in");

    user(&app, "ada@example.org", "Ada", Role::Admin).await;
    let (session, _) = sign_in(&app, "ada@example.org").await;
    let r = page(&app, Method::GET, "/", &session, None).await;
    assert_eq!(r.location(), "/console/queue");
}

#[tokio::test]
async fn session_cookie_flags_and_sign_out() {
    let app = App::new();
    user(&app, "ada@example.org", "Ada", Role::Technician).await;
    let (pre, csrf) = sign_in_form(&app).await;
    let body = format!(
        "csrf={csrf}&email=ADA%40example.org&password={}",
        enc(PASSWORD)
    );
    // Over plain HTTP the cookie is HttpOnly and SameSite, not Secure (HTTPS, through a
    // trusted proxy or the server's own TLS: `cookies.rs`, `transport.rs`).
    let r = post(&app, "/console/sign-in", &pre, &body).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let set = r.set_cookie_line("hr_session");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(flag), "{set} lacks {flag}");
    }
    assert!(!set.contains("Secure"), "{set}");
    let session = set.split(';').next().expect("pair").to_owned();
    let (plain, csrf) = sign_in(&app, "ada@example.org").await;
    assert!(!plain.is_empty());

    // Sign-out deletes the session.
    let r = post(&app, "/console/sign-out", &plain, &format!("csrf={csrf}")).await;
    assert_eq!(r.location(), "/console/sign-in");
    assert!(r.set_cookie_line("hr_session").contains("Max-Age=0"));
    let r = page(&app, Method::GET, "/console/queue", &plain, None).await;
    assert_eq!(r.location(), "/console/sign-in");
    // The other session lives on.
    let r = page(&app, Method::GET, "/console/queue", &session, None).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_email() {
    let app = App::new();
    user(&app, "ada@example.org", "Ada", Role::Technician).await;
    let (pre, csrf) = sign_in_form(&app).await;
    let attempt = |password: &'static str| {
        let body = format!(
            "csrf={csrf}&email=ada%40example.org&password={}",
            enc(password)
        );
        let (app, pre) = (&app, pre.clone());
        async move { page(app, Method::POST, "/console/sign-in", &pre, Some(&body)).await }
    };
    for _ in 0..5 {
        let r = attempt("wrong password here").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.html.contains("do not match"));
    }
    let r = attempt(PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    assert!(r.html.contains("Too many failed sign-ins"));
    // A sign-in form post without the double-submit token is refused.
    let r = post(&app, "/console/sign-in", "", "email=a%40b.c&password=x").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn posts_without_the_session_csrf_token_are_refused() {
    let app = App::new();
    user(&app, "ada@example.org", "Ada", Role::Admin).await;
    let (_, secret) = app.device(None, None).await;
    let (_, number) = app.ticket(&secret, "Printer jam").await;
    let (session, csrf) = sign_in(&app, "ada@example.org").await;
    let uri = format!("/console/tickets/{number}/reply");
    for form in ["body=forged", "csrf=nope&body=forged"] {
        let r = post(&app, &uri, &session, form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{form}");
        assert!(r.html.contains("This form has expired"));
    }
    let r = page(
        &app,
        Method::GET,
        &format!("/console/tickets/{number}"),
        &session,
        None,
    )
    .await;
    assert!(!r.html.contains("forged"));
    // No session at all: back to sign-in, nothing changed.
    let r = post(&app, &uri, "", &format!("csrf={csrf}&body=x")).await;
    assert_eq!(r.location(), "/console/sign-in");
}

#[tokio::test]
async fn console_changes_are_the_api_changes_and_reach_the_device() -> R {
    let app = App::new();
    // The console user and its API token share one technician record. (A token made
    // earlier for a password-less "Ada Admin" would be revoked when an admin takes that
    // name over: see `an_admin_taking_over_a_script_user_does_not_arm_its_tokens`.)
    user(&app, "ada@example.org", "Ada Admin", Role::Admin).await;
    let token = app.token_of("ada@example.org", None, handraise_server::store::now_utc());
    let (_, secret) = app.device(Some("Lincoln"), None).await;
    let (client_id, number) = app.ticket(&secret, "Projector is dark").await;
    let c = SignedIn::sign_in(&app, "ada@example.org").await;
    let t = format!("/console/tickets/{number}");

    let r = c.send(&format!("{t}/assign"), "assignee=Ada+Admin").await;
    assert_eq!(r.location(), format!("{t}?done=assigned"));
    let r = c.send(&format!("{t}/reply"), "body=On+my+way").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    c.send(&format!("{t}/note"), "body=secret+note").await;
    c.send(&format!("{t}/status"), "status=resolved").await;

    // The technician API sees the same ticket.
    let api = app
        .get(&format!("/api/v1/tech/tickets/{number}"), &token)
        .await;
    assert_eq!(api.body["assignee"], "Ada Admin");
    assert_eq!(api.body["status"], "resolved");
    let kinds: Vec<&str> = api.body["messages"]
        .as_array()
        .ok_or("messages")?
        .iter()
        .filter_map(|m| m["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["technician", "note"]);

    // The device's feed has the assignment, the reply (not the note) and the status.
    let feed = app.get("/api/v1/updates?cursor=0", &secret).await;
    let updates = feed.body["updates"].as_array().ok_or("updates")?;
    let reply: Vec<&Value> = updates.iter().filter(|u| u["type"] == "reply").collect();
    assert_eq!(reply.len(), 1);
    assert_eq!(reply[0]["message"]["body"], "On my way");
    assert_eq!(reply[0]["message"]["author_name"], "Ada Admin");
    assert_eq!(updates.last().ok_or("last")?["status"], "resolved");
    assert!(
        updates
            .iter()
            .all(|u| u["ticket_client_id"] == client_id.as_str())
    );

    // The page shows it, with "Assign to me" gone since it is mine.
    let r = page(&app, Method::GET, &t, &c.session, None).await;
    assert!(r.html.contains("Resolved") && r.html.contains("secret note"));
    assert!(!r.html.contains("Assign to me"));
    Ok(())
}

#[tokio::test]
async fn teacher_text_is_escaped_everywhere() {
    let app = App::new();
    user(&app, "ada@example.org", "Ada", Role::Admin).await;
    let (_, secret) = app
        .device(Some("<script>alert('school')</script>"), None)
        .await;
    let (_, number) = app.ticket(&secret, "<script>alert(1)</script>").await;
    let (session, _) = sign_in(&app, "ada@example.org").await;
    for uri in [
        "/console/queue".to_owned(),
        format!("/console/tickets/{number}"),
        "/console/devices".to_owned(),
    ] {
        let r = page(&app, Method::GET, &uri, &session, None).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        assert!(!r.html.contains("<script>alert"), "{uri} has raw markup");
        if uri != "/console/devices" {
            assert!(
                r.html.contains("&#60;script&#62;alert"),
                "{uri} lacks the escaped text"
            );
        }
    }
}

#[tokio::test]
async fn admin_pages_are_for_admins_only() {
    let app = App::new();
    user(&app, "tom@example.org", "Tom", Role::Technician).await;
    let c = SignedIn::sign_in(&app, "tom@example.org").await;
    for uri in [
        "/console/admin/users",
        "/console/admin/enroll-tokens",
        "/console/admin/sla",
    ] {
        let r = page(&app, Method::GET, uri, &c.session, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}");
    }
    let (device, _) = app.device(None, None).await;
    let r = c
        .send(&format!("/console/devices/{device}/revoke"), "")
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = page(&app, Method::GET, "/console/devices", &c.session, None).await;
    assert!(r.html.contains("room-12") && !r.html.contains(">Revoke<"));
}

#[tokio::test]
async fn admins_manage_users_tokens_and_settings_through_the_service_rules() {
    let app = App::new();
    user(&app, "ada@example.org", "Ada", Role::Admin).await;
    user(&app, "tom@example.org", "Tom", Role::Technician).await;
    let (tom, _) = sign_in(&app, "tom@example.org").await;
    let c = SignedIn::sign_in(&app, "ada@example.org").await;
    let users = |app: &App| app.state.store().list_users().expect("users");
    let id_of = |app: &App, email: &str| {
        users(app)
            .into_iter()
            .find(|u| u.email == email)
            .map(|u| u.id)
            .expect("user")
    };

    // Users: the role, the email and the password are checked; the form is shown again.
    let signed = &c;
    let add = |role: &str, email: &str, password: &str| {
        let form = format!(
            "email={}&name=&role={role}&password={}",
            enc(email),
            enc(password)
        );
        async move { signed.send("/console/admin/users", &form).await }
    };
    let r = add("boss", "x@example.org", "long enough password").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.html.contains("Choose a role."));
    let r = add("technician", "x@example.org", "short").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.html.contains("at least 12 characters"), "{}", r.html);
    let r = add("technician", "tom@example.org", "long enough password").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = add("technician", " sam@example.org ", "long enough password").await;
    assert_eq!(r.location(), "/console/admin/users?done=user");
    assert_eq!(users(&app).len(), 3);

    // Nobody disables themselves; disabling another ends their sessions.
    let ada = id_of(&app, "ada@example.org");
    let r = c
        .send(&format!("/console/admin/users/{ada}/disable"), "")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.html.contains("you cannot disable your own account"));
    let tom_id = id_of(&app, "tom@example.org");
    let r = c
        .send(&format!("/console/admin/users/{tom_id}/disable"), "")
        .await;
    assert_eq!(r.location(), "/console/admin/users?done=user");
    let r = page(&app, Method::GET, "/console/queue", &tom, None).await;
    assert_eq!(r.location(), "/console/sign-in");
    let r = c
        .send(&format!("/console/admin/users/{tom_id}/enable"), "")
        .await;
    assert_eq!(r.location(), "/console/admin/users?done=user");
    assert!(users(&app).iter().all(|u| !u.disabled));

    // Enrollment tokens: shown once, stored as hashes, revoked by id; a blank label is refused.
    let r = c.send("/console/admin/enroll-tokens", "label=+").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = c.send("/console/admin/enroll-tokens", "label=Lab+A").await;
    assert_eq!(r.status, StatusCode::OK);
    let tokens = app.state.store().list_enroll_tokens().expect("tokens");
    let created = tokens.iter().find(|t| t.label == "Lab A").expect("token");
    let r = c
        .send(
            &format!("/console/admin/enroll-tokens/{}/revoke", created.id),
            "",
        )
        .await;
    assert_eq!(r.location(), "/console/admin/enroll-tokens?done=token");
    let tokens = app.state.store().list_enroll_tokens().expect("tokens");
    assert!(tokens.iter().any(|t| t.label == "Lab A" && t.revoked));

    // The SLA policy: whole hours from 1 to 720, nothing saved otherwise.
    let before = app.state.store().sla_policy().expect("policy");
    let sla =
        |a: &str| format!("class_stopping_hours={a}&wide_hours=4&room_hours=8&individual_hours=24");
    for bad in ["0", "721", "x"] {
        let r = c.send("/console/admin/sla", &sla(bad)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(
            r.html
                .contains("Each value must be a whole number of hours from 1 to 720.")
        );
    }
    assert_eq!(app.state.store().sla_policy().expect("policy"), before);
    let r = c.send("/console/admin/sla", &sla("2")).await;
    assert_eq!(r.location(), "/console/admin/sla?done=sla");
    assert_eq!(
        app.state
            .store()
            .sla_policy()
            .expect("policy")
            .class_stopping_hours,
        2
    );

    // Retention: 1 to 3650 days; purging reports what it removed.
    let r = c.send("/console/admin/retention", "days=abc").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.html
            .contains("The retention period must be 1 to 3650 days.")
    );
    let r = c.send("/console/admin/retention", "days=30").await;
    assert_eq!(r.location(), "/console/admin/retention?done=retention");
    assert_eq!(app.state.store().retention_days().expect("days"), 30);
    let r = c.send("/console/admin/retention/purge", "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.html.contains("Removed 0 screenshot(s)"));
}

#[tokio::test]
async fn assets_are_embedded_and_cacheable() {
    let app = App::new();
    let r = page(&app, Method::GET, "/console/assets/console.css", "", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap_or("")
            .contains("max-age")
    );
    assert!(r.html.contains(":focus-visible"));
    for uri in ["/console/assets/nope.js", "/console/nowhere"] {
        let r = page(&app, Method::GET, uri, "", None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(r.html.contains("<h1>Not found</h1>"), "{uri}");
    }
    // The API keeps answering JSON.
    let r = app.call(Method::GET, "/api/v1/nowhere", None, None).await;
    assert_eq!(r.body["code"], "not_found");
}

#[tokio::test]
async fn a_device_revoked_in_the_console_is_refused_on_its_next_request() {
    let app = App::new();
    user(&app, "ada@example.org", "Ada", Role::Admin).await;
    let (id, secret) = app.device(None, None).await;
    // The device has been seen, so its lookup is cached.
    assert_eq!(
        app.get("/api/v1/updates?cursor=0", &secret).await.status,
        StatusCode::OK
    );
    let c = SignedIn::sign_in(&app, "ada@example.org").await;
    let page = c.send(&format!("/console/devices/{id}/revoke"), "").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    let after = app.get("/api/v1/updates?cursor=0", &secret).await;
    assert_eq!(after.status, StatusCode::FORBIDDEN);
    assert_eq!(after.body["code"], "device_revoked");
}
