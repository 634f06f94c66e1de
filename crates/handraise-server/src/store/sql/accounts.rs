//! Technicians, their tokens, console users and sessions.

use super::rows::{
    TOKEN_COLS, USER_COLS, USER_FROM, from_ms, ms, technician_row, token_row, user_row,
};
use super::{Sql, params};
use super::{SqlStore, all, changed, exec, first, insert_id, insert_unique, insert_unique_id};
use crate::store::{
    AccountStore, NewSessionRecord, NewTechTokenRecord, NewUser, Role, SessionRecord, StoreError,
    StoreResult, TechTokenRecord, Technician, UserRecord,
};
use time::OffsetDateTime;

/// The technician `name`, created if missing.
pub(super) fn ensure_technician(
    conn: &dyn Sql,
    name: &str,
    now: OffsetDateTime,
) -> StoreResult<Technician> {
    exec(
        conn,
        "INSERT INTO technicians (name, created_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![name, ms(now)],
    )?;
    first(
        conn,
        "SELECT id, name FROM technicians WHERE name = ?1",
        params![name],
        technician_row,
    )?
    .ok_or(StoreError::NotFound)
}

fn user_by_id(conn: &dyn Sql, id: i64) -> StoreResult<UserRecord> {
    first(
        conn,
        &format!("SELECT {USER_COLS} FROM {USER_FROM} WHERE u.id = ?1"),
        params![id],
        user_row,
    )?
    .ok_or(StoreError::NotFound)
}

/// The user of technician `technician_id` and whether it has a password.
fn user_of_technician(
    conn: &dyn Sql,
    technician_id: i64,
) -> StoreResult<Option<(UserRecord, bool)>> {
    first(
        conn,
        &format!(
            "SELECT {USER_COLS}, u.password_hash <> '' FROM {USER_FROM} WHERE u.technician_id = ?1"
        ),
        params![technician_id],
        |r| Ok((user_row(r)?, r.get(7)?)),
    )
}

/// A token's "last used" time is written at most this often (milliseconds).
const TOKEN_USE_EVERY_MS: i64 = 60_000;

impl AccountStore for SqlStore {
    fn script_user(&self, name: &str, now: OffsetDateTime) -> StoreResult<UserRecord> {
        self.write(|tx| {
            let tech = ensure_technician(tx, name, now)?;
            match user_of_technician(tx, tech.id)? {
                Some((user, false)) => Ok(user),
                Some((user, true)) => Err(StoreError::Conflict(format!(
                    "the technician {name:?} is the console user {:?}: make their tokens with --email",
                    user.email
                ))),
                None => {
                    let id = insert_unique_id(
                        tx,
                        "INSERT INTO users (email, role, password_hash, technician_id, created_at) \
                         VALUES (?1, ?2, '', ?3, ?4) RETURNING id",
                        params![name, Role::Technician.as_str(), tech.id, ms(now)],
                        || format!("a user with the email {name:?} exists"),
                    )?;
                    user_by_id(tx, id)
                }
            }
        })
    }

    fn create_tech_token(
        &self,
        token: &NewTechTokenRecord<'_>,
        now: OffsetDateTime,
    ) -> StoreResult<i64> {
        self.write(|tx| {
            insert_id(
                tx,
                "INSERT INTO api_tokens (token_hash, user_id, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4) RETURNING id",
                params![
                    token.token_hash,
                    token.user_id,
                    ms(now),
                    token.expires_at.map(ms)
                ],
            )
        })
    }

