//! Devices: enrollment, lookup by secret, last seen, revocation.

use super::StoreResult;
use super::records::*;
use time::OffsetDateTime;
use uuid::Uuid;

/// Devices.
pub trait DeviceStore {
    /// Checks the enrollment token and stores the device; `InvalidToken` when
    /// the token is unknown or revoked.
    fn enroll_device(&self, enroll_token_hash: &str, device: &NewDevice) -> StoreResult<()>;
    fn device_by_secret_hash(&self, secret_hash: &str) -> StoreResult<Option<DeviceRecord>>;
    fn device(&self, id: Uuid) -> StoreResult<Option<DeviceRecord>>;
    fn touch_device(&self, id: Uuid, now: OffsetDateTime) -> StoreResult<()>;
    /// `NotFound` for an unknown device.
    fn revoke_device(&self, id: Uuid, now: OffsetDateTime) -> StoreResult<()>;
    /// Every device, most recently seen first, with its count of tickets
    /// that are not resolved or closed.
    fn list_devices(&self) -> StoreResult<Vec<DeviceSummary>>;
}
