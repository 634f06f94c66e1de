//! Desks, the default desk and the forwarding outbox.

use super::rows::{corrupt, ms, time_at, time_opt, uuid_at};
use super::tickets::{apply, detail_for, insert_teacher_message, insert_ticket, ticket_by_number};
use super::{Row, Sql, params};
use super::{SqlStore, ToVal, all, changed, exec, first, insert_id};
use crate::store::Quota;
use crate::store::{
    Attempt, DeskKind, DeskRecord, DeskSecret, DeskStore, DeskSummary, ForwardJob, ForwardRecord,
    ForwardState, Inserted, MessageForwardRecord, MessageJob, MessageRecord, NewDesk,
    NewTeacherMessage, NewTicketRecord, RouteRecord, StoreError, StoreResult, TicketChange,
    TicketRecord,
};
use time::OffsetDateTime;
use uuid::Uuid;

const DESK_COLS: &str = "d.id, d.kind, d.name, d.url, d.secret, d.queue, d.poll_secs, \
     d.enabled, d.created_at, d.last_success_at, d.last_error, d.last_error_at, d.options, \
     d.mailbox_secret";
/// How many columns [`DESK_COLS`] has.
const DESK_COL_COUNT: usize = 14;

fn desk_row(r: &Row<'_>) -> StoreResult<DeskRecord> {
    let kind: String = r.get(1)?;
    Ok(DeskRecord {
        id: r.get(0)?,
        kind: DeskKind::parse(&kind).ok_or_else(|| corrupt(format!("desk kind {kind:?}")))?,
        name: r.get(2)?,
        url: r.get(3)?,
        secret: DeskSecret(r.get(4)?),
        queue: r.get(5)?,
        poll_secs: r.get(6)?,
        enabled: r.get(7)?,
        created_at: time_at(r, 8)?,
        last_success_at: time_opt(r, 9)?,
        last_error: r.get(10)?,
        last_error_at: time_opt(r, 11)?,
        options: {
            let json: String = r.get(12)?;
            serde_json::from_str(&json).map_err(|_| corrupt(format!("desk options {json:?}")))?
        },
        mailbox_secret: r.get::<Option<String>>(13)?.map(DeskSecret),
    })
}

fn state_at(r: &Row<'_>, i: usize) -> StoreResult<ForwardState> {
    let s: String = r.get(i)?;
    ForwardState::parse(&s).ok_or_else(|| corrupt(format!("forward state {s:?}")))
}

const FORWARD_COLS: &str = "f.ticket_number, f.desk_id, f.state, f.external_id, f.attempts, \
     f.next_at, f.last_error, f.created_at, f.sent_at, f.last_seen, f.polled_at, f.in_flight, \
     f.receipt_lost";

fn forward_row(r: &Row<'_>) -> StoreResult<ForwardRecord> {
    Ok(ForwardRecord {
        ticket_number: r.get(0)?,
        desk_id: r.get(1)?,
        state: state_at(r, 2)?,
        external_id: r.get(3)?,
        attempts: r.get(4)?,
        next_at: time_at(r, 5)?,
        last_error: r.get(6)?,
        created_at: time_at(r, 7)?,
        sent_at: time_opt(r, 8)?,
        last_seen: r.get(9)?,
        polled_at: time_opt(r, 10)?,
        in_flight: r.get(11)?,
        receipt_lost: r.get(12)?,
    })
}

const MESSAGE_FORWARD_COLS: &str = "mf.message_id, mf.ticket_number, mf.state, mf.external_id, \
     mf.attempts, mf.next_at, mf.last_error";

fn message_forward_row(r: &Row<'_>) -> StoreResult<MessageForwardRecord> {
    Ok(MessageForwardRecord {
        message_id: uuid_at(r, 0)?,
        ticket_number: r.get(1)?,
        state: state_at(r, 2)?,
        external_id: r.get(3)?,
        attempts: r.get(4)?,
        next_at: time_at(r, 5)?,
        last_error: r.get(6)?,
    })
}

/// Inserts desk `d` (nothing else); its id.
pub(super) fn insert_desk(conn: &dyn Sql, d: &NewDesk) -> StoreResult<i64> {
    insert_id(
        conn,
        "INSERT INTO desks (kind, name, url, secret, queue, poll_secs, created_at, \
         options, mailbox_secret) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
        params![
            d.kind.as_str(),
            d.name,
            d.url,
            d.secret.0,
            d.queue,
            d.poll_secs,
            ms(d.created_at),
            serde_json::to_string(&d.options).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            d.mailbox_secret.as_ref().map(|s| s.0.as_str()),
        ],
    )
}

