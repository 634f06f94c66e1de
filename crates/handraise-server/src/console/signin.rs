//! Signing in and out. The rules (growing delay, password check, session) are in
//! [`crate::service::accounts`]; this turns them into pages and cookies.

use super::pages::{Chrome, SignInPage, render, wait_text};
use super::session::{Cookies, SESSION_COOKIE, SIGN_IN_PATH, SIGNIN_COOKIE, Signed};
use super::{Form, Page, QUEUE_PATH, see_other};
use crate::auth::ClientIp;
use crate::limits::retry_after_secs;
use crate::secret::new_secret;
use crate::service::accounts::{self, SignIn};
use crate::state::AppState;
use crate::store::now_utc;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

pub(super) async fn home(session: Option<Signed>) -> Response {
    match session {
        Some(_) => see_other(QUEUE_PATH),
        None => see_other(SIGN_IN_PATH),
    }
}

/// Adds `Set-Cookie` lines to `response`.
fn set_cookies(response: &mut Response, cookies: &[String]) {
    for cookie in cookies {
        if let Ok(v) = HeaderValue::from_str(cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}

/// The sign-in page with its double-submit CSRF cookie (set when missing).
fn sign_in_response(
    status: StatusCode,
    (headers, cookies): (&HeaderMap, Cookies),
    email: String,
    error: Option<String>,
) -> Response {
    let existing = cookies.get(headers, SIGNIN_COOKIE);
    let token = existing.clone().unwrap_or_else(new_secret);
    let mut c = Chrome::anonymous("Sign in");
    c.csrf = token.clone();
    let mut response = render(status, &SignInPage { c, email, error });
    if existing.is_none() {
        set_cookies(&mut response, &[cookies.set(SIGNIN_COOKIE, &token, 3600)]);
    }
    response
}

pub(super) async fn page(
    session: Option<Signed>,
    cookies: Cookies,
    headers: HeaderMap,
) -> Response {
    if session.is_some() {
        return see_other(QUEUE_PATH);
    }
    sign_in_response(StatusCode::OK, (&headers, cookies), String::new(), None)
}

#[derive(Debug, Deserialize)]
pub(super) struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub(super) async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    cookies: Cookies,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> Page {
    let email = f.email.trim().to_owned();
    let attempt = (email.as_str(), f.password.as_str());
    let outcome = accounts::sign_in(
        state.store(),
        &state.sign_in_policy(),
        attempt,
        ip,
        now_utc(),
    )
    .await?;
    let retry_later = |status, secs, text: String| {
        let page = sign_in_response(status, (&headers, cookies), email.clone(), Some(text));
        Ok(with_retry_after(secs, page))
    };
    let signed = match outcome {
        SignIn::Signed(signed) => signed,
        SignIn::Wait(wait) => {
            let secs = retry_after_secs(wait);
            let text = format!(
                "Too many failed sign-ins. Please wait {} before trying again.",
                wait_text(secs)
            );
            return retry_later(StatusCode::TOO_MANY_REQUESTS, secs, text);
        }
        SignIn::Busy => {
            let secs = accounts::BUSY_RETRY_AFTER_SECS;
            let text = format!(
                "The server is busy checking other sign-ins. Please wait {} and try again.",
                wait_text(secs)
            );
            return retry_later(StatusCode::SERVICE_UNAVAILABLE, secs, text);
        }
        SignIn::Refused => {
            let text = "That email and password do not match an account. Check them and try again.";
            return Ok(sign_in_response(
                StatusCode::UNAUTHORIZED,
                (&headers, cookies),
                email,
                Some(text.into()),
            ));
        }
    };
    let max_age = signed.max_age.as_secs();
    let mut response = see_other(QUEUE_PATH);
    set_cookies(
        &mut response,
        &[
            cookies.set(SESSION_COOKIE, &signed.token, max_age),
            cookies.set(SIGNIN_COOKIE, "", 0),
        ],
    );
    Ok(response)
}

/// `response` with `Retry-After: secs`.
fn with_retry_after(secs: u64, mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

pub(super) async fn sign_out(
    State(state): State<AppState>,
    cookies: Cookies,
    headers: HeaderMap,
) -> Page {
    if let Some(token) = cookies.get(&headers, SESSION_COOKIE) {
        state
            .db(move |s| accounts::sign_out(s, &token, now_utc()))
            .await?;
    }
    let mut response = see_other(SIGN_IN_PATH);
    set_cookies(&mut response, &[cookies.set(SESSION_COOKIE, "", 0)]);
    Ok(response)
}