    fn tech_token_user(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>> {
        // A read on every request; "last used" is written only when the recorded use is
        // older than TOKEN_USE_EVERY_MS, so API calls do not queue on the writer.
        let found = self.read(|c| {
            let token: Option<(i64, i64, Option<i64>)> = first(
                c,
                "SELECT id, user_id, last_used_at FROM api_tokens WHERE token_hash = ?1 \
                 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)",
                params![token_hash, ms(now)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let Some((id, user_id, last_used)) = token else {
                return Ok(None);
            };
            let user = user_by_id(c, user_id)?;
            Ok((!user.disabled).then_some((id, last_used, user)))
        })?;
        let Some((id, last_used, user)) = found else {
            return Ok(None);
        };
        if last_used.is_none_or(|at| ms(now) - at >= TOKEN_USE_EVERY_MS) {
            self.write(|tx| {
                exec(
                    tx,
                    "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
                    params![id, ms(now)],
                )
            })?;
        }
        Ok(Some(user))
    }

    fn list_tech_tokens(&self, user_id: Option<i64>) -> StoreResult<Vec<TechTokenRecord>> {
        self.read(|c| {
            all(
                c,
                &format!("SELECT {TOKEN_COLS} WHERE CAST(?1 AS BIGINT) IS NULL OR k.user_id = ?1 ORDER BY k.id"),
                params![user_id],
                token_row,
            )
        })
    }

    fn revoke_tech_token(
        &self,
        id: i64,
        user_id: Option<i64>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.write(|tx| {
            changed(exec(
                tx,
                "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?3) \
                 WHERE id = ?1 AND (CAST(?2 AS BIGINT) IS NULL OR user_id = ?2)",
                params![id, user_id, ms(now)],
            )?)
        })
    }

    fn technicians(&self) -> StoreResult<Vec<Technician>> {
        self.read(|c| {
            all(
                c,
                "SELECT id, name FROM technicians ORDER BY name",
                params![],
                technician_row,
            )
        })
    }

    fn create_user(&self, user: &NewUser, now: OffsetDateTime) -> StoreResult<UserRecord> {
        self.write(|tx| {
            let tech = ensure_technician(tx, &user.technician_name, now)?;
            let conflict = || {
                format!(
                    "a user with the email {:?} or the technician name {:?} exists",
                    user.email, user.technician_name
                )
            };
            if let Some((script, false)) = user_of_technician(tx, tech.id)? {
                // The technician's password-less user (of `tech-token create
                // --name`) becomes this console user, tokens and all; but a
                // token never gains power it was not made with: a takeover by
                // an admin revokes the script user's tokens.
                if user.role != Role::Technician {
                    exec(
                        tx,
                        "UPDATE api_tokens SET revoked_at = ?2 \
                         WHERE user_id = ?1 AND revoked_at IS NULL",
                        params![script.id, ms(now)],
                    )?;
                }
                insert_unique(
                    tx,
                    "UPDATE users SET email = ?2, role = ?3, password_hash = ?4 WHERE id = ?1",
                    params![
                        script.id,
                        user.email,
                        user.role.as_str(),
                        user.password_hash
                    ],
                    conflict,
                )?;
                return user_by_id(tx, script.id);
            }
            let id = insert_unique_id(
                tx,
                "INSERT INTO users (email, role, password_hash, technician_id, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                params![
                    user.email,
                    user.role.as_str(),
                    user.password_hash,
                    tech.id,
                    ms(now)
                ],
                conflict,
            )?;
            user_by_id(tx, id)
        })
    }

    fn user_by_email(&self, email: &str) -> StoreResult<Option<(UserRecord, String)>> {
        self.read(|c| {
            first(
                c,
                &format!("SELECT {USER_COLS}, u.password_hash FROM {USER_FROM} WHERE u.email = ?1"),
                params![email],
                |r| Ok((user_row(r)?, r.get(7)?)),
            )
        })
    }

    fn list_users(&self) -> StoreResult<Vec<UserRecord>> {
        self.read(|c| {
            all(
                c,
                &format!("SELECT {USER_COLS} FROM {USER_FROM} ORDER BY u.email"),
                params![],
                user_row,
            )
        })
    }

    fn link_oidc_subject(&self, id: i64, subject: &str) -> StoreResult<bool> {
        self.write(|tx| {
            insert_unique(
                tx,
                "UPDATE users SET oidc_subject = ?2 WHERE id = ?1 AND oidc_subject IS NULL",
                params![id, subject],
                || "another user is linked to this sign-in account".into(),
            )?;
            first(
                tx,
                "SELECT oidc_subject = ?2 FROM users WHERE id = ?1",
                params![id, subject],
                |r| r.get(0),
            )?
            .ok_or(StoreError::NotFound)
        })
    }

    fn unlink_oidc_subject(&self, email: &str) -> StoreResult<UserRecord> {
        self.write(|tx| {
            let id: i64 = first(
                tx,
                "SELECT id FROM users WHERE email = ?1",
                params![email],
                |r| r.get(0),
            )?
            .ok_or(StoreError::NotFound)?;
            exec(
                tx,
                "UPDATE users SET oidc_subject = NULL WHERE id = ?1",
                params![id],
            )?;
            user_by_id(tx, id)
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
                exec(tx, "DELETE FROM sessions WHERE user_id = ?1", params![id])?;
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
