//! Devices: enrollment, lookup by secret, last seen, revocation.

use super::StoreResult;
use time::OffsetDateTime;
use uuid::Uuid;

/// A device as the server knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: Uuid,
    pub hostname: String,
    pub school: Option<String>,
    pub building: Option<String>,
    pub os: Option<String>,
    pub model: Option<String>,
    pub enrolled_at: OffsetDateTime,
    pub last_seen_at: Option<OffsetDateTime>,
    pub revoked: bool,
}

/// A device to enroll.
#[derive(Debug, Clone)]
pub struct NewDevice {
    pub id: Uuid,
    pub secret_hash: String,
    pub hostname: String,
    pub school: Option<String>,
    pub building: Option<String>,
    pub os: Option<String>,
    pub model: Option<String>,
    pub agent_version: Option<String>,
    pub enrolled_at: OffsetDateTime,
}

/// A device with what the devices page shows around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSummary {
    pub device: DeviceRecord,
    pub agent_version: Option<String>,
    pub open_tickets: i64,
}

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
