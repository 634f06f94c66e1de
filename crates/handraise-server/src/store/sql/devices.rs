//! Devices.

use super::params;
use super::rows::{
    DEVICE_COLS, ENROLL_TOKEN_FROM, FINISHED, device_row, device_summary_row, enroll_token_row, ms,
    reenrollment_row,
};
use super::{SqlStore, all, changed, exec, first};
use crate::store::{
    DecideEnrollment, DeviceRecord, DeviceStore, DeviceSummary, EnrollContext, NewEnrollment,
    ReenrollmentRecord, StoreResult,
};
use handraise_wire::EnrollRefusal;
use time::OffsetDateTime;
use uuid::Uuid;

impl DeviceStore for SqlStore {
    fn enroll_device(
        &self,
        enroll_token_hash: &str,
        machine_id: Option<&str>,
        decide: &mut DecideEnrollment<'_>,
    ) -> StoreResult<Result<(), EnrollRefusal>> {
        self.write(|tx| {
            let token = first(
                tx,
                &format!("SELECT {ENROLL_TOKEN_FROM} WHERE k.token_hash = ?1"),
                params![enroll_token_hash],
                enroll_token_row,
            )?;
            let same_machine = match machine_id {
                Some(m) => all(
                    tx,
                    &format!(
                        "SELECT {DEVICE_COLS} FROM devices WHERE machine_id = ?1 \
                         ORDER BY enrolled_at DESC, rowid DESC"
                    ),
                    params![m],
                    device_row,
                )?,
                None => Vec::new(),
            };
            let token_id = token.as_ref().map(|t| t.id);
            let decided = decide(&EnrollContext {
                token,
                same_machine,
            });
            let NewEnrollment {
                device,
                previous_device,
            } = match decided {
                Ok(e) => e,
                Err(refusal) => return Ok(Err(refusal)),
            };
            exec(
                tx,
                "INSERT INTO devices (id, secret_hash, hostname, school, building, os, model, \
                 agent_version, machine_id, enrolled_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    device.id.to_string(),
                    device.secret_hash,
                    device.hostname,
                    device.school,
                    device.building,
                    device.os,
                    device.model,
                    device.agent_version,
                    device.machine_id,
                    ms(device.enrolled_at)
                ],
            )?;
            exec(
                tx,
                "INSERT INTO enrollments (device_id, token_id, previous_device_id, at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    device.id.to_string(),
                    token_id,
                    previous_device.map(|d| d.to_string()),
                    ms(device.enrolled_at)
                ],
            )?;
            Ok(Ok(()))
        })
    }

    fn device_by_secret_hash(&self, secret_hash: &str) -> StoreResult<Option<DeviceRecord>> {
        self.read(|c| {
            first(
                c,
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE secret_hash = ?1"),
                params![secret_hash],
                device_row,
            )
        })
    }

    fn device(&self, id: Uuid) -> StoreResult<Option<DeviceRecord>> {
        self.read(|c| {
            first(
                c,
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
                params![id.to_string()],
                device_row,
            )
        })
    }

    fn touch_device(&self, id: Uuid, now: OffsetDateTime) -> StoreResult<()> {
        self.read(|c| {
            exec(
                c,
                "UPDATE devices SET last_seen_at = ?2 WHERE id = ?1",
                params![id.to_string(), ms(now)],
            )
        })?;
        Ok(())
    }

    fn revoke_device(&self, id: Uuid, now: OffsetDateTime) -> StoreResult<()> {
        changed(self.read(|c| {
            exec(
                c,
                "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                params![id.to_string(), ms(now)],
            )
        })?)
    }

    fn list_devices(&self) -> StoreResult<Vec<DeviceSummary>> {
        let finished = &*FINISHED;
        self.read(|c| {
            all(
                c,
                &format!(
                    "SELECT {DEVICE_COLS}, agent_version, \
                     (SELECT COUNT(*) FROM tickets t WHERE t.device_id = devices.id \
                      AND t.status NOT IN {finished}) \
                     FROM devices ORDER BY COALESCE(last_seen_at, enrolled_at) DESC"
                ),
                params![],
                device_summary_row,
            )
        })
    }

    fn allow_reenrollment(&self, machine_id: &str, now: OffsetDateTime) -> StoreResult<usize> {
        self.read(|c| {
            exec(
                c,
                "UPDATE devices SET reenroll_allowed_at = ?2 WHERE machine_id = ?1 \
                 AND revoked_at IS NOT NULL AND reenroll_allowed_at IS NULL",
                params![machine_id, ms(now)],
            )
        })
    }

    fn list_reenrollments(&self, limit: usize) -> StoreResult<Vec<ReenrollmentRecord>> {
        self.read(|c| {
            all(
                c,
                "SELECT d.machine_id, p.id, p.hostname, p.revoked_at, d.id, d.hostname, e.at, \
                 k.label FROM enrollments e \
                 JOIN devices d ON d.id = e.device_id \
                 JOIN devices p ON p.id = e.previous_device_id \
                 LEFT JOIN enroll_tokens k ON k.id = e.token_id \
                 ORDER BY e.at DESC, e.id DESC LIMIT ?1",
                params![limit as i64],
                reenrollment_row,
            )
        })
    }
}
