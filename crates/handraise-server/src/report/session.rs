//! The web reporter's session: a random token in the `hr_report` cookie
//! (named and flagged by the server's cookie rules, [`crate::cookies::Cookies`]: `HttpOnly`,
//! `SameSite=Lax`, `Secure` and `__Host-` over HTTPS), whose hash the store
//! keeps with the session's CSRF token. Every call but a read must carry that
//! token in the `X-CSRF-Token` header (a page of another site can neither
//! read it nor set the header without the server's consent).

use crate::auth;
use crate::error::AppError;
use crate::secret::same_secret;
use crate::state::AppState;
use crate::store::WebSession;
use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;

pub use crate::service::web::REPORT_COOKIE;
/// The header carrying the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A signed-in web reporter whose device is live and within its rate
/// limit; for anything but GET, with the right CSRF token.
#[derive(Debug, Clone)]
pub struct Reporter(pub WebSession);

impl FromRequestParts<AppState> for Reporter {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let session = auth::web_session_of(parts, state).await?;
        if parts.method != Method::GET && parts.method != Method::HEAD {
            let given = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !same_secret(given, &session.csrf_token) {
                tracing::warn!(path = %parts.uri.path(), "web report call refused: bad CSRF token");
                return Err(AppError::Forbidden(
                    "the page's security token is missing or stale; reload the page".into(),
                ));
            }
        }
        state.check_device_rate(session.device.id)?;
        state.touch_device(session.device.id);
        Ok(Reporter(session))
    }
}