fn desk_by_id(conn: &dyn Sql, id: i64) -> StoreResult<Option<DeskRecord>> {
    first(
        conn,
        &format!("SELECT {DESK_COLS} FROM desks d WHERE d.id = ?1"),
        params![id],
        desk_row,
    )
}

fn forward_by_number(conn: &dyn Sql, number: i64) -> StoreResult<Option<ForwardRecord>> {
    first(
        conn,
        &format!("SELECT {FORWARD_COLS} FROM forwards f WHERE f.ticket_number = ?1"),
        params![number],
        forward_row,
    )
}

/// Makes the outbox row of `table` whose `key_col` is `key` due no sooner than `until`.
fn hold(
    tx: &dyn Sql,
    table: &str,
    key_col: &str,
    key: &dyn ToVal,
    until: OffsetDateTime,
) -> StoreResult<()> {
    changed(exec(
        tx,
        &format!(
            "UPDATE {table} SET next_at = CASE WHEN next_at > ?2 THEN next_at ELSE ?2 END \
             WHERE {key_col} = ?1"
        ),
        params![key, ms(until)],
    )?)
}

/// Writes an attempt's outcome on the outbox row of `table` whose `key_col`
/// is `key`: its state, error, next try, count, and the desk's id once sent.
fn record_attempt(
    tx: &dyn Sql,
    table: &str,
    key_col: &str,
    key: &dyn ToVal,
    attempt: &Attempt,
    now: OffsetDateTime,
) -> StoreResult<()> {
    let (state, error, next_at, external_id, sent_at) = match attempt {
        Attempt::Sent { external_id } => (
            ForwardState::Sent,
            None,
            ms(now),
            Some(external_id.as_str()),
            Some(ms(now)),
        ),
        Attempt::Retry { error, next_at } => {
            (ForwardState::Queued, Some(error), ms(*next_at), None, None)
        }
        Attempt::Failed { error } => (ForwardState::Failed, Some(error), ms(now), None, None),
    };
    changed(exec(
        tx,
        &format!(
            "UPDATE {table} SET state = ?2, last_error = ?3, next_at = ?4, \
             attempts = attempts + 1, external_id = coalesce(?5, external_id), \
             sent_at = coalesce(?6, sent_at) WHERE {key_col} = ?1"
        ),
        params![key, state.as_str(), error, next_at, external_id, sent_at],
    )?)
}

impl DeskStore for SqlStore {
    fn add_desk(&self, d: &NewDesk) -> StoreResult<i64> {
        self.write(|tx| {
            let id = insert_desk(tx, d)?;
            exec(
                tx,
                "UPDATE desk_default SET desk_id = ?1 WHERE id = 1 AND chosen = 0 \
                 AND desk_id IS NULL",
                params![id],
            )?;
            Ok(id)
        })
    }

    fn desk(&self, id: i64) -> StoreResult<Option<DeskRecord>> {
        self.read(|c| desk_by_id(c, id))
    }

    fn desks(&self) -> StoreResult<Vec<DeskRecord>> {
        self.read(|c| {
            all(
                c,
                &format!("SELECT {DESK_COLS} FROM desks d ORDER BY d.id"),
                params![],
                desk_row,
            )
        })
    }

    fn list_desks(&self) -> StoreResult<Vec<DeskSummary>> {
        self.read(|c| {
            all(
                c,
                &format!(
                    "SELECT {DESK_COLS}, \
                     d.id = (SELECT desk_id FROM desk_default WHERE id = 1), \
                     (SELECT count(*) FROM forwards f WHERE f.desk_id = d.id \
                        AND f.state = 'queued') + (SELECT count(*) FROM message_forwards mf \
                        JOIN forwards f ON f.ticket_number = mf.ticket_number \
                        WHERE f.desk_id = d.id AND mf.state = 'queued'), \
                     (SELECT count(*) FROM forwards f WHERE f.desk_id = d.id \
                        AND f.state = 'sent') + (SELECT count(*) FROM message_forwards mf \
                        JOIN forwards f ON f.ticket_number = mf.ticket_number \
                        WHERE f.desk_id = d.id AND mf.state = 'sent'), \
                     (SELECT count(*) FROM forwards f WHERE f.desk_id = d.id \
                        AND f.state = 'failed') + (SELECT count(*) FROM message_forwards mf \
                        JOIN forwards f ON f.ticket_number = mf.ticket_number \
                        WHERE f.desk_id = d.id AND mf.state = 'failed'), \
                     (SELECT count(*) FROM forwards f WHERE f.desk_id = d.id \
                        AND f.receipt_lost = 1), \
                     (SELECT count(*) FROM desk_mail m WHERE m.desk_id = d.id \
                        AND m.ticket_number IS NULL) \
                     FROM desks d ORDER BY d.id"
                ),
                params![],
                |r| {
                    Ok(DeskSummary {
                        desk: desk_row(r)?,
                        is_default: r.get::<Option<bool>>(DESK_COL_COUNT)?.unwrap_or(false),
                        queued: r.get(DESK_COL_COUNT + 1)?,
                        sent: r.get(DESK_COL_COUNT + 2)?,
                        failed: r.get(DESK_COL_COUNT + 3)?,
                        receipts_lost: r.get(DESK_COL_COUNT + 4)?,
                        unmatched_mail: r.get(DESK_COL_COUNT + 5)?,
                    })
                },
            )
        })
    }

