//! Webhook desks and their outbox of events.

use super::desks::insert_desk;
use super::rows::{
    ANNOUNCEMENT_COLS, MESSAGE_COLS, TICKET_COLS, TICKET_FROM, announcement_row, corrupt,
    message_at, ms, ticket_row, time_at, time_opt,
};
use super::tickets::{detail_for, ticket_by_number};
use super::{Row, params};
use super::{SqlStore, all, changed, exec, first};
use crate::store::{
    Attempt, DeskOutbox, ForwardState, HookCounts, HookEventRecord, HookSources, HookStore,
    NewDesk, NewHookEvent, OutboxItem, StoreResult, WebhookRecord,
};
use time::OffsetDateTime;

const EVENT_COLS: &str = "e.id, e.desk_id, e.event_key, e.kind, e.body, e.state, e.attempts, \
     e.next_at, e.last_error, e.created_at, e.sent_at";

fn event_row(r: &Row<'_>) -> StoreResult<HookEventRecord> {
    let state: String = r.get(5)?;
    Ok(HookEventRecord {
        id: r.get(0)?,
        desk_id: r.get(1)?,
        key: r.get(2)?,
        kind: r.get(3)?,
        body: r.get(4)?,
        state: ForwardState::parse(&state)
            .ok_or_else(|| corrupt(format!("webhook event state {state:?}")))?,
        attempts: r.get(6)?,
        next_at: time_at(r, 7)?,
        last_error: r.get(8)?,
        created_at: time_at(r, 9)?,
        sent_at: time_opt(r, 10)?,
    })
}

fn webhook_row(r: &Row<'_>) -> StoreResult<WebhookRecord> {
    Ok(WebhookRecord {
        desk_id: r.get(0)?,
        me_too_threshold: r.get(1)?,
        ticket_cursor: r.get(2)?,
        message_cursor: r.get(3)?,
    })
}

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn outbox_item(r: &Row<'_>) -> StoreResult<OutboxItem> {
    let state: String = r.get(3)?;
    let message: Option<String> = r.get(2)?;
    Ok(OutboxItem {
        ticket_number: r.get(0)?,
        summary: r.get(1)?,
        message_id: message
            .map(|m| uuid::Uuid::parse_str(&m).map_err(corrupt))
            .transpose()?,
        state: ForwardState::parse(&state)
            .ok_or_else(|| corrupt(format!("forward state {state:?}")))?,
        attempts: r.get(4)?,
        next_at: time_at(r, 5)?,
        last_error: r.get(6)?,
    })
}

impl HookStore for SqlStore {
    fn desk_outbox(&self, desk_id: i64, limit: usize) -> StoreResult<DeskOutbox> {
        self.read(|c| {
            let oldest = first(
                c,
                "SELECT MIN(at) FROM (\
                 SELECT MIN(created_at) AS at FROM forwards \
                 WHERE desk_id = ?1 AND state = 'queued' \
                 UNION ALL SELECT MIN(mf.created_at) FROM message_forwards mf \
                 JOIN forwards f ON f.ticket_number = mf.ticket_number \
                 WHERE f.desk_id = ?1 AND mf.state = 'queued') AS oldest",
                params![desk_id],
                |r| time_opt(r, 0),
            )?
            .flatten();
            let items = all(
                c,
                "SELECT f.ticket_number, t.summary, NULL, f.state, f.attempts, f.next_at, \
                 f.last_error, f.created_at AS at FROM forwards f \
                 JOIN tickets t ON t.number = f.ticket_number \
                 WHERE f.desk_id = ?1 AND f.state IN ('queued', 'failed') \
                 UNION ALL SELECT mf.ticket_number, t.summary, mf.message_id, mf.state, \
                 mf.attempts, mf.next_at, mf.last_error, mf.created_at FROM message_forwards mf \
                 JOIN forwards f ON f.ticket_number = mf.ticket_number \
                 JOIN tickets t ON t.number = mf.ticket_number \
                 WHERE f.desk_id = ?1 AND mf.state IN ('queued', 'failed') \
                 ORDER BY at LIMIT ?2",
                params![desk_id, limit_of(limit)],
                outbox_item,
            )?;
            Ok(DeskOutbox {
                oldest_queued: oldest,
                items,
            })
        })
    }

