//! Web devices and their sessions.

use super::params;
use super::rows::{DEVICE_COLS, TICKET_COLS, TICKET_FROM, device_row, ms, ticket_row};
use super::{SqlStore, all, exec, first};
use crate::store::{
    DeviceRecord, NewWebDevice, NewWebSession, StoreError, StoreResult, TicketRecord, WebReporter,
    WebSession, WebStore,
};
use time::OffsetDateTime;
use uuid::Uuid;

impl WebStore for SqlStore {
    fn web_device(&self, new: &NewWebDevice) -> StoreResult<DeviceRecord> {
        self.write(|tx| {
            let existing: Option<String> = first(
                tx,
                "SELECT device_id FROM web_reporters WHERE subject = ?1",
                params![&new.subject],
                |r| r.get(0),
            )?;
            let id = match existing {
                Some(id) => {
                    exec(
                        tx,
                        "UPDATE web_reporters SET email = ?2, name = ?3 WHERE subject = ?1",
                        params![new.subject, new.reporter.email, new.reporter.name],
                    )?;
                    id
                }
                None => {
                    let id = new.id.to_string();
                    exec(
                        tx,
                        "INSERT INTO devices (id, secret_hash, hostname, os, model, enrolled_at) \
                         VALUES (?1, ?2, ?3, 'Web browser', 'Web report page', ?4)",
                        params![id, new.secret_hash, new.hostname, ms(new.now)],
                    )?;
                    exec(
                        tx,
                        "INSERT INTO web_reporters (subject, device_id, email, name, created_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![
                            new.subject,
                            id,
                            new.reporter.email,
                            new.reporter.name,
                            ms(new.now)
                        ],
                    )?;
                    id
                }
            };
            first(
                tx,
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
                params![id],
                device_row,
            )?
            .ok_or(StoreError::NotFound)
        })
    }

    fn create_web_session(&self, s: &NewWebSession) -> StoreResult<()> {
        self.read(|c| {
            exec(
                c,
                "INSERT INTO web_sessions (token_hash, device_id, csrf_token, expires_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    s.token_hash,
                    s.device_id.to_string(),
                    s.csrf_token,
                    ms(s.expires_at)
                ],
            )
        })?;
        Ok(())
    }

    fn web_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<WebSession>> {
        self.read(|c| {
            exec(
                c,
                "DELETE FROM web_sessions WHERE expires_at <= ?1",
                params![ms(now)],
            )?;
            let found: Option<(String, String, i64, String, Option<String>)> = first(
                c,
                "SELECT s.device_id, s.csrf_token, s.expires_at, w.email, w.name \
                 FROM web_sessions s JOIN web_reporters w ON w.device_id = s.device_id \
                 WHERE s.token_hash = ?1",
                params![token_hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )?;
            let Some((device_id, csrf_token, expires_at, email, name)) = found else {
                return Ok(None);
            };
            let device = first(
                c,
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
                params![device_id],
                device_row,
            )?
            .ok_or_else(|| StoreError::Corrupt("web_sessions.device_id".into()))?;
            Ok(Some(WebSession {
                device,
                reporter: WebReporter { email, name },
                csrf_token,
                expires_at: super::rows::from_ms(expires_at),
            }))
        })
    }

    fn delete_web_session(&self, token_hash: &str) -> StoreResult<()> {
        self.read(|c| {
            exec(
                c,
                "DELETE FROM web_sessions WHERE token_hash = ?1",
                params![token_hash],
            )
        })?;
        Ok(())
    }

    fn device_tickets(&self, device_id: Uuid, limit: usize) -> StoreResult<Vec<TicketRecord>> {
        self.read(|c| {
            all(
                c,
                &format!(
                    "SELECT {TICKET_COLS} FROM {TICKET_FROM} WHERE t.device_id = ?1 \
                     ORDER BY t.number DESC LIMIT ?2"
                ),
                params![device_id.to_string(), limit as i64],
                ticket_row,
            )
        })
    }
}
