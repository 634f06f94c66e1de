//! How the server's cookies are named and flagged: the console's session and
//! sign-in cookies, and the web report page's session. One rule for all:
//! `HttpOnly`, `SameSite=Lax`, and over HTTPS `Secure` with the `__Host-`
//! prefix (see [`Cookies`]).

use crate::auth;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, header};

/// The value of cookie `name` in the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The prefix that binds a cookie to this host over HTTPS: browsers accept it
/// only with `Secure`, `Path=/` and no `Domain`, set over HTTPS, so neither a
/// plain-HTTP page nor a sibling host can plant one.
pub const HOST_PREFIX: &str = "__Host-";

/// How the server's cookies are named and flagged for one request. Over
/// HTTPS ([`auth::is_secure`]: the server's own TLS, or a trusted proxy saying
/// so), or always with `always_secure_cookies`, they are `Secure` and named
/// with [`HOST_PREFIX`], and only the prefixed names are read; otherwise the
/// plain names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cookies {
    secure: bool,
}

impl Cookies {
    /// The cookies of a request with these headers and extensions.
    pub fn of(state: &AppState, headers: &HeaderMap, extensions: &Extensions) -> Self {
        let config = state.config();
        let secure = config.always_secure_cookies
            || auth::is_secure(headers, extensions, &config.trusted_proxies);
        Cookies { secure }
    }

    /// Whether the cookies are `Secure` (and prefixed).
    pub fn secure(&self) -> bool {
        self.secure
    }

    fn name(&self, base: &str) -> String {
        if self.secure {
            format!("{HOST_PREFIX}{base}")
        } else {
            base.to_owned()
        }
    }

    /// The value of cookie `base` (by this request's name for it).
    pub fn get(&self, headers: &HeaderMap, base: &str) -> Option<String> {
        cookie(headers, &self.name(base))
    }

    /// A `Set-Cookie` value for cookie `base`; `max_age_secs = 0` deletes it.
    pub fn set(&self, base: &str, value: &str, max_age_secs: u64) -> String {
        let name = self.name(base);
        let mut c =
            format!("{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax");
        if self.secure {
            c.push_str("; Secure");
        }
        c
    }
}

impl FromRequestParts<AppState> for Cookies {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Cookies::of(state, &parts.headers, &parts.extensions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn secure_cookies_are_prefixed_and_read_by_their_prefixed_name() {
        let (plain, secure) = (Cookies { secure: false }, Cookies { secure: true });
        assert_eq!(
            secure.set("a", "b", 10),
            "__Host-a=b; Path=/; Max-Age=10; HttpOnly; SameSite=Lax; Secure"
        );
        assert_eq!(
            plain.set("a", "b", 10),
            "a=b; Path=/; Max-Age=10; HttpOnly; SameSite=Lax"
        );
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=plain"));
        assert_eq!(plain.get(&h, "a").as_deref(), Some("plain"));
        assert_eq!(
            secure.get(&h, "a"),
            None,
            "a plain cookie is not read over HTTPS"
        );
        h.insert(header::COOKIE, HeaderValue::from_static("__Host-a=host"));
        assert_eq!(secure.get(&h, "a").as_deref(), Some("host"));
        assert_eq!(plain.get(&h, "a"), None);
    }
}
