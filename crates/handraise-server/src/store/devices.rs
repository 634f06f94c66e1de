//! Devices: enrollment, lookup by secret, last seen, revocation.

use super::StoreResult;
use super::records::*;
use handraise_wire::EnrollRefusal;
use time::OffsetDateTime;
use uuid::Uuid;

/// Devices.
pub trait DeviceStore {
    /// In one transaction: reads the token with hash `enroll_token_hash` and the devices
    /// of `machine_id`, asks `decide`, and stores the device and the enrollment it
    /// decided (or nothing, answering its refusal).
    fn enroll_device(
        &self,
        enroll_token_hash: &str,
        machine_id: Option<&str>,
        decide: &mut DecideEnrollment<'_>,
    ) -> StoreResult<Result<(), EnrollRefusal>>;
    fn device_by_secret_hash(&self, secret_hash: &str) -> StoreResult<Option<DeviceRecord>>;
    fn device(&self, id: Uuid) -> StoreResult<Option<DeviceRecord>>;
    fn touch_device(&self, id: Uuid, now: OffsetDateTime) -> StoreResult<()>;
    /// `NotFound` for an unknown device.
    fn revoke_device(&self, id: Uuid, now: OffsetDateTime) -> StoreResult<()>;
    /// Every device, most recently seen first, with its count of tickets
    /// that are not resolved or closed.
    fn list_devices(&self) -> StoreResult<Vec<DeviceSummary>>;
    /// Marks the revoked devices of `machine_id` not yet allowed as allowed to enroll
    /// again; how many it marked.
    fn allow_reenrollment(&self, machine_id: &str, now: OffsetDateTime) -> StoreResult<usize>;
    /// Re-enrollments (enrollments following an earlier device of the same computer),
    /// newest first, at most `limit`.
    fn list_reenrollments(&self, limit: usize) -> StoreResult<Vec<ReenrollmentRecord>>;
}
