//! Sign-in failures and OpenID Connect sign-ins under way.

use super::rows::{from_ms, ms};
use super::{SqlStore, exec, first, one, params};
use crate::limits::Failures;
use crate::oidc::Purpose;
use crate::store::{PendingSignInRecord, SignInStore, StoreError, StoreResult};
use time::OffsetDateTime;

const PENDING_COLS: &str =
    "state_hash, purpose, nonce, verifier, browser_hash, created_at, expires_at";

impl SignInStore for SqlStore {
    fn change_sign_in_failures(
        &self,
        keys: &[&str],
        change: &mut dyn FnMut(&mut [Failures]) -> bool,
    ) -> StoreResult<()> {
        self.write(|tx| {
            // Each key's row exists and is held (on PostgreSQL, locked) until
            // the end of the transaction; in one order, so two sign-ins never
            // wait for each other's rows crosswise.
            let mut ordered = keys.to_vec();
            ordered.sort_unstable();
            ordered.dedup();
            for key in &ordered {
                exec(
                    tx,
                    "INSERT INTO signin_failures (failure_key, level_milli, at_ms, last_ms) \
                     VALUES (?1, 0, 0, 0) \
                     ON CONFLICT (failure_key) DO UPDATE SET failure_key = excluded.failure_key",
                    params![key],
                )?;
            }
            let mut rows = Vec::with_capacity(keys.len());
            for key in keys {
                let f = first(
                    tx,
                    "SELECT level_milli, at_ms, last_ms FROM signin_failures \
                     WHERE failure_key = ?1",
                    params![key],
                    |r| {
                        Ok(Failures {
                            level_milli: r.get(0)?,
                            at_ms: r.get(1)?,
                            last_ms: r.get(2)?,
                        })
                    },
                )?;
                rows.push(f.unwrap_or_default());
            }
            if change(&mut rows) {
                for (key, f) in keys.iter().zip(&rows) {
                    exec(
                        tx,
                        "UPDATE signin_failures SET level_milli = ?2, at_ms = ?3, last_ms = ?4 \
                         WHERE failure_key = ?1",
                        params![key, f.level_milli, f.at_ms, f.last_ms],
                    )?;
                }
            }
            Ok(())
        })
    }

    fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()> {
        self.read(|c| {
            exec(
                c,
                "DELETE FROM signin_failures WHERE failure_key = ?1",
                params![key],
            )
        })?;
        Ok(())
    }

    fn forget_faded_sign_in_failures(&self, now_ms: i64, fade_every_ms: i64) -> StoreResult<usize> {
        self.read(|c| {
            exec(
                c,
                "DELETE FROM signin_failures \
                 WHERE at_ms + level_milli * ?2 / 1000 <= ?1",
                params![now_ms, fade_every_ms.max(1)],
            )
        })
    }

    fn insert_pending_sign_in(
        &self,
        p: &PendingSignInRecord,
        now: OffsetDateTime,
        max: usize,
    ) -> StoreResult<()> {
        self.write(|tx| {
            exec(
                tx,
                "DELETE FROM oidc_pending WHERE expires_at <= ?1",
                params![ms(now)],
            )?;
            let kept: i64 = one(tx, "SELECT COUNT(*) FROM oidc_pending", params![], |r| {
                r.get(0)
            })?;
            let max = i64::try_from(max.max(1)).unwrap_or(i64::MAX);
            if kept >= max {
                exec(
                    tx,
                    "DELETE FROM oidc_pending WHERE state_hash IN \
                     (SELECT state_hash FROM oidc_pending ORDER BY created_at LIMIT ?1)",
                    params![kept - max + 1],
                )?;
            }
            exec(
                tx,
                &format!(
                    "INSERT INTO oidc_pending ({PENDING_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                ),
                params![
                    p.state_hash,
                    p.purpose.as_str(),
                    p.nonce,
                    p.verifier,
                    p.browser_hash,
                    ms(p.created_at),
                    ms(p.expires_at)
                ],
            )?;
            Ok(())
        })
    }

    fn take_pending_sign_in(
        &self,
        state_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<PendingSignInRecord>> {
        let taken = self.write(|tx| {
            first(
                tx,
                &format!("DELETE FROM oidc_pending WHERE state_hash = ?1 RETURNING {PENDING_COLS}"),
                params![state_hash],
                |r| {
                    Ok((
                        r.get::<String>(0)?,
                        r.get::<String>(1)?,
                        r.get::<String>(2)?,
                        r.get::<String>(3)?,
                        r.get::<String>(4)?,
                        r.get::<i64>(5)?,
                        r.get::<i64>(6)?,
                    ))
                },
            )
        })?;
        let Some((state_hash, purpose, nonce, verifier, browser_hash, created, expires)) = taken
        else {
            return Ok(None);
        };
        let purpose = purpose
            .parse::<Purpose>()
            .map_err(|()| StoreError::Corrupt(format!("oidc_pending.purpose: {purpose:?}")))?;
        let expires_at = from_ms(expires);
        Ok((expires_at > now).then(|| PendingSignInRecord {
            state_hash,
            purpose,
            nonce,
            verifier,
            browser_hash,
            created_at: from_ms(created),
            expires_at,
        }))
    }
}
