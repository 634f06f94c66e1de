//! Bearer credentials of the agent and technician APIs: the extractors that
//! check a device secret or a technician token against the store (which keeps
//! SHA-256 hashes only, made by [`crate::secret`]).

use crate::config::TrustedProxies;
use crate::cookies::Cookies;
use crate::error::AppError;
pub use crate::secret::{hash_secret, new_secret};
use crate::service::{enrollment, web};
use crate::state::AppState;
use crate::store::{DeviceRecord, Technician, UserRecord, WebSession, now_utc};
use axum::extract::ConnectInfo;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, header};
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The hash of the request's bearer credential, as the store keeps it;
/// `Unauthorized` without one.
fn bearer_hash(parts: &Parts) -> Result<String, AppError> {
    Ok(hash_secret(
        bearer(&parts.headers).ok_or(AppError::Unauthorized)?,
    ))
}

/// A bearer the `guard` middleware already found valid ([`check_bearer`]),
/// kept in the request so the extractor does not look it up again.
#[derive(Debug, Clone)]
enum Checked {
    Device(DeviceRecord),
    Tech(UserRecord),
    /// The web report page's session (its cookie), on `/report/api/`.
    Web(Box<WebSession>),
}

/// Whether the request bears a valid credential of the API its path is on:
/// a live device's secret on the agent API, a live technician token on
/// `/api/v1/tech/`. What it found stays in the request for [`DeviceAuth`]
/// and the technician extractors. Anything else (no bearer, a bad one, a
/// console page) is unauthenticated.
pub async fn check_bearer(parts: &mut Parts, state: &AppState) -> bool {
    if parts.uri.path().starts_with(WEB_API_PREFIX) {
        // The web report page's calls carry its session cookie, not a bearer: a live one
        // counts as a credential, so a school's teachers behind one address are not held
        // to the cap on unauthenticated requests.
        let session = web_session(parts, state).await;
        let valid = session.is_some();
        if let Some(session) = session {
            parts.extensions.insert(Checked::Web(Box::new(session)));
        }
        return valid;
    }
    let Some(token) = bearer(&parts.headers).map(str::to_owned) else {
        return false;
    };
    let path = parts.uri.path();
    let checked = if path.starts_with("/api/v1/tech/") {
        let user = state
            .blocking(move |s| enrollment::tech_token_user(s, &token, now_utc()))
            .await;
        user.ok().flatten().map(Checked::Tech)
    } else if path.starts_with("/api/v1/") {
        let device = state.device_by_secret_hash(hash_secret(&token)).await;
        device
            .ok()
            .flatten()
            .filter(|d| !d.revoked)
            .map(Checked::Device)
    } else {
        None
    };
    let valid = checked.is_some();
    if let Some(checked) = checked {
        parts.extensions.insert(checked);
    }
    valid
}

/// Where the web report page's JSON calls live.
pub const WEB_API_PREFIX: &str = "/report/api/";

/// The live web report session whose cookie the request carries (named by the
/// cookie rules of [`Cookies`]).
async fn web_session(parts: &Parts, state: &AppState) -> Option<WebSession> {
    let cookies = Cookies::of(state, &parts.headers, &parts.extensions);
    let token = cookies.get(&parts.headers, web::REPORT_COOKIE)?;
    state
        .blocking(move |s| web::session(s, &token, now_utc()))
        .await
        .ok()
        .flatten()
}

/// The web report session of the request: the one the `guard` middleware found,
/// else looked up now; `Unauthorized` without a live one.
pub async fn web_session_of(parts: &mut Parts, state: &AppState) -> Result<WebSession, AppError> {
    match parts.extensions.remove::<Checked>() {
        Some(Checked::Web(session)) => Ok(*session),
        _ => web_session(parts, state)
            .await
            .ok_or(AppError::Unauthorized),
    }
}

/// An authenticated, non-revoked device that is within its rate limit.
#[derive(Debug, Clone)]
pub struct DeviceAuth(pub DeviceRecord);

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let device = match parts.extensions.remove::<Checked>() {
            Some(Checked::Device(device)) => device,
            _ => state
                .device_by_secret_hash(bearer_hash(parts)?)
                .await?
                .ok_or(AppError::Unauthorized)?,
        };
        if device.revoked {
            return Err(AppError::DeviceRevoked);
        }
        state.check_device_rate(device.id)?;
        state.touch_device(device.id);
        Ok(DeviceAuth(device))
    }
}

/// The enabled console user whose live technician API token the request
/// bears; looked up on every request, so a revoked or expired token, or a
/// disabled user, is refused at once.
async fn tech_user(parts: &mut Parts, state: &AppState) -> Result<UserRecord, AppError> {
    if let Some(Checked::Tech(user)) = parts.extensions.remove::<Checked>() {
        return Ok(user);
    }
    let token = bearer(&parts.headers)
        .ok_or(AppError::Unauthorized)?
        .to_owned();
    state
        .blocking(move |s| enrollment::tech_token_user(s, &token, now_utc()))
        .await?
        .ok_or(AppError::Unauthorized)
}

fn technician(user: &UserRecord) -> Technician {
    Technician {
        id: user.technician_id,
        name: user.technician_name.clone(),
    }
}

/// A technician authenticated by an API token (any role).
#[derive(Debug, Clone)]
pub struct TechAuth(pub Technician);

