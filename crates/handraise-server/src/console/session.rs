//! Console sessions and CSRF.
//!
//! A session is a random token in the `hr_session` cookie (`HttpOnly`,
//! `SameSite=Lax`; over HTTPS `Secure` and named `__Host-hr_session`: see
//! [`Cookies`]); the store keeps only its SHA-256 hash,
//! with an expiry and the session's CSRF token. [`console_layer`] runs before
//! every console handler: it loads the session, refuses any POST whose `csrf`
//! form field does not match (403), and sends a POST without a session back to
//! the sign-in page. The sign-in form itself is protected by a double-submit
//! cookie (`hr_signin`), since there is no session yet.

use super::pages::{ErrorPage, render};
use crate::error::AppError;
use crate::secret::same_secret;
use crate::service::accounts;
use crate::state::AppState;
use crate::store::{Role, SessionRecord, now_utc};
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

pub use crate::cookies::{Cookies, HOST_PREFIX, cookie};

pub const SESSION_COOKIE: &str = "hr_session";
pub const SIGNIN_COOKIE: &str = "hr_signin";
pub const SIGN_IN_PATH: &str = "/console/sign-in";

/// The `csrf` field of a urlencoded form body.
fn csrf_field(body: &[u8]) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v)
}

/// Headers every console answer carries.
fn harden(response: &mut Response) {
    let h = response.headers_mut();
    let set = |h: &mut HeaderMap, name: &'static str, value: &'static str| {
        if !h.contains_key(name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(
        h,
        "content-security-policy",
        "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    set(h, "x-frame-options", "DENY");
    set(h, "x-content-type-options", "nosniff");
    set(h, "referrer-policy", "same-origin");
    set(h, "cache-control", "no-store");
}

/// The 403 answered to a form post without a valid CSRF token.
pub fn csrf_refused() -> Response {
    render(
        StatusCode::FORBIDDEN,
        &ErrorPage::new(
            "This form has expired",
            "The form was sent without a valid security token, so nothing was changed. \
             This happens when a page was open for a long time, after signing out, or when \
             another site tries to send the form. Go back, reload the page and try again.",
        ),
    )
}

/// Loads the session, checks CSRF on every POST, hardens every answer.
pub async fn console_layer(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = match check(&state, request).await {
        Ok(request) => next.run(request).await,
        Err(response) => response,
    };
    harden(&mut response);
    response
}

async fn check(state: &AppState, mut request: Request) -> Result<Request, Response> {
    let cookies = Cookies::of(state, request.headers(), request.extensions());
    let session = match cookies.get(request.headers(), SESSION_COOKIE) {
        Some(token) => state
            .db(move |s| accounts::session(s, &token, now_utc()))
            .await
            .map_err(super::pages::error_response)?,
        None => None,
    };
    if request.method() == Method::POST {
        let sign_in = request.uri().path() == SIGN_IN_PATH;
        let expected = if sign_in {
            cookies.get(request.headers(), SIGNIN_COOKIE)
        } else {
            match &session {
                Some(s) => Some(s.csrf_token.clone()),
                None => return Err(Redirect::to(SIGN_IN_PATH).into_response()),
            }
        };
        let (parts, body) = request.into_parts();
        let limit = state.config().json_body_limit_bytes;
        let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
            super::pages::error_response(AppError::PayloadTooLarge("the form is too large".into()))
        })?;
        let valid = match (expected, csrf_field(&bytes)) {
            (Some(expected), Some(given)) => same_secret(&expected, &given),
            _ => false,
        };
        if !valid {
            tracing::warn!(path = %parts.uri.path(), "form refused: bad CSRF token");
            return Err(csrf_refused());
        }
        request = Request::from_parts(parts, Body::from(bytes));
    }
    if let Some(session) = session {
        request.extensions_mut().insert(session);
    }
    Ok(request)
}

/// A signed-in user; otherwise the request is sent to the sign-in page.
#[derive(Debug, Clone)]
pub struct Signed(pub SessionRecord);

impl<S: Send + Sync> FromRequestParts<S> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        parts
            .extensions
            .get::<SessionRecord>()
            .cloned()
            .map(Signed)
            .ok_or_else(|| Redirect::to(SIGN_IN_PATH).into_response())
    }
}

impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for Signed {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<SessionRecord>().cloned().map(Signed))
    }
}

/// A signed-in admin; a technician gets a 403 page.
#[derive(Debug, Clone)]
pub struct Admin(pub SessionRecord);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let Signed(session) = Signed::from_request_parts(parts, state).await?;
        if session.user.role != Role::Admin {
            return Err(render(
                StatusCode::FORBIDDEN,
                &ErrorPage::new(
                    "Admins only",
                    "This page is for district IT admins. Ask an admin if you need a change here.",
                ),
            ));
        }
        Ok(Admin(session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    #[test]
    fn cookies_and_csrf_fields_are_parsed() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; hr_session=abc ; b="),
        );
        assert_eq!(cookie(&h, "hr_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "b"), None);
        assert_eq!(cookie(&h, "c"), None);
        assert_eq!(csrf_field(b"x=1&csrf=t%2Bk").as_deref(), Some("t+k"));
    }
}
