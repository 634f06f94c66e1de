//! Bearer credentials of the agent and technician APIs: the extractors that
//! check a device secret or a technician token against the store (which keeps
//! SHA-256 hashes only, made by [`crate::secret`]).

use crate::error::AppError;
pub use crate::secret::{hash_secret, new_secret};
use crate::service::enrollment;
use crate::state::AppState;
use crate::store::{DeviceRecord, Technician, UserRecord, now_utc};
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

/// The enabled console user whose live technician API token the request
/// bears; looked up on every request, so a revoked or expired token, or a
/// disabled user, is refused at once.
async fn tech_user(parts: &Parts, state: &AppState) -> Result<UserRecord, AppError> {
    let token = bearer(parts).ok_or(AppError::Unauthorized)?.to_owned();
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
