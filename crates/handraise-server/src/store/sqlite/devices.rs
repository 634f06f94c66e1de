//! Devices.

use super::rows::{DEVICE_COLS, FINISHED, device_row, device_summary_row, ms};
use super::{SqliteStore, all, changed, exec, first};
use crate::store::{DeviceRecord, DeviceStore, DeviceSummary, NewDevice, StoreError, StoreResult};
use rusqlite::params;
use time::OffsetDateTime;
use uuid::Uuid;

impl DeviceStore for SqliteStore {
    fn enroll_device(&self, enroll_token_hash: &str, device: &NewDevice) -> StoreResult<()> {
        self.write(|tx| {
            let valid = tx
                .prepare_cached(
                    "SELECT 1 FROM enroll_tokens WHERE token_hash = ?1 AND revoked_at IS NULL",
                )?
                .exists([enroll_token_hash])?;
            if !valid {
                return Err(StoreError::InvalidToken);
            }
            exec(
                tx,
                "INSERT INTO devices (id, secret_hash, hostname, school, building, os, model, \
                 agent_version, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    device.id.to_string(),
                    device.secret_hash,
                    device.hostname,
                    device.school,
                    device.building,
                    device.os,
                    device.model,
                    device.agent_version,
                    ms(device.enrolled_at)
                ],
            )?;
            Ok(())
        })
    }

    fn device_by_secret_hash(&self, secret_hash: &str) -> StoreResult<Option<DeviceRecord>> {
        self.read(|c| {
            first(
                c,
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE secret_hash = ?1"),
                [secret_hash],
                device_row,
            )
        })
    }

    fn device(&self, id: Uuid) -> StoreResult<Option<DeviceRecord>> {
        self.read(|c| {
            first(
                c,
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
                [id.to_string()],
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
                [],
                device_summary_row,
            )
        })
    }
}
