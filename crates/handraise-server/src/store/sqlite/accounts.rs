//! Technicians, their tokens, console users and sessions.

use super::rows::{USER_COLS, USER_FROM, from_ms, ms, technician_row, user_row};
use super::{SqliteStore, all, changed, exec, first, insert_unique};
use crate::store::{
    AccountStore, NewSessionRecord, NewUser, SessionRecord, StoreError, StoreResult, Technician,
    UserRecord,
};
use rusqlite::{Connection, params};
use time::OffsetDateTime;

/// The technician `name`, created if missing.
pub(super) fn ensure_technician(
    conn: &Connection,
    name: &str,
    now: OffsetDateTime,
) -> StoreResult<Technician> {
    exec(
        conn,
        "INSERT OR IGNORE INTO technicians (name, created_at) VALUES (?1, ?2)",
        params![name, ms(now)],
    )?;
    first(
        conn,
        "SELECT id, name FROM technicians WHERE name = ?1",
        [name],
        technician_row,
    )?
    .ok_or(StoreError::NotFound)
}

fn user_by_id(conn: &Connection, id: i64) -> StoreResult<UserRecord> {
    first(
        conn,
        &format!("SELECT {USER_COLS} FROM {USER_FROM} WHERE u.id = ?1"),
        [id],
        user_row,
    )?
    .ok_or(StoreError::NotFound)
}

impl AccountStore for SqliteStore {
    fn create_tech_token(
        &self,
        name: &str,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Technician> {
        self.write(|tx| {
            let tech = ensure_technician(tx, name, now)?;
            exec(
                tx,
                "INSERT INTO tech_tokens (token_hash, technician_id, created_at) \
                 VALUES (?1, ?2, ?3)",
                params![token_hash, tech.id, ms(now)],
            )?;
            Ok(tech)
        })
    }

    fn technician_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<Technician>> {
        self.read(|c| {
            first(
                c,
                "SELECT t.id, t.name FROM tech_tokens k \
                 JOIN technicians t ON t.id = k.technician_id \
                 WHERE k.token_hash = ?1 AND k.revoked_at IS NULL",
                [token_hash],
                technician_row,
            )
        })
    }

    fn technicians(&self) -> StoreResult<Vec<Technician>> {
        self.read(|c| {
            all(
                c,
                "SELECT id, name FROM technicians ORDER BY name",
                [],
                technician_row,
            )
        })
    }

    fn create_user(&self, user: &NewUser, now: OffsetDateTime) -> StoreResult<UserRecord> {
        self.write(|tx| {
            let tech = ensure_technician(tx, &user.technician_name, now)?;
            insert_unique(
                tx,
                "INSERT INTO users (email, role, password_hash, technician_id, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    user.email,
                    user.role.as_str(),
                    user.password_hash,
                    tech.id,
                    ms(now)
                ],
                || {
                    format!(
                        "a user with the email {:?} or the technician name {:?} exists",
                        user.email, user.technician_name
                    )
                },
            )?;
            user_by_id(tx, tx.last_insert_rowid())
        })
    }

    fn user_by_email(&self, email: &str) -> StoreResult<Option<(UserRecord, String)>> {
        self.read(|c| {
            first(
                c,
                &format!("SELECT {USER_COLS}, u.password_hash FROM {USER_FROM} WHERE u.email = ?1"),
                [email],
                |r| Ok((user_row(r)?, r.get(7)?)),
            )
        })
    }

    fn list_users(&self) -> StoreResult<Vec<UserRecord>> {
        self.read(|c| {
            all(
                c,
                &format!("SELECT {USER_COLS} FROM {USER_FROM} ORDER BY u.email"),
                [],
                user_row,
            )
        })
    }

    fn set_user_disabled(
        &self,
        id: i64,
        disabled: bool,
        now: OffsetDateTime,
    ) -> StoreResult<UserRecord> {
        self.write(|tx| {
            changed(exec(
                tx,
                "UPDATE users SET disabled_at = CASE WHEN ?2 THEN COALESCE(disabled_at, ?3) END \
                 WHERE id = ?1",
                params![id, disabled, ms(now)],
            )?)?;
            if disabled {
                exec(tx, "DELETE FROM sessions WHERE user_id = ?1", [id])?;
            }
            user_by_id(tx, id)
        })
    }

    fn create_session(
        &self,
        session: &NewSessionRecord<'_>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.read(|c| {
            exec(
                c,
                "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    session.token_hash,
                    session.user_id,
                    session.csrf_token,
                    ms(now),
                    ms(session.expires_at)
                ],
            )
        })?;
        Ok(())
    }

    fn session(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<Option<SessionRecord>> {
        self.read(|c| {
            let found: Option<(i64, String, i64)> = first(
                c,
                "SELECT user_id, csrf_token, expires_at FROM sessions \
                 WHERE token_hash = ?1 AND expires_at > ?2",
                params![token_hash, ms(now)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let Some((user_id, csrf_token, expires_at)) = found else {
                return Ok(None);
            };
            let user = match user_by_id(c, user_id) {
                Ok(user) => user,
                Err(StoreError::NotFound) => return Ok(None),
                Err(e) => return Err(e),
            };
            Ok((!user.disabled).then(|| SessionRecord {
                user,
                csrf_token,
                expires_at: from_ms(expires_at),
            }))
        })
    }

    fn delete_session(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<()> {
        self.read(|c| {
            exec(
                c,
                "DELETE FROM sessions WHERE token_hash = ?1 OR expires_at <= ?2",
                params![token_hash, ms(now)],
            )
        })?;
        Ok(())
    }
}