    fn add_webhook(&self, desk: &NewDesk, me_too_threshold: u32) -> StoreResult<i64> {
        self.write(|tx| {
            let id = insert_desk(tx, desk)?;
            exec(
                tx,
                "INSERT INTO webhooks (desk_id, me_too_threshold, ticket_cursor, message_cursor) \
                 VALUES (?1, ?2, (SELECT COALESCE(MAX(number), 0) FROM tickets), \
                 (SELECT COALESCE(MAX(rowid), 0) FROM messages))",
                params![id, me_too_threshold],
            )?;
            Ok(id)
        })
    }

    fn webhooks(&self) -> StoreResult<Vec<WebhookRecord>> {
        self.read(|c| {
            all(
                c,
                "SELECT w.desk_id, w.me_too_threshold, w.ticket_cursor, w.message_cursor \
                 FROM webhooks w JOIN desks d ON d.id = w.desk_id WHERE d.enabled = 1 \
                 ORDER BY w.desk_id",
                params![],
                webhook_row,
            )
        })
    }

    fn hook_sources(
        &self,
        hook: &WebhookRecord,
        me_too_key_prefix: &str,
        now: OffsetDateTime,
        limit: usize,
    ) -> StoreResult<HookSources> {
        self.read(|c| {
            let tickets = all(
                c,
                &format!(
                    "SELECT {TICKET_COLS} FROM {TICKET_FROM} WHERE t.number > ?1 \
                     ORDER BY t.number LIMIT ?2"
                ),
                params![hook.ticket_cursor, limit_of(limit)],
                ticket_row,
            )?
            .into_iter()
            .map(|t| detail_for(c, t))
            .collect::<StoreResult<Vec<_>>>()?;
            let rows = all(
                c,
                &format!(
                    "SELECT rowid, {MESSAGE_COLS} FROM messages WHERE rowid > ?1 \
                     AND kind = 'teacher' ORDER BY rowid LIMIT ?2"
                ),
                params![hook.message_cursor, limit_of(limit)],
                |r| Ok((r.get::<i64>(0)?, message_at(r, 1)?)),
            )?;
            let mut messages = Vec::with_capacity(rows.len());
            for (rowid, m) in rows {
                let ticket = detail_for(c, ticket_by_number(c, m.ticket_number)?)?;
                messages.push((rowid, m, ticket));
            }
            let cols = ANNOUNCEMENT_COLS
                .split(", ")
                .map(|col| format!("a.{col}"))
                .collect::<Vec<_>>()
                .join(", ");
            let count = "(SELECT COUNT(*) FROM me_too m WHERE m.announcement_id = a.id)";
            let me_too = all(
                c,
                &format!(
                    "SELECT {cols}, {count} FROM announcements a \
                     WHERE a.starts_at <= ?1 AND (a.ends_at IS NULL OR a.ends_at > ?1) \
                     AND {count} >= ?2 AND NOT EXISTS (SELECT 1 FROM webhook_events e \
                     WHERE e.desk_id = ?3 AND e.event_key = ?4 || a.id) ORDER BY a.id"
                ),
                params![
                    ms(now),
                    hook.me_too_threshold,
                    hook.desk_id,
                    me_too_key_prefix
                ],
                |r| Ok((announcement_row(r)?, r.get::<i64>(9)?)),
            )?;
            Ok(HookSources {
                tickets,
                messages,
                me_too,
            })
        })
    }

    fn append_hook_events(
        &self,
        desk_id: i64,
        events: &[NewHookEvent],
        ticket_cursor: i64,
        message_cursor: i64,
    ) -> StoreResult<()> {
        self.write(|tx| {
            for e in events {
                exec(
                    tx,
                    "INSERT INTO webhook_events \
                     (desk_id, event_key, kind, body, state, next_at, created_at) \
                     VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?5) ON CONFLICT DO NOTHING",
                    params![desk_id, e.key, e.kind, e.body, ms(e.created_at)],
                )?;
            }
            exec(
                tx,
                "UPDATE webhooks SET \
                 ticket_cursor = CASE WHEN ticket_cursor > ?2 THEN ticket_cursor ELSE ?2 END, \
                 message_cursor = CASE WHEN message_cursor > ?3 THEN message_cursor ELSE ?3 END \
                 WHERE desk_id = ?1",
                params![desk_id, ticket_cursor, message_cursor],
            )?;
            Ok(())
        })
    }

