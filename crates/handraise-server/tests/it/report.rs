//! The web report page's side of the server: the page answered without its bundle, the JSON
//! calls under `/report/api/` needing a web session and (for changes) its CSRF token, a
//! device per district account, the reporter taken from the account, a repeat of a report's
//! client id answered with the first receipt, and a revoked account's device shut out.

use super::R;
use axum::extract::ConnectInfo;
use axum::http::{Method, StatusCode, header};
use handraise_server::Config;
use handraise_server::service::oidc::Teacher;
use handraise_server::service::web;
use handraise_server::store::{DeviceStore, TicketStore, now_utc};
use handraise_testkit::router::{App, Auth, Reply, request, send, ticket_body};
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// A web session for `email` (the provider's subject is its email here); its cookie and
/// CSRF token.
async fn teacher(app: &App, email: &str) -> R<(String, String)> {
    let who = Teacher {
        email: email.into(),
        name: Some("Ana Teacher".into()),
        subject: format!("https://idp.example {email}"),
    };
    let session = web::sign_in(app.state.store(), who, now_utc()).await?;
    let cookie = format!("{}={}", web::REPORT_COOKIE, session.token);
    let me = call(app, Method::GET, "/report/api/me", &cookie, None, None).await?;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["email"], email);
    let csrf = me.body["csrf_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok((cookie, csrf))
}

async fn call(
    app: &App,
    method: Method,
    uri: &str,
    cookie: &str,
    csrf: Option<&str>,
    body: Option<Value>,
) -> R<Reply> {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let mut req = request(
        method,
        uri,
        Auth::Cookie(cookie),
        Some("application/json"),
        bytes,
    )?;
    if let Some(csrf) = csrf {
        req.headers_mut().insert("x-csrf-token", csrf.parse()?);
    }
    Ok(app.send(req).await)
}

