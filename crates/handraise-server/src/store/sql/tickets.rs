//! Tickets, messages, screenshots and the updates feed.

use super::accounts::ensure_technician;
use super::announcements::linkable_announcement;
use super::rows::{
    MESSAGE_COLS, TICKET_COLS, TICKET_FROM, choice_at, from_ms, message_at, message_row, ms,
    rfc3339, ticket_row, uuid_at,
};
use super::{Sql, params};
use super::{SqlStore, Val, all, exec, exists, first, insert_id, insert_unique};
use crate::store::{
    Decide, FeedEntry, FeedKind, FeedWrite, Inserted, MessageKind, MessageRecord, NewScreenshot,
    NewTeacherMessage, NewTicketRecord, Quota, QuotaKind, StoreError, StoreResult, TicketChange,
    TicketDetail, TicketFacets, TicketQuery, TicketRecord, TicketStore,
};
use time::OffsetDateTime;
use uuid::Uuid;

pub(super) fn ticket_by_number(conn: &dyn Sql, number: i64) -> StoreResult<TicketRecord> {
    first(
        conn,
        &format!("SELECT {TICKET_COLS} FROM {TICKET_FROM} WHERE t.number = ?1"),
        params![number],
        ticket_row,
    )?
    .ok_or(StoreError::NotFound)
}

/// The ticket `client_id` if it belongs to `device_id`.
fn device_ticket(
    conn: &dyn Sql,
    device_id: Uuid,
    client_id: Uuid,
) -> StoreResult<Option<TicketRecord>> {
    Ok(ticket_by_client_id(conn, client_id)?.filter(|t| t.device_id == device_id))
}

fn ticket_by_client_id(conn: &dyn Sql, client_id: Uuid) -> StoreResult<Option<TicketRecord>> {
    first(
        conn,
        &format!("SELECT {TICKET_COLS} FROM {TICKET_FROM} WHERE t.client_id = ?1"),
        params![client_id.to_string()],
        ticket_row,
    )
}

/// Tickets matching `filter` (a condition on `t`), in `order`.
pub(super) fn tickets_where(
    conn: &dyn Sql,
    filter: &str,
    order: &str,
    params: &[Val],
) -> StoreResult<Vec<TicketRecord>> {
    all(
        conn,
        &format!("SELECT {TICKET_COLS} FROM {TICKET_FROM} WHERE {filter} ORDER BY {order}"),
        params,
        ticket_row,
    )
}

fn load_messages(
    conn: &dyn Sql,
    number: i64,
    include_notes: bool,
) -> StoreResult<Vec<MessageRecord>> {
    let notes = if include_notes {
        ""
    } else {
        "AND kind != 'note'"
    };
    all(
        conn,
        &format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE ticket_number = ?1 {notes} \
             ORDER BY at, rowid"
        ),
        params![number],
        message_row,
    )
}

