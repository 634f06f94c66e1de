//! Bearer credentials of the agent and technician APIs: the extractors that
//! check a device secret or a technician token against the store (which keeps
//! SHA-256 hashes only, made by [`crate::secret`]).

use crate::error::AppError;
pub use crate::secret::{hash_secret, new_secret};
use crate::state::AppState;
use crate::store::{DeviceRecord, Technician};
use axum::extract::ConnectInfo;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The hash of the request's bearer credential, as the store keeps it;
/// `Unauthorized` without one.
fn bearer_hash(parts: &Parts) -> Result<String, AppError> {
    Ok(hash_secret(bearer(parts).ok_or(AppError::Unauthorized)?))
}

/// An authenticated, non-revoked device that is within its rate limit.
#[derive(Debug, Clone)]
pub struct DeviceAuth(pub DeviceRecord);

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let device = state
            .device_by_secret_hash(bearer_hash(parts)?)
            .await?
            .ok_or(AppError::Unauthorized)?;
        if device.revoked {
            return Err(AppError::DeviceRevoked);
        }
        state.check_device_rate(device.id)?;
        state.touch_device(device.id);
        Ok(DeviceAuth(device))
    }
}

/// An authenticated technician.
#[derive(Debug, Clone)]
pub struct TechAuth(pub Technician);

impl FromRequestParts<AppState> for TechAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let hash = bearer_hash(parts)?;
        state
            .db(move |s| s.technician_by_token_hash(&hash))
            .await?
            .map(TechAuth)
            .ok_or(AppError::Unauthorized)
    }
}

/// The peer address of the connection (unspecified when not served over
/// TCP, as in handler tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ci| ci.0.ip())
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        ))
    }
}