impl FromRequestParts<AppState> for TechAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(TechAuth(technician(&tech_user(parts, state).await?)))
    }
}

/// An admin authenticated by an API token: a technician's token gets 403.
#[derive(Debug, Clone)]
pub struct AdminTechAuth(pub Technician);

impl FromRequestParts<AppState> for AdminTechAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let user = tech_user(parts, state).await?;
        enrollment::require_admin(&user)?;
        Ok(AdminTechAuth(technician(&user)))
    }
}

/// The client's address: the TCP peer, or, when the peer is one of the
/// `trusted_proxies`, the rightmost `X-Forwarded-For` hop that is not itself a
/// trusted proxy (see [`client_address`]). Unspecified when not served over
/// TCP, as in handler tests. Every limit keyed by client address uses it.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

/// The TCP peer of a request; unspecified when not served over TCP.
fn peer(extensions: &Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = peer(&parts.extensions);
        let forwarded: Option<Vec<&str>> = parts
            .headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .map(|v| v.to_str().ok())
            .collect();
        let trusted = &state.config().trusted_proxies;
        Ok(ClientIp(client_address(
            peer,
            &forwarded.unwrap_or_default(),
            trusted,
        )))
    }
}

/// Put on every request that came over the server's own TLS, by the accept
/// loop (`transport`).
#[derive(Debug, Clone, Copy)]
pub struct OverTls;

/// Whether the client reached the server over HTTPS: over the server's own
/// TLS ([`OverTls`]), or through one of the `trusted_proxies` saying so
/// (`X-Forwarded-Proto: https`, or `proto=https` in `Forwarded`). From any
/// other peer those headers are ignored.
pub fn is_secure(headers: &HeaderMap, extensions: &Extensions, trusted: &TrustedProxies) -> bool {
    if extensions.get::<OverTls>().is_some() {
        return true;
    }
    if !trusted.contains(peer(extensions)) {
        return false;
    }
    let forwarded_proto = headers
        .get(X_FORWARDED_PROTO)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get(header::FORWARDED)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("proto=https"));
    forwarded_proto || forwarded
}

/// The header a TLS-terminating proxy names the client's scheme in.
const X_FORWARDED_PROTO: &str = "x-forwarded-proto";

/// The header a reverse proxy appends the address it received from to.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client behind `peer`: `peer` itself unless it is a trusted proxy;
/// then, walking the `X-Forwarded-For` hops (`forwarded_for`, the header's
/// values in order) from the right, the first hop that is not a trusted
/// proxy (or the leftmost, when all are). A hop that is not an address ends
/// the walk at the proxy that sent it. An IPv4 address written as IPv6 is
/// taken as IPv4.
pub fn client_address(peer: IpAddr, forwarded_for: &[&str], trusted: &TrustedProxies) -> IpAddr {
    let mut client = peer.to_canonical();
    if !trusted.contains(client) {
        return client;
    }
    let hops = forwarded_for.iter().flat_map(|v| v.split(','));
    for hop in hops.rev() {
        let hop = hop.trim();
        let parsed = hop
            .parse::<IpAddr>()
            .or_else(|_| hop.parse::<SocketAddr>().map(|a| a.ip()));
        let Ok(ip) = parsed else { break };
        client = ip.to_canonical();
        if !trusted.contains(client) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let trusted: TrustedProxies = "10.0.0.0/8, ::1".parse().unwrap_or_default();
        let client = |peer: &str, xff: &[&str]| client_address(ip(peer), xff, &trusted);
        // No proxy configured for this peer: the header is ignored.
        assert_eq!(client("198.51.100.9", &["203.0.113.7"]), ip("198.51.100.9"));
        // From a trusted proxy: the rightmost untrusted hop, whatever a client put left of it.
        assert_eq!(client("10.0.0.2", &["203.0.113.7"]), ip("203.0.113.7"));
        assert_eq!(
            client("10.0.0.2", &["1.2.3.4, 203.0.113.7, 10.0.0.3"]),
            ip("203.0.113.7")
        );
        assert_eq!(
            client("10.0.0.2", &["1.2.3.4", "203.0.113.7:4711"]),
            ip("203.0.113.7")
        );
        assert_eq!(client("::1", &["[2001:db8::5]:80"]), ip("2001:db8::5"));
        assert_eq!(
            client("::ffff:10.0.0.2", &["::ffff:203.0.113.7"]),
            ip("203.0.113.7")
        );
        // Every hop trusted: the leftmost.
        assert_eq!(client("10.0.0.2", &["10.0.0.9, 10.0.0.3"]), ip("10.0.0.9"));
        // No header, or garbage at the right: the proxy itself.
        assert_eq!(client("10.0.0.2", &[]), ip("10.0.0.2"));
        assert_eq!(
            client("10.0.0.2", &["203.0.113.7, nonsense"]),
            ip("10.0.0.2")
        );
        assert_eq!(client("10.0.0.2", &["nonsense, 10.0.0.3"]), ip("10.0.0.3"));
        // Nothing trusted: the peer, always.
        let none = TrustedProxies::default();
        assert_eq!(
            client_address(ip("10.0.0.2"), &["203.0.113.7"], &none),
            ip("10.0.0.2")
        );
    }
}
