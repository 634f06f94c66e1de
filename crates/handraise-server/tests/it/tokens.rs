//! Technician API tokens: the authorisation matrix (roles, expiry,
//! revocation, disabled users), checked on the very next request.

use super::console::{SignedIn, enc, page, sign_in_form, user};
use axum::http::{Method, StatusCode};
use handraise_server::service::enrollment::{self, TokenOwner};
use handraise_server::store::{AccountStore, Role, now_utc};
use handraise_testkit::router::{App, assert_error};
use time::Duration;

const LIST: &str = "/api/v1/tech/tickets";

fn revoke_uri(device: &str) -> String {
    format!("/api/v1/tech/devices/{device}/revoke")
}

#[tokio::test]
async fn roles_decide_admin_endpoints() {
    let app = App::new();
    app.user("tech@example.org", Role::Technician);
    let technician = app.token_of("tech@example.org", None, now_utc());
    let script = app.tech("Scripted");
    let admin = app.admin_tech("lead@example.org");
    let (device, _) = app.device(None, None).await;

    for token in [&technician, &script, &admin] {
        assert_eq!(app.get(LIST, token).await.status, StatusCode::OK);
    }
    for token in [&technician, &script] {
        let r = app.post_empty(&revoke_uri(&device), token).await;
        assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    }
    let r = app.post_empty(&revoke_uri(&device), &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    for token in ["", "not-a-token"] {
        assert_error(
            &app.get(LIST, token).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        let r = app.post_empty(&revoke_uri(&device), token).await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
    }
}

#[tokio::test]
async fn expired_tokens_answer_401() {
    let app = App::new();
    app.user("tech@example.org", Role::Technician);
    let now = now_utc();
    let made = |days_ago: i64, days: Option<u32>| {
        app.token_of("tech@example.org", days, now - Duration::days(days_ago))
    };
    // Tokens last 90 days unless told otherwise.
    let live = made(89, None);
    let expired = made(91, None);
    let short = made(2, Some(1));
    let long = made(300, Some(365));
    assert_eq!(app.get(LIST, &live).await.status, StatusCode::OK);
    assert_eq!(app.get(LIST, &long).await.status, StatusCode::OK);
    for token in [&expired, &short] {
        assert_error(
            &app.get(LIST, token).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
    }
}

#[tokio::test]
async fn a_revoked_token_answers_401_on_its_next_request() {
    let app = App::new();
    let admin = app.admin_tech("lead@example.org");
    let other = app.token_of("lead@example.org", None, now_utc());
    assert_eq!(app.get(LIST, &admin).await.status, StatusCode::OK);
    let store = app.store.as_ref();
    let tokens = enrollment::list_tech_tokens(store, None).expect("list");
    assert_eq!(tokens.len(), 2);
    assert!(tokens[0].last_used_at.is_some(), "the use is recorded");
    assert!(tokens[1].last_used_at.is_none());
    enrollment::revoke_tech_token(store, None, tokens[0].id, now_utc()).expect("revoke");
    assert_error(
        &app.get(LIST, &admin).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_eq!(
        app.get(LIST, &other).await.status,
        StatusCode::OK,
        "only that token"
    );
}

#[tokio::test]
async fn a_disabled_users_tokens_answer_401_until_enabled() {
    let app = App::new();
    let user = app.user("tech@example.org", Role::Technician);
    let token = app.token_of("tech@example.org", None, now_utc());
    assert_eq!(app.get(LIST, &token).await.status, StatusCode::OK);
    app.store
        .set_user_disabled(user.id, true, now_utc())
        .expect("disable");
    assert_error(
        &app.get(LIST, &token).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let refused = enrollment::create_tech_token(
        app.store.as_ref(),
        TokenOwner::Email("tech@example.org"),
        None,
        now_utc(),
    );
    assert!(refused.is_err(), "no new token for a disabled user");
    app.store
        .set_user_disabled(user.id, false, now_utc())
        .expect("enable");
    assert_eq!(app.get(LIST, &token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn technicians_see_and_revoke_only_their_own_tokens() {
    let app = App::new();
    let tech = app.user("tech@example.org", Role::Technician);
    let admin = app.user("lead@example.org", Role::Admin);
    app.token_of("tech@example.org", None, now_utc());
    let theirs = app.token_of("lead@example.org", None, now_utc());
    let store = app.store.as_ref();
    let own = enrollment::list_tech_tokens(store, Some(&tech)).expect("list");
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].user_email, "tech@example.org");
    let all = enrollment::list_tech_tokens(store, Some(&admin)).expect("list");
    assert_eq!(all.len(), 2);
    let admins = all.iter().find(|t| t.user_id == admin.id).expect("admin's");
    let r = enrollment::revoke_tech_token(store, Some(&tech), admins.id, now_utc());
    assert!(r.is_err(), "a technician cannot revoke an admin's token");
    assert_eq!(app.get(LIST, &theirs).await.status, StatusCode::OK);
    enrollment::revoke_tech_token(store, Some(&admin), own[0].id, now_utc()).expect("revoke");
}

/// The token shown once on the API tokens page.
fn shown_token(html: &str) -> String {
    let marker = "<code class=\"token\">";
    let start = html
        .find(marker)
        .map(|i| i + marker.len())
        .expect("a token");
    html[start..].split('<').next().unwrap_or("").to_owned()
}

#[tokio::test]
async fn the_console_makes_lists_and_revokes_api_tokens_by_role() {
    let app = App::new();
    user(&app, "tom@example.org", "Tom", Role::Technician).await;
    user(&app, "ada@example.org", "Ada", Role::Admin).await;
    let tom = SignedIn::sign_in(&app, "tom@example.org").await;
    let ada = SignedIn::sign_in(&app, "ada@example.org").await;

    let r = tom.send("/console/api-tokens", "days=0").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = tom.send("/console/api-tokens", "days=30").await;
    assert_eq!(r.status, StatusCode::OK);
    let toms = shown_token(&r.html);
    let r = ada.send("/console/api-tokens", "days=30").await;
    let adas = shown_token(&r.html);
    let (device, _) = app.device(None, None).await;
    let r = app.post_empty(&revoke_uri(&device), &toms).await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.get(LIST, &adas).await.status, StatusCode::OK);

    let r = page(&app, Method::GET, "/console/api-tokens", &tom.session, None).await;
    assert!(r.html.contains("Your API tokens") && !r.html.contains("ada@example.org"));
    let r = page(&app, Method::GET, "/console/api-tokens", &ada.session, None).await;
    assert!(r.html.contains("tom@example.org") && r.html.contains("ada@example.org"));

    let tokens = enrollment::list_tech_tokens(app.store.as_ref(), None).expect("list");
    let id_of = |email: &str| tokens.iter().find(|t| t.user_email == email).expect("t").id;
    let r = tom
        .send(
            &format!("/console/api-tokens/{}/revoke", id_of("ada@example.org")),
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not Tom's to revoke");
    assert_eq!(app.get(LIST, &adas).await.status, StatusCode::OK);
    let r = ada
        .send(
            &format!("/console/api-tokens/{}/revoke", id_of("tom@example.org")),
            "",
        )
        .await;
    assert_eq!(r.location(), "/console/api-tokens?done=api-token");
    assert_error(
        &app.get(LIST, &toms).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}

#[tokio::test]
async fn a_scripts_password_less_user_cannot_sign_in_to_the_console() {
    let app = App::new();
    let token = app.tech("Scripted");
    assert_eq!(app.get(LIST, &token).await.status, StatusCode::OK);
    let (pre, csrf) = sign_in_form(&app).await;
    for password in ["", "a long enough password"] {
        let body = format!("csrf={csrf}&email=Scripted&password={}", enc(password));
        let r = page(&app, Method::POST, "/console/sign-in", &pre, Some(&body)).await;
        assert_ne!(r.status, StatusCode::SEE_OTHER, "{password:?}");
        assert!(
            r.headers
                .get("set-cookie")
                .is_none_or(|c| { !c.to_str().unwrap_or("").starts_with("hr_session=") })
        );
    }
}