pub(super) fn detail_for(conn: &dyn Sql, ticket: TicketRecord) -> StoreResult<TicketDetail> {
    let (hostname, school, building) = first(
        conn,
        "SELECT hostname, school, building FROM devices WHERE id = ?1",
        params![ticket.device_id.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?
    .unwrap_or((None, None, None));
    let has_screenshot = exists(
        conn,
        "SELECT 1 FROM screenshots WHERE ticket_number = ?1",
        params![ticket.number],
    )?;
    let messages = load_messages(conn, ticket.number, true)?;
    let merged_into = first(
        conn,
        "SELECT into_number FROM ticket_merges WHERE duplicate_number = ?1",
        params![ticket.number],
        |r| r.get(0),
    )?;
    Ok(TicketDetail {
        ticket,
        device_hostname: hostname,
        school,
        building,
        has_screenshot,
        messages,
        merged_into,
    })
}

fn detail_by_number(conn: &dyn Sql, number: i64) -> StoreResult<TicketDetail> {
    detail_for(conn, ticket_by_number(conn, number)?)
}

/// Writes one change as given; returns the ticket afterwards.
pub(super) fn apply(
    conn: &dyn Sql,
    change: &TicketChange,
    now: OffsetDateTime,
) -> StoreResult<TicketDetail> {
    let number = change.number;
    let ticket = ticket_by_number(conn, number)?;
    if change.is_empty() {
        return detail_for(conn, ticket);
    }
    let at = ms(now);
    if let Some(assignee) = &change.assignee {
        let id = match assignee {
            Some(name) => Some(ensure_technician(conn, name, now)?.id),
            None => None,
        };
        exec(
            conn,
            "UPDATE tickets SET assignee_id = ?2 WHERE number = ?1",
            params![number, id],
        )?;
    }
    if let Some(status) = change.status {
        exec(
            conn,
            "UPDATE tickets SET status = ?2 WHERE number = ?1",
            params![number, status.as_str()],
        )?;
    }
    exec(
        conn,
        "UPDATE tickets SET updated_at = ?2 WHERE number = ?1",
        params![number, at],
    )?;
    for m in &change.messages {
        exec(
            conn,
            "INSERT INTO messages (id, ticket_number, kind, author, body, created_at, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)",
            params![
                m.id.to_string(),
                number,
                m.kind.as_str(),
                m.author,
                m.body,
                at
            ],
        )?;
    }
    if let Some(into) = change.merged_into {
        insert_unique(
            conn,
            "INSERT INTO ticket_merges (duplicate_number, into_number, at) VALUES (?1, ?2, ?3)",
            params![number, into, at],
            || format!("ticket #{number} is already merged"),
        )?;
    }
    for entry in &change.feed {
        let (kind, status, assignee, message_id) = match entry {
            FeedWrite::Status { status, assignee } => {
                ("status", Some(status.as_str()), assignee.as_deref(), None)
            }
            FeedWrite::Reply { message_id } => ("reply", None, None, Some(message_id.to_string())),
        };
        exec(
            conn,
            "INSERT INTO updates (device_id, ticket_number, kind, status, assignee, message_id, \
             at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                ticket.device_id.to_string(),
                number,
                kind,
                status,
                assignee,
                message_id,
                at
            ],
        )?;
    }
    detail_by_number(conn, number)
}

/// Hands `tickets` to `decide` and writes what it returns.
pub(super) fn decide_and_apply(
    conn: &dyn Sql,
    tickets: Vec<TicketRecord>,
    now: OffsetDateTime,
    decide: &mut Decide<'_>,
) -> StoreResult<Vec<TicketDetail>> {
    let before = tickets
        .into_iter()
        .map(|t| detail_for(conn, t))
        .collect::<StoreResult<Vec<_>>>()?;
    decide(&before)?
        .iter()
        .map(|change| apply(conn, change, now))
        .collect()
}

/// Counts `amount` of `kind` on the device's usage of `quota.day`, then asks
/// `quota` whether the day's total may be that much: `OverQuota` when not,
/// and the caller's transaction (this count with it) rolls back.
fn count_usage(
    conn: &dyn Sql,
    device_id: Uuid,
    quota: &Quota<'_>,
    kind: QuotaKind,
    amount: u64,
) -> StoreResult<()> {
    let column = match kind {
        QuotaKind::Tickets => "tickets",
        QuotaKind::Messages => "messages",
        QuotaKind::ScreenshotBytes => "screenshot_bytes",
    };
    let total: Option<i64> = first(
        conn,
        &format!(
            "INSERT INTO device_usage (device_id, day, {column}) VALUES (?1, ?2, ?3) \
             ON CONFLICT (device_id, day) DO UPDATE SET {column} = device_usage.{column} + excluded.{column} \
             RETURNING {column}"
        ),
        params![
            device_id.to_string(),
            quota.day,
            i64::try_from(amount).unwrap_or(i64::MAX)
        ],
        |r| r.get(0),
    )?;
    let total = total
        .and_then(|t| u64::try_from(t).ok())
        .unwrap_or(u64::MAX);
    if (quota.admit)(kind, total) {
        Ok(())
    } else {
        Err(StoreError::OverQuota(kind))
    }
}

/// Inserts a ticket unless its client id is known (`Existing` for this
/// device, `Conflict` for another).
pub(super) fn insert_ticket(
    tx: &dyn Sql,
    t: &NewTicketRecord,
    quota: &Quota<'_>,
) -> StoreResult<Inserted<TicketRecord>> {
    if let Some(existing) = ticket_by_client_id(tx, t.client_id)? {
        return if existing.device_id == t.device_id {
            Ok(Inserted::Existing(existing))
        } else {
            Err(StoreError::Conflict(
                "this client id was already used by another device".into(),
            ))
        };
    }
    count_usage(tx, t.device_id, quota, QuotaKind::Tickets, 1)?;
    let device_id = t.device_id.to_string();
    let announcement_id = linkable_announcement(tx, t.announcement_id, &device_id, t.received_at)?;
    let number = insert_id(
        tx,
        "INSERT INTO tickets (client_id, device_id, status, category, urgency, scope, \
         summary, details, room, reporter, snapshot, self_help, offline_at_submit, \
         announcement_id, created_at, received_at, updated_at) VALUES (?1, ?2, ?3, ?4, \
         ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16) RETURNING number",
        params![
            t.client_id.to_string(),
            device_id,
            t.status.as_str(),
            t.category.as_str(),
            t.urgency.as_str(),
            t.scope.as_str(),
            t.summary,
            t.details,
            t.room,
            t.reporter_json,
            t.snapshot_json,
            t.self_help_json,
            t.offline_at_submit,
            announcement_id,
            rfc3339(t.created_at),
            ms(t.received_at),
        ],
    )?;
    Ok(Inserted::Created(ticket_by_number(tx, number)?))
}

/// Inserts a teacher message on the device's ticket unless its id is known.
pub(super) fn insert_teacher_message(
    tx: &dyn Sql,
    device_id: Uuid,
    ticket_client_id: Uuid,
    m: &NewTeacherMessage,
    quota: &Quota<'_>,
) -> StoreResult<Inserted<MessageRecord>> {
    let ticket = device_ticket(tx, device_id, ticket_client_id)?.ok_or(StoreError::NotFound)?;
    let by_id = format!("SELECT {MESSAGE_COLS} FROM messages WHERE id = ?1");
    if let Some(existing) = first(tx, &by_id, params![m.id.to_string()], message_row)? {
        return if existing.ticket_number == ticket.number && existing.kind == MessageKind::Teacher {
            Ok(Inserted::Existing(existing))
        } else {
            Err(StoreError::Conflict(
                "this message id was already used elsewhere".into(),
            ))
        };
    }
    count_usage(tx, device_id, quota, QuotaKind::Messages, 1)?;
    let at = ms(m.received_at);
    exec(
        tx,
        "INSERT INTO messages (id, ticket_number, kind, author, body, created_at, at) \
         VALUES (?1, ?2, 'teacher', NULL, ?3, ?4, ?5)",
        params![
            m.id.to_string(),
            ticket.number,
            m.body,
            rfc3339(m.created_at),
            at
        ],
    )?;
    exec(
        tx,
        "UPDATE tickets SET updated_at = ?2 WHERE number = ?1",
        params![ticket.number, at],
    )?;
    let stored = first(tx, &by_id, params![m.id.to_string()], message_row)?;
    Ok(Inserted::Created(stored.ok_or(StoreError::NotFound)?))
}

impl TicketStore for SqlStore {
    fn insert_ticket_within(
        &self,
        t: &NewTicketRecord,
        quota: &Quota<'_>,
    ) -> StoreResult<Inserted<TicketRecord>> {
        self.write(|tx| insert_ticket(tx, t, quota))
    }

    fn device_ticket(&self, device_id: Uuid, client_id: Uuid) -> StoreResult<Option<TicketRecord>> {
        self.read(|c| device_ticket(c, device_id, client_id))
    }

    fn messages(&self, number: i64, include_notes: bool) -> StoreResult<Vec<MessageRecord>> {
        self.read(|c| load_messages(c, number, include_notes))
    }

    fn insert_teacher_message_within(
        &self,
        device_id: Uuid,
        ticket_client_id: Uuid,
        m: &NewTeacherMessage,
        quota: &Quota<'_>,
    ) -> StoreResult<Inserted<MessageRecord>> {
        self.write(|tx| insert_teacher_message(tx, device_id, ticket_client_id, m, quota))
    }

    fn put_screenshot_within(
        &self,
        device_id: Uuid,
        shot: &NewScreenshot<'_>,
        quota: &Quota<'_>,
    ) -> StoreResult<i64> {
        self.write(|tx| {
            let ticket =
                device_ticket(tx, device_id, shot.ticket_client_id)?.ok_or(StoreError::NotFound)?;
            let same = exists(
                tx,
                "SELECT 1 FROM screenshots WHERE ticket_number = ?1 AND content_type = ?2 \
                 AND bytes = ?3",
                params![ticket.number, shot.content_type, shot.bytes],
            )?;
            if same {
                return Ok(ticket.number);
            }
            let len = u64::try_from(shot.bytes.len()).unwrap_or(u64::MAX);
            count_usage(tx, device_id, quota, QuotaKind::ScreenshotBytes, len)?;
            exec(
                tx,
                "INSERT INTO screenshots (ticket_number, content_type, bytes, uploaded_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (ticket_number) DO UPDATE SET \
                 content_type = excluded.content_type, bytes = excluded.bytes, \
                 uploaded_at = excluded.uploaded_at",
                params![
                    ticket.number,
                    shot.content_type,
                    shot.bytes,
                    ms(shot.uploaded_at)
                ],
            )?;
            Ok(ticket.number)
        })
    }

    fn screenshot(&self, number: i64) -> StoreResult<Option<(String, Vec<u8>)>> {
        self.read(|c| {
            first(
                c,
                "SELECT content_type, bytes FROM screenshots WHERE ticket_number = ?1",
                params![number],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
    }

    fn forget_usage_before(&self, day: i64) -> StoreResult<usize> {
        self.write(|tx| exec(tx, "DELETE FROM device_usage WHERE day < ?1", params![day]))
    }

    fn updates(&self, device_id: Uuid, after: i64, limit: usize) -> StoreResult<Vec<FeedEntry>> {
        self.read(|c| {
            all(
                c,
                "SELECT u.seq, u.ticket_number, t.client_id, u.at, u.kind, u.status, \
                     u.assignee, m.id, m.ticket_number, m.kind, m.author, m.body, m.at \
                     FROM updates u JOIN tickets t ON t.number = u.ticket_number \
                     LEFT JOIN messages m ON m.id = u.message_id \
                 WHERE u.device_id = ?1 AND u.seq > ?2 ORDER BY u.seq LIMIT ?3",
                params![device_id.to_string(), after, limit as i64],
                |r| {
                    let kind: String = r.get(4)?;
                    let feed = match kind.as_str() {
                        "status" => FeedKind::Status {
                            status: choice_at(r, 5)?,
                            assignee: r.get(6)?,
                        },
                        "reply" => FeedKind::Reply(message_at(r, 7)?),
                        other => {
                            return Err(super::rows::corrupt(format!("update kind {other:?}")));
                        }
                    };
                    Ok(FeedEntry {
                        seq: r.get(0)?,
                        ticket_number: r.get(1)?,
                        ticket_client_id: uuid_at(r, 2)?,
                        at: from_ms(r.get(3)?),
                        kind: feed,
                    })
                },
            )
        })
    }

    fn ticket_page(&self, query: &TicketQuery) -> StoreResult<Vec<TicketDetail>> {
        self.read(|c| super::lists::ticket_page(c, query))
    }

    fn ticket_facets(&self) -> StoreResult<TicketFacets> {
        self.read(super::lists::ticket_facets)
    }

    fn ticket_detail(&self, number: i64) -> StoreResult<Option<TicketDetail>> {
        self.read(|c| match detail_by_number(c, number) {
            Ok(d) => Ok(Some(d)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        })
    }

    fn change_tickets(
        &self,
        numbers: &[i64],
        now: OffsetDateTime,
        decide: &mut Decide<'_>,
    ) -> StoreResult<Vec<TicketDetail>> {
        self.write(|tx| {
            let tickets = numbers
                .iter()
                .map(|&n| ticket_by_number(tx, n))
                .collect::<StoreResult<Vec<_>>>()?;
            decide_and_apply(tx, tickets, now, decide)
        })
    }
}
