//! Enrollment tokens, settings, ticket facts, the media purge and backups.

use super::rows::{ENROLL_TOKEN_FROM, FINISHED, enroll_token_row, facts_row, from_ms, ms, sla_row};
use super::{Db, SqlStore, all, changed, exec, first, insert_id, params};
use crate::store::{
    AdminStore, DEFAULT_RETENTION_DAYS, EnrollTokenRecord, NewEnrollToken, PurgeReport, SlaPolicy,
    StoreResult, TicketFacts,
};
use std::path::Path;
use std::sync::LazyLock;
use time::OffsetDateTime;

/// When a finished ticket last became so (the latest such status entry of
/// its feed, else its last change); NULL while open.
static RESOLVED_AT_SQL: LazyLock<String> = LazyLock::new(|| {
    let finished = &*FINISHED;
    format!(
        "CASE WHEN t.status IN {finished} THEN COALESCE((SELECT MAX(u.at) FROM updates u \
         WHERE u.ticket_number = t.number AND u.kind = 'status' AND u.status IN {finished}), \
         t.updated_at) END"
    )
});

impl AdminStore for SqlStore {
    fn create_enroll_token(
        &self,
        token: &NewEnrollToken<'_>,
        now: OffsetDateTime,
    ) -> StoreResult<i64> {
        self.read(|c| {
            insert_id(
                c,
                "INSERT INTO enroll_tokens (token_hash, label, school, building, created_at, \
                 expires_at, max_uses) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                params![
                    token.token_hash,
                    token.label,
                    token.school,
                    token.building,
                    ms(now),
                    token.expires_at.map(ms),
                    token.max_uses
                ],
            )
        })
    }

    fn list_enroll_tokens(&self) -> StoreResult<Vec<EnrollTokenRecord>> {
        self.read(|c| {
            all(
                c,
                &format!("SELECT {ENROLL_TOKEN_FROM} ORDER BY k.id DESC"),
                params![],
                enroll_token_row,
            )
        })
    }

    fn enrollment_times(&self) -> StoreResult<Vec<(i64, OffsetDateTime)>> {
        self.read(|c| {
            all(
                c,
                "SELECT token_id, at FROM enrollments WHERE token_id IS NOT NULL \
                 ORDER BY token_id, at",
                params![],
                |r| Ok((r.get(0)?, from_ms(r.get(1)?))),
            )
        })
    }

    fn revoke_enroll_token(&self, id: i64, now: OffsetDateTime) -> StoreResult<()> {
        changed(self.read(|c| {
            exec(
                c,
                "UPDATE enroll_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                params![id, ms(now)],
            )
        })?)
    }

    fn sla_policy(&self) -> StoreResult<SlaPolicy> {
        let stored = self.read(|c| {
            first(
                c,
                "SELECT class_stopping_hours, wide_hours, room_hours, individual_hours \
                 FROM sla_policy WHERE id = 1",
                params![],
                sla_row,
            )
        })?;
        Ok(stored.unwrap_or_default())
    }

    fn set_sla_policy(&self, p: &SlaPolicy) -> StoreResult<()> {
        self.read(|c| {
            exec(
                c,
                "INSERT INTO sla_policy \
                 (id, class_stopping_hours, wide_hours, room_hours, individual_hours) \
                 VALUES (1, ?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET \
                 class_stopping_hours = excluded.class_stopping_hours, \
                 wide_hours = excluded.wide_hours, room_hours = excluded.room_hours, \
                 individual_hours = excluded.individual_hours",
                params![
                    p.class_stopping_hours,
                    p.wide_hours,
                    p.room_hours,
                    p.individual_hours
                ],
            )
        })?;
        Ok(())
    }

    fn retention_days(&self) -> StoreResult<u32> {
        let stored = self.read(|c| {
            first(
                c,
                "SELECT closed_ticket_days FROM retention_policy WHERE id = 1",
                params![],
                |r| r.get(0),
            )
        })?;
        Ok(stored.unwrap_or(DEFAULT_RETENTION_DAYS))
    }

    fn set_retention_days(&self, days: u32) -> StoreResult<()> {
        self.read(|c| {
            exec(
                c,
                "INSERT INTO retention_policy (id, closed_ticket_days) VALUES (1, ?1) \
                 ON CONFLICT (id) DO UPDATE SET closed_ticket_days = excluded.closed_ticket_days",
                params![days],
            )
        })?;
        Ok(())
    }

    fn ticket_facts(&self) -> StoreResult<Vec<TicketFacts>> {
        let resolved_at = &*RESOLVED_AT_SQL;
        self.read(|c| {
            all(
                c,
                &format!(
                    "SELECT t.number, t.device_id, d.hostname, d.school, d.building, t.room, \
                     t.category, t.urgency, t.scope, t.status, t.summary, tech.name, \
                     t.self_help, t.announcement_id, t.received_at, \
                     (SELECT MIN(m.at) FROM messages m WHERE m.ticket_number = t.number \
                      AND m.kind = 'technician'), \
                     {resolved_at}, t.media_purged_at \
                     FROM tickets t LEFT JOIN devices d ON d.id = t.device_id \
                     LEFT JOIN technicians tech ON tech.id = t.assignee_id ORDER BY t.number"
                ),
                params![],
                facts_row,
            )
        })
    }

    fn purge_media(
        &self,
        closed_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<PurgeReport> {
        let (finished, resolved_at) = (&*FINISHED, &*RESOLVED_AT_SQL);
        self.write(|tx| {
            let due: Vec<(i64, bool, Option<i64>)> = all(
                tx,
                &format!(
                    "SELECT t.number, t.snapshot IS NOT NULL, \
                     (SELECT LENGTH(s.bytes) FROM screenshots s WHERE s.ticket_number = t.number) \
                     FROM tickets t WHERE t.status IN {finished} \
                     AND ({resolved_at}) < ?1 \
                     AND (t.snapshot IS NOT NULL OR EXISTS \
                          (SELECT 1 FROM screenshots s WHERE s.ticket_number = t.number)) \
                     ORDER BY t.number"
                ),
                params![ms(closed_before)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let mut report = PurgeReport::default();
            for (number, has_snapshot, screenshot_len) in due {
                if let Some(len) = screenshot_len {
                    exec(
                        tx,
                        "DELETE FROM screenshots WHERE ticket_number = ?1",
                        params![number],
                    )?;
                    report.screenshots += 1;
                    report.screenshot_bytes += len.max(0) as u64;
                }
                if has_snapshot {
                    report.snapshots += 1;
                }
                exec(
                    tx,
                    "UPDATE tickets SET snapshot = NULL, media_purged_at = ?2 WHERE number = ?1",
                    params![number, ms(now)],
                )?;
                report.tickets.push(number);
            }
            Ok(report)
        })
        .and_then(|report| {
            // secure_delete zeroed the rows in the database; the write-ahead log still
            // holds the pages as they were until a checkpoint empties it. Best effort: a
            // reader in another process may hold it back until the next purge.
            if let (false, Db::Sqlite(db)) = (report.tickets.is_empty(), &self.db) {
                db.lock()
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            }
            Ok(report)
        })
    }

    fn backup(&self, dest: &Path) -> StoreResult<()> {
        match &self.db {
            Db::Sqlite(db) => db.backup(dest),
            Db::Postgres(db) => db.backup(dest),
        }
    }

    fn generation(&self) -> StoreResult<String> {
        self.read(|c| {
            first(
                c,
                "SELECT value FROM server_meta WHERE key = 'generation'",
                params![],
                |r| r.get(0),
            )
        })?
        .ok_or_else(|| crate::store::StoreError::Corrupt("no generation in server_meta".into()))
    }

    fn set_generation(&self, id: &str) -> StoreResult<()> {
        self.write(|tx| {
            exec(
                tx,
                "INSERT INTO server_meta (key, value) VALUES ('generation', ?1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![id],
            )
        })?;
        Ok(())
    }
}
