//! Devices: enrolling one and revoking it.

use super::run;
use super::text::{optional_text, required_text};
use crate::error::AppError;
use crate::store::{NewDevice, Store};
use handraise_wire as wire;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// Longest hostname, and longest school, building, OS and model.
const MAX_HOSTNAME_CHARS: usize = 255;
const MAX_FIELD_CHARS: usize = 200;
const MAX_VERSION_CHARS: usize = 64;

/// Enrolls a device with the enrollment token whose hash is
/// `enroll_token_hash`; its secret is kept as `secret_hash` only. Returns
/// the new device's id; `InvalidToken` when the token is unknown, blank or
/// revoked.
pub async fn enroll(
    store: &Arc<dyn Store>,
    enroll_token_hash: String,
    secret_hash: String,
    req: &wire::EnrollRequest,
    now: OffsetDateTime,
) -> Result<Uuid, AppError> {
    if req.token.trim().is_empty() {
        return Err(AppError::InvalidToken);
    }
    let hostname = required_text("hostname", &req.hostname, MAX_HOSTNAME_CHARS)?;
    let device = NewDevice {
        school: optional_text("school", req.school.as_deref(), MAX_FIELD_CHARS)?,
        building: optional_text("building", req.building.as_deref(), MAX_FIELD_CHARS)?,
        os: optional_text("os", req.os.as_deref(), MAX_FIELD_CHARS)?,
        model: optional_text("model", req.model.as_deref(), MAX_FIELD_CHARS)?,
        agent_version: optional_text(
            "agent_version",
            req.agent_version.as_deref(),
            MAX_VERSION_CHARS,
        )?,
        ..NewDevice::new(Uuid::now_v7(), secret_hash, hostname, now)
    };
    let id = device.id;
    run(store, move |s| s.enroll_device(&enroll_token_hash, &device)).await?;
    Ok(id)
}

/// Revokes a device: its secret answers 403 from now on, which pauses its
/// queue; `NotFound` when unknown. The caller forgets any cached lookup.
pub async fn revoke(
    store: &Arc<dyn Store>,
    device_id: Uuid,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    run(store, move |s| s.revoke_device(device_id, now)).await?;
    tracing::info!(%device_id, "device revoked");
    Ok(())
}
