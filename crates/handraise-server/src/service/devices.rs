//! Devices: revoking one (enrolling is in [`super::enrollment`]).

use super::run;
use crate::error::AppError;
use crate::store::Store;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

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