    fn due_hook_events(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> StoreResult<Vec<HookEventRecord>> {
        self.read(|c| {
            all(
                c,
                &format!(
                    "SELECT {EVENT_COLS} FROM webhook_events e JOIN desks d ON d.id = e.desk_id \
                     WHERE e.state = 'queued' AND e.next_at <= ?1 AND d.enabled = 1 \
                     ORDER BY e.next_at, e.id LIMIT ?2"
                ),
                params![ms(now), limit_of(limit)],
                event_row,
            )
        })
    }

    fn record_hook_attempt(
        &self,
        id: i64,
        attempt: &Attempt,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.write(|tx| {
            let n = match attempt {
                Attempt::Sent { .. } => exec(
                    tx,
                    "UPDATE webhook_events SET state = 'sent', attempts = attempts + 1, \
                     sent_at = ?2, last_error = NULL WHERE id = ?1 AND state = 'queued'",
                    params![id, ms(now)],
                )?,
                Attempt::Retry { error, next_at } => exec(
                    tx,
                    "UPDATE webhook_events SET attempts = attempts + 1, last_error = ?2, \
                     next_at = ?3 WHERE id = ?1 AND state = 'queued'",
                    params![id, error, ms(*next_at)],
                )?,
                Attempt::Failed { error } => exec(
                    tx,
                    "UPDATE webhook_events SET state = 'failed', attempts = attempts + 1, \
                     last_error = ?2 WHERE id = ?1 AND state = 'queued'",
                    params![id, error],
                )?,
            };
            changed(n)
        })
    }

    fn hook_counts(&self, desk_id: i64) -> StoreResult<HookCounts> {
        self.read(|c| {
            let counts = first(
                c,
                "SELECT \
                 CAST(COALESCE(SUM(CASE WHEN state = 'queued' THEN 1 ELSE 0 END), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(CASE WHEN state = 'sent' THEN 1 ELSE 0 END), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT), \
                 MIN(CASE WHEN state = 'queued' \
                 THEN created_at END) FROM webhook_events WHERE desk_id = ?1",
                params![desk_id],
                |r| {
                    Ok(HookCounts {
                        queued: r.get(0)?,
                        sent: r.get(1)?,
                        failed: r.get(2)?,
                        oldest_queued: time_opt(r, 3)?,
                    })
                },
            )?;
            Ok(counts.unwrap_or_default())
        })
    }

    fn hook_events(
        &self,
        desk_id: i64,
        state: ForwardState,
        limit: usize,
    ) -> StoreResult<Vec<HookEventRecord>> {
        self.read(|c| {
            all(
                c,
                &format!(
                    "SELECT {EVENT_COLS} FROM webhook_events e WHERE e.desk_id = ?1 \
                     AND e.state = ?2 ORDER BY e.id LIMIT ?3"
                ),
                params![desk_id, state.as_str(), limit_of(limit)],
                event_row,
            )
        })
    }

    fn retry_hook_event(&self, id: i64, now: OffsetDateTime) -> StoreResult<()> {
        self.write(|tx| {
            changed(exec(
                tx,
                "UPDATE webhook_events SET state = 'queued', attempts = 0, next_at = ?2 \
                 WHERE id = ?1 AND state = 'failed'",
                params![id, ms(now)],
            )?)
        })
    }

    fn skip_hook_event(&self, id: i64) -> StoreResult<()> {
        self.write(|tx| {
            // Kept as `skipped` (never read back), so its key is not made again.
            changed(exec(
                tx,
                "UPDATE webhook_events SET state = 'skipped' \
                 WHERE id = ?1 AND state IN ('queued', 'failed')",
                params![id],
            )?)
        })
    }
}