#[tokio::test]
async fn without_its_bundle_the_page_says_how_to_build_it() -> R {
    let empty = tempfile::tempdir()?;
    let app = App::with_config(Config {
        report_dir: Some(empty.path().to_owned()),
        ..Config::default()
    });
    let r = call(&app, Method::GET, "/report", "", None, None).await?;
    assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(r.header(header::LOCATION), Some("/report/"));
    let r = call(&app, Method::GET, "/report/", "", None, None).await?;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let text = String::from_utf8(r.bytes.clone())?;
    assert!(text.contains("The report page is not built"), "{text}");
    assert!(text.contains("cargo xtask dist"), "{text}");

    std::fs::write(
        empty.path().join("report.html"),
        "<!doctype html><title>page</title>",
    )?;
    let r = call(&app, Method::GET, "/report/", "", None, None).await?;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.header(header::CONTENT_TYPE)
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(
        r.header(header::CONTENT_SECURITY_POLICY)
            .is_some_and(|c| c.contains("script-src 'self'"))
    );
    let r = call(&app, Method::GET, "/report/..%2Fsecret", "", None, None).await?;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn web_calls_need_a_session_and_changes_its_csrf_token() -> R {
    let app = App::new();
    let r = call(&app, Method::GET, "/report/api/me", "", None, None).await?;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(
        &app,
        Method::GET,
        "/report/api/me",
        "hr_report=forged",
        None,
        None,
    )
    .await?;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let (cookie, csrf) = teacher(&app, "ana@district.example").await?;
    let mut ticket = ticket_body("Projector shows no picture");
    ticket["reporter"] = json!({"display_name": "Someone Else", "email": "boss@district.example"});
    let r = call(
        &app,
        Method::POST,
        "/report/api/tickets",
        &cookie,
        None,
        Some(ticket.clone()),
    )
    .await?;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token");
    let r = call(
        &app,
        Method::POST,
        "/report/api/tickets",
        &cookie,
        Some("wrong"),
        Some(ticket.clone()),
    )
    .await?;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a wrong CSRF token");
    let first = call(
        &app,
        Method::POST,
        "/report/api/tickets",
        &cookie,
        Some(&csrf),
        Some(ticket.clone()),
    )
    .await?;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    // The same report again (sent again when the connection came back): the first receipt.
    let again = call(
        &app,
        Method::POST,
        "/report/api/tickets",
        &cookie,
        Some(&csrf),
        Some(ticket),
    )
    .await?;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["number"], first.body["number"]);

    let number = first.body["number"].as_i64().unwrap_or_default();
    let stored = app
        .store
        .ticket_detail(number)?
        .ok_or("the ticket is stored")?;
    let reporter: Value =
        serde_json::from_str(stored.ticket.reporter_json.as_deref().unwrap_or("null"))?;
    assert_eq!(
        reporter["email"], "ana@district.example",
        "the account's, not the browser's"
    );
    assert_eq!(reporter["display_name"], "Ana Teacher");

    let mine = call(
        &app,
        Method::GET,
        "/report/api/tickets",
        &cookie,
        None,
        None,
    )
    .await?;
    assert_eq!(mine.body.as_array().map(Vec::len), Some(1), "{}", mine.body);
    assert_eq!(mine.body[0]["summary"], "Projector shows no picture");
    // Another account's device sees none of it.
    let (other, _) = teacher(&app, "bo@district.example").await?;
    let theirs = call(&app, Method::GET, "/report/api/tickets", &other, None, None).await?;
    assert_eq!(theirs.body.as_array().map(Vec::len), Some(0));
    let client_id = first.body["client_id"].as_str().unwrap_or_default();
    let r = call(
        &app,
        Method::GET,
        &format!("/report/api/tickets/{client_id}"),
        &other,
        None,
        None,
    )
    .await?;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Signing out ends the session.
    let r = call(
        &app,
        Method::POST,
        "/report/api/sign-out",
        &cookie,
        Some(&csrf),
        None,
    )
    .await?;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = call(&app, Method::GET, "/report/api/me", &cookie, None, None).await?;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn each_account_is_one_device_and_a_revoked_one_is_shut_out() -> R {
    let app = App::new();
    let (first, _) = teacher(&app, "ana@district.example").await?;
    let (_second, _) = teacher(&app, "ana@district.example").await?;
    let (_other, _) = teacher(&app, "bo@district.example").await?;
    let devices = app.store.list_devices()?;
    let web: Vec<_> = devices
        .iter()
        .filter(|d| d.device.hostname.starts_with("Web: "))
        .collect();
    assert_eq!(
        web.len(),
        2,
        "one device per account, whatever the sign-ins"
    );
    let ana = web
        .iter()
        .find(|d| d.device.hostname == "Web: ana@district.example")
        .ok_or("ana's device")?;
    app.store.revoke_device(ana.device.id, now_utc())?;
    let r = call(&app, Method::GET, "/report/api/me", &first, None, None).await?;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let who = Teacher {
        email: "ana@district.example".into(),
        name: None,
        subject: "https://idp.example ana@district.example".into(),
    };
    assert!(
        web::sign_in(app.state.store(), who, now_utc())
            .await
            .is_err()
    );
    Ok(())
}

#[tokio::test]
async fn a_web_session_is_a_credential_for_the_cap_on_unauthenticated_requests() -> R {
    let app = App::with_config(Config {
        max_unauthenticated_per_client: 1,
        ..Config::default()
    });
    let (cookie, _) = teacher(&app, "ana@district.example").await?;
    let ip: IpAddr = "198.51.100.9".parse()?;
    // The page's long-poll, held by the server, from a school's address...
    let mut req = request(
        Method::GET,
        "/report/api/updates?cursor=0&wait=2",
        Auth::Cookie(&cookie),
        None,
        Vec::new(),
    )?;
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(ip, 40_000)));
    let router = app.router.clone();
    let held = tokio::spawn(async move { send(&router, req).await });
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.state.long_polls().is_empty() {
        assert!(Instant::now() < deadline, "the long-poll never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // ...does not take that address's only slot for requests without a credential.
    assert_eq!(app.state.unauthenticated_in_flight(ip), 0);
    assert_eq!(held.await?.status, StatusCode::OK);
    Ok(())
}
