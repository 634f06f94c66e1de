//! Signing in with OpenID Connect: `/auth/start` sends the browser to the
//! provider, `/auth/callback` takes it back. The protocol is in
//! [`crate::oidc`], who may sign in and as what in
//! [`crate::service::oidc`]; this turns them into redirects, cookies and
//! pages that say what went wrong (never a bare 500).

use super::pages::{Chrome, render};
use super::session::Cookies;
use super::signin::{set_cookies, signed_in};
use crate::auth::ClientIp;
use crate::oidc::{IdClaims, OidcError, PENDING_TTL, Purpose};
use crate::service::oidc::{self as rules, OidcSignIn};
use crate::service::web;
use crate::state::AppState;
use crate::store::now_utc;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

pub const START_PATH: &str = "/auth/start";
/// The cookie that binds a sign-in under way to the browser that began it.
pub const OIDC_COOKIE: &str = "hr_oidc";

/// A sign-in that could not be completed, and why.
#[derive(Template)]
#[template(path = "sign_in_problem.html")]
struct ProblemPage {
    c: Chrome,
    heading: String,
    message: String,
}

fn problem(status: StatusCode, heading: &str, message: &str) -> Response {
    let page = ProblemPage {
        c: Chrome::anonymous(heading),
        heading: heading.into(),
        message: message.into(),
    };
    render(status, &page)
}

/// The page of a sign-in that failed with `e`.
fn failed(e: &OidcError) -> Response {
    match e {
        OidcError::Unreachable(why) => {
            tracing::warn!(error = %why, "the OpenID provider cannot be reached");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "The sign-in service cannot be reached",
                "The district's sign-in provider is not answering right now, so you cannot sign \
                 in with it. Try again in a few minutes. If it stays down, an IT admin can sign \
                 in with the break-glass password.",
            )
        }
        OidcError::UnknownState => problem(
            StatusCode::BAD_REQUEST,
            "This sign-in has expired",
            "This sign-in link is unknown, was already used, is older than ten minutes, or was \
             begun in another browser. Nothing was signed in. Start again from the sign-in page.",
        ),
        OidcError::Refused(_) | OidcError::InvalidToken(_) => {
            tracing::warn!(error = %e, "OpenID sign-in refused");
            problem(
                StatusCode::UNAUTHORIZED,
                "The sign-in was not accepted",
                "The answer from the sign-in provider did not pass the server's checks, so \
                 nothing was signed in. Start again from the sign-in page; if it happens again, \
                 tell district IT.",
            )
        }
        OidcError::Secret(why) => {
            tracing::error!(error = %why, "the OpenID client secret cannot be used");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in is not set up correctly",
                "The server cannot read its sign-in client secret. Tell district IT: the server's \
                 log says why.",
            )
        }
    }
}

fn not_configured() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "No district sign-in here",
        "This server has no OpenID Connect sign-in configured. Sign in with a password.",
    )
}

/// `/auth/start`: a new sign-in, and off to the provider.
pub(super) async fn start(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    cookies: Cookies,
) -> Response {
    let Some(client) = state.oidc() else {
        return not_configured();
    };
    if let Err(e) = state.check_oidc_start_rate(ip) {
        return super::pages::error_response(e);
    }
    match rules::begin(state.store(), client, Purpose::Console, now_utc()).await {
        Ok(Ok(started)) => {
            let mut response = Redirect::to(&started.url).into_response();
            let cookie = cookies.set(OIDC_COOKIE, &started.browser, PENDING_TTL.as_secs());
            set_cookies(&mut response, &[cookie]);
            response
        }
        Ok(Err(e)) => failed(&e),
        Err(e) => super::pages::error_response(e),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Callback {
    #[serde(default)]
    state: String,
    #[serde(default)]
    code: String,
    error: Option<String>,
}

/// `/auth/callback`: the provider's answer, checked, and the console
/// session opened.
pub(super) async fn callback(
    State(state): State<AppState>,
    cookies: Cookies,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    let Some(client) = state.oidc() else {
        return not_configured();
    };
    let browser = cookies.get(&headers, OIDC_COOKIE);
    if let Some(error) = q.error {
        if let Err(e) = rules::take(state.store(), &q.state, browser.as_deref(), now_utc()).await {
            return super::pages::error_response(e);
        }
        tracing::info!(%error, "the OpenID provider did not sign the user in");
        return problem(
            StatusCode::UNAUTHORIZED,
            "You were not signed in",
            &format!("The sign-in provider ended the sign-in ({error}). Nothing was signed in."),
        );
    }
    let answer = (q.state.as_str(), q.code.as_str());
    let finished = rules::finish(state.store(), client, answer, browser.as_deref(), now_utc());
    let (claims, purpose) = match finished.await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => return failed(&e),
        Err(e) => return super::pages::error_response(e),
    };
    let refused = |r: rules::Refusal| {
        tracing::info!(reason = %r, "OpenID sign-in refused");
        problem(
            StatusCode::FORBIDDEN,
            "This account may not sign in here",
            &format!("{r}. Sign in with your district account, or ask district IT for access."),
        )
    };
    if purpose == Purpose::Report {
        return report_signed_in(&state, cookies, &claims).await;
    }
    let who = match rules::admit(client.config(), &claims) {
        Ok(who) => who,
        Err(r) => return refused(r),
    };
    let hours = state.config().session_hours;
    match rules::sign_in(state.store(), who, hours, now_utc()).await {
        Ok(OidcSignIn::Signed(session)) => signed_in(cookies, &session, &[OIDC_COOKIE]),
        Ok(OidcSignIn::Refused(r)) => refused(r),
        Err(e) => super::pages::error_response(e),
    }
}

/// The end of a teacher's sign-in for the web report page: the teachers'
/// rules ([`rules::admit_teacher`]), their web device and session, and back
/// to the page.
async fn report_signed_in(state: &AppState, cookies: Cookies, claims: &IdClaims) -> Response {
    let Some(client) = state.oidc() else {
        return not_configured();
    };
    let teacher = match rules::admit_teacher(client.config(), claims) {
        Ok(t) => t,
        Err(r) => {
            tracing::info!(reason = %r, "web report sign-in refused");
            return problem(
                StatusCode::FORBIDDEN,
                "This account may not report here",
                &format!("{r}. Sign in with your district account."),
            );
        }
    };
    match web::sign_in(state.store(), teacher, now_utc()).await {
        Ok(session) => {
            let mut response = Redirect::to(web::REPORT_PATH).into_response();
            let set = [
                cookies.set(
                    web::REPORT_COOKIE,
                    &session.token,
                    session.max_age.as_secs(),
                ),
                cookies.set(OIDC_COOKIE, "", 0),
            ];
            set_cookies(&mut response, &set);
            response
        }
        Err(e) => super::pages::error_response(e),
    }
}
