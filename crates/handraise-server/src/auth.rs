//! Bearer credentials: device secrets and technician tokens, stored as
//! SHA-256 hashes only.

use crate::store::{DeviceRecord, Technician};
use crate::{AppError, AppState};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

/// A new random secret: 32 bytes, hex encoded.
pub fn new_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// SHA-256 of a secret, hex encoded: the only form the store keeps.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// An authenticated, non-revoked device that is within its rate limit.
#[derive(Debug, Clone)]
pub struct DeviceAuth(pub DeviceRecord);

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let hash = hash_secret(bearer(parts).ok_or(AppError::Unauthorized)?);
        let device = state
            .device_by_secret_hash(hash)
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
        let hash = hash_secret(bearer(parts).ok_or(AppError::Unauthorized)?);
        state
            .db(move |s| s.technician_by_token_hash(&hash))
            .await?
            .map(TechAuth)
            .ok_or(AppError::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hashes_stable() {
        let a = new_secret();
        assert_eq!(a.len(), 64);
        assert_ne!(a, new_secret());
        assert_eq!(hash_secret("x"), hash_secret("x"));
        assert_ne!(hash_secret("x"), "x");
    }
}