    fn set_desk_enabled(&self, id: i64, enabled: bool) -> StoreResult<()> {
        self.write(|tx| {
            changed(exec(
                tx,
                "UPDATE desks SET enabled = ?2 WHERE id = ?1",
                params![id, enabled],
            )?)
        })
    }

    fn set_default_desk(&self, id: Option<i64>) -> StoreResult<()> {
        self.write(|tx| {
            if let Some(id) = id {
                desk_by_id(tx, id)?.ok_or(StoreError::NotFound)?;
            }
            exec(
                tx,
                "UPDATE desk_default SET desk_id = ?1, chosen = 1 WHERE id = 1",
                params![id],
            )?;
            Ok(())
        })
    }

    fn default_desk(&self) -> StoreResult<Option<DeskRecord>> {
        self.read(|c| {
            first(
                c,
                &format!(
                    "SELECT {DESK_COLS} FROM desks d \
                     JOIN desk_default x ON x.desk_id = d.id WHERE x.id = 1"
                ),
                params![],
                desk_row,
            )
        })
    }

    fn add_route(&self, r: &RouteRecord, now: OffsetDateTime) -> StoreResult<i64> {
        self.write(|tx| {
            if let Some(id) = r.desk_id {
                desk_by_id(tx, id)?.ok_or(StoreError::NotFound)?;
            }
            insert_id(
                tx,
                "INSERT INTO desk_routes (school, building, category, desk_id, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                params![
                    r.school,
                    r.building,
                    r.category.map(|c| c.as_str()),
                    r.desk_id,
                    ms(now)
                ],
            )
        })
    }

    fn routes(&self) -> StoreResult<Vec<RouteRecord>> {
        self.read(|c| {
            all(
                c,
                "SELECT id, school, building, category, desk_id FROM desk_routes ORDER BY id",
                params![],
                |r| {
                    let category: Option<String> = r.get(3)?;
                    Ok(RouteRecord {
                        id: r.get(0)?,
                        school: r.get(1)?,
                        building: r.get(2)?,
                        category: category
                            .map(|c| c.parse().map_err(|_| corrupt(format!("category {c:?}"))))
                            .transpose()?,
                        desk_id: r.get(4)?,
                    })
                },
            )
        })
    }

    fn remove_route(&self, id: i64) -> StoreResult<()> {
        self.write(|tx| {
            changed(exec(
                tx,
                "DELETE FROM desk_routes WHERE id = ?1",
                params![id],
            )?)
        })
    }

    fn note_desk_result(
        &self,
        id: i64,
        error: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.write(|tx| {
            let sql = match error {
                None => "UPDATE desks SET last_success_at = ?2 WHERE id = ?1 AND CAST(?3 AS TEXT) IS NULL",
                Some(_) => "UPDATE desks SET last_error = ?3, last_error_at = ?2 WHERE id = ?1",
            };
            exec(tx, sql, params![id, ms(now), error])?;
            Ok(())
        })
    }

    fn insert_ticket_forwarded(
        &self,
        t: &NewTicketRecord,
        forward: Option<(i64, OffsetDateTime)>,
        quota: &Quota<'_>,
    ) -> StoreResult<Inserted<TicketRecord>> {
        self.write(|tx| {
            let inserted = insert_ticket(tx, t, quota)?;
            if let (Inserted::Created(ticket), Some((desk_id, next_at))) = (&inserted, forward) {
                exec(
                    tx,
                    "INSERT INTO forwards (ticket_number, desk_id, state, next_at, created_at) \
                     SELECT ?1, id, 'queued', ?2, ?3 FROM desks WHERE id = ?4 AND enabled = 1",
                    params![ticket.number, ms(next_at), ms(t.received_at), desk_id],
                )?;
            }
            Ok(inserted)
        })
    }

    fn insert_teacher_message_forwarded(
        &self,
        device_id: Uuid,
        ticket_client_id: Uuid,
        m: &NewTeacherMessage,
        quota: &Quota<'_>,
    ) -> StoreResult<Inserted<MessageRecord>> {
        self.write(|tx| {
            let inserted = insert_teacher_message(tx, device_id, ticket_client_id, m, quota)?;
            if let Inserted::Created(message) = &inserted {
                exec(
                    tx,
                    "INSERT INTO message_forwards (message_id, ticket_number, state, next_at, \
                     created_at) SELECT ?1, ticket_number, 'queued', ?2, ?2 FROM forwards \
                     WHERE ticket_number = ?3",
                    params![
                        message.id.to_string(),
                        ms(m.received_at),
                        message.ticket_number
                    ],
                )?;
            }
            Ok(inserted)
        })
    }

    fn forward_of(&self, number: i64) -> StoreResult<Option<ForwardRecord>> {
        self.read(|c| forward_by_number(c, number))
    }

    fn due_forwards(&self, now: OffsetDateTime, limit: usize) -> StoreResult<Vec<ForwardJob>> {
        self.read(|c| {
            let forwards = all(
                c,
                &format!(
                    "SELECT {FORWARD_COLS} FROM forwards f JOIN desks d ON d.id = f.desk_id \
                     WHERE f.state = 'queued' AND f.next_at <= ?1 AND d.enabled = 1 \
                     ORDER BY f.next_at, f.ticket_number LIMIT ?2"
                ),
                params![ms(now), limit as i64],
                forward_row,
            )?;
            forwards
                .into_iter()
                .map(|forward| {
                    let detail = detail_for(c, ticket_by_number(c, forward.ticket_number)?)?;
                    Ok(ForwardJob { forward, detail })
                })
                .collect()
        })
    }

    fn due_message_forwards(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> StoreResult<Vec<MessageJob>> {
        self.read(|c| {
            let rows = all(
                c,
                &format!(
                    "SELECT {MESSAGE_FORWARD_COLS}, f.desk_id, f.external_id \
                     FROM message_forwards mf \
                     JOIN forwards f ON f.ticket_number = mf.ticket_number \
                     JOIN desks d ON d.id = f.desk_id \
                     WHERE mf.state = 'queued' AND mf.next_at <= ?1 AND d.enabled = 1 \
                       AND f.state = 'sent' \
                     ORDER BY mf.next_at, mf.created_at LIMIT ?2"
                ),
                params![ms(now), limit as i64],
                |r| Ok((message_forward_row(r)?, r.get(7)?, r.get(8)?)),
            )?;
            rows.into_iter()
                .map(|(forward, desk_id, ticket_external_id)| {
                    let ticket = ticket_by_number(c, forward.ticket_number)?;
                    let message = first(
                        c,
                        &format!(
                            "SELECT {} FROM messages WHERE id = ?1",
                            super::rows::MESSAGE_COLS
                        ),
                        params![forward.message_id.to_string()],
                        super::rows::message_row,
                    )?
                    .ok_or(StoreError::NotFound)?;
                    Ok(MessageJob {
                        forward,
                        message,
                        ticket,
                        desk_id,
                        ticket_external_id,
                    })
                })
                .collect()
        })
    }

    fn hold_forward(&self, number: i64, until: OffsetDateTime) -> StoreResult<()> {
        self.write(|tx| {
            hold(tx, "forwards", "ticket_number", &number, until)?;
            exec(
                tx,
                "UPDATE forwards SET in_flight = 1 WHERE ticket_number = ?1",
                params![number],
            )?;
            Ok(())
        })
    }

    fn hold_message_forward(&self, message_id: Uuid, until: OffsetDateTime) -> StoreResult<()> {
        let key = message_id.to_string();
        self.write(|tx| hold(tx, "message_forwards", "message_id", &key, until))
    }

    fn record_forward_attempt(
        &self,
        number: i64,
        attempt: &Attempt,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.write(|tx| {
            record_attempt(tx, "forwards", "ticket_number", &number, attempt, now)?;
            exec(
                tx,
                "UPDATE forwards SET in_flight = 0 WHERE ticket_number = ?1",
                params![number],
            )?;
            Ok(())
        })
    }

    fn record_message_forward_attempt(
        &self,
        message_id: Uuid,
        attempt: &Attempt,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let key = message_id.to_string();
        self.write(|tx| record_attempt(tx, "message_forwards", "message_id", &key, attempt, now))
    }

    fn retry_forward(&self, number: i64, now: OffsetDateTime) -> StoreResult<()> {
        self.write(|tx| {
            let mut n = 0;
            for table in ["forwards", "message_forwards"] {
                n += exec(
                    tx,
                    &format!(
                        "UPDATE {table} SET state = 'queued', next_at = ?2, attempts = 0 \
                         WHERE ticket_number = ?1 AND state = 'failed'"
                    ),
                    params![number, ms(now)],
                )?;
            }
            changed(n)
        })
    }

    fn skip_forward(&self, number: i64) -> StoreResult<()> {
        self.write(|tx| {
            let f = forward_by_number(tx, number)?.ok_or(StoreError::NotFound)?;
            if f.state == ForwardState::Sent {
                return Err(StoreError::Conflict(format!(
                    "ticket #{number} is already in the desk"
                )));
            }
            exec(
                tx,
                "DELETE FROM message_forwards WHERE ticket_number = ?1",
                params![number],
            )?;
            changed(exec(
                tx,
                "DELETE FROM forwards WHERE ticket_number = ?1",
                params![number],
            )?)
        })
    }

    fn forwards_to_poll(
        &self,
        desk_id: i64,
        now: OffsetDateTime,
        limit: usize,
    ) -> StoreResult<Vec<ForwardRecord>> {
        self.read(|c| {
            all(
                c,
                &format!(
                    "SELECT {FORWARD_COLS} FROM forwards f \
                     JOIN desks d ON d.id = f.desk_id \
                     JOIN tickets t ON t.number = f.ticket_number \
                     WHERE f.desk_id = ?1 AND f.state = 'sent' AND t.status != 'closed' \
                       AND (f.polled_at IS NULL OR f.polled_at + d.poll_secs * 1000 <= ?2) \
                       AND NOT EXISTS (SELECT 1 FROM message_forwards mf \
                           WHERE mf.ticket_number = f.ticket_number AND mf.state = 'queued') \
                     ORDER BY coalesce(f.polled_at, 0), f.ticket_number LIMIT ?3"
                ),
                params![desk_id, ms(now), limit as i64],
                forward_row,
            )
        })
    }

    fn flag_receipt_lost(&self, number: i64) -> StoreResult<()> {
        self.write(|tx| {
            changed(exec(
                tx,
                "UPDATE forwards SET receipt_lost = 1 WHERE ticket_number = ?1",
                params![number],
            )?)
        })
    }

    fn forward_by_client_id(&self, client_id: Uuid) -> StoreResult<Option<ForwardRecord>> {
        self.read(|c| {
            first(
                c,
                &format!(
                    "SELECT {FORWARD_COLS} FROM forwards f \
                     JOIN tickets t ON t.number = f.ticket_number WHERE t.client_id = ?1"
                ),
                params![client_id.to_string()],
                forward_row,
            )
        })
    }

    fn record_desk_mail(
        &self,
        desk_id: i64,
        message_id: &str,
        ticket: Option<(i64, &TicketChange)>,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.write(|tx| {
            let new = exec(
                tx,
                "INSERT INTO desk_mail (desk_id, message_id, ticket_number, received_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                params![desk_id, message_id, ticket.map(|(n, _)| n), ms(now)],
            )? == 1;
            if let (true, Some((_, change))) = (new, ticket)
                && !change.is_empty()
            {
                apply(tx, change, now)?;
            }
            Ok(new)
        })
    }

    fn own_desk_entries(&self, number: i64) -> StoreResult<Vec<String>> {
        self.read(|c| {
            all(
                c,
                "SELECT external_id FROM message_forwards \
                 WHERE ticket_number = ?1 AND external_id IS NOT NULL",
                params![number],
                |r| r.get(0),
            )
        })
    }

    fn apply_desk_history(
        &self,
        number: i64,
        change: &TicketChange,
        seen: i64,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.write(|tx| {
            if !change.is_empty() {
                apply(tx, change, now)?;
            }
            changed(exec(
                tx,
                "UPDATE forwards SET last_seen = CASE WHEN last_seen > ?2 THEN last_seen ELSE ?2 END, \
                 polled_at = ?3 \
                 WHERE ticket_number = ?1",
                params![number, seen, ms(now)],
            )?)
        })
    }
}
