//! Local tickets as the teacher sees them, and the updates feed (status changes and
//! technician replies) that changes them.

use handraise_wire::{Author, Category, TicketStatus, UpdateKind, UpdatesPage};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::outbox::ItemState;
use super::rows::{Cells, Col, all, ms, ts};
use super::{Store, meta};
use crate::error::StoreError;

/// A message on a ticket, as the teacher sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageView {
    pub id: Uuid,
    pub author: Author,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `queued` | `sent` | `rejected` for teacher messages, `received` for replies.
    pub state: ItemState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_reason: Option<String>,
}

/// The screenshot attached to a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScreenshotView {
    pub state: ItemState,
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A local ticket with everything the teacher is shown about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketView {
    pub client_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub category: Category,
    pub summary: String,
    pub details: Option<String>,
    /// `queued` | `sent` | `rejected`.
    pub state: ItemState,
    /// Ticket number once the server has it.
    pub number: Option<i64>,
    /// Help-desk status once known.
    pub status: Option<TicketStatus>,
    pub assignee: Option<String>,
    pub reject_reason: Option<String>,
    /// A status change or reply the teacher has not looked at yet.
    pub unread: bool,
    pub screenshot: Option<ScreenshotView>,
    /// Teacher messages and technician replies, oldest first.
    pub messages: Vec<MessageView>,
}

/// How an author is stored in `incoming_messages.author`.
fn author_str(author: Author) -> &'static str {
    match author {
        Author::Teacher => "teacher",
        Author::Technician => "technician",
    }
}

/// An `incoming_messages.author` value.
fn author(col: Col, s: &str) -> Result<Author, StoreError> {
    [Author::Teacher, Author::Technician]
        .into_iter()
        .find(|a| author_str(*a) == s)
        .ok_or_else(|| col.bad(s, "not an author"))
}

/// A `tickets` row joined with its screenshot, as in [`Store::tickets`].
fn read_ticket(r: &rusqlite::Row<'_>) -> Result<TicketView, StoreError> {
    let t = Cells::of(r, "tickets");
    let s = Cells::of(r, "screenshots");
    Ok(TicketView {
        client_id: t.parse(0, "client_id", Col::uuid)?,
        created_at: t.parse(1, "created_at", Col::time)?,
        category: t.parse(2, "category", Col::choice)?,
        summary: t.get(3)?,
        details: t.get(13)?,
        state: t.parse(4, "state", Col::choice)?,
        number: t.get(5)?,
        status: t.parse_opt(6, "status", Col::choice)?,
        assignee: t.get(7)?,
        reject_reason: t.get(8)?,
        unread: t.get(9)?,
        screenshot: match s.parse_opt(10, "state", Col::choice)? {
            Some(state) => Some(ScreenshotView {
                state,
                bytes: u64::try_from(s.get::<i64>(11)?).unwrap_or(0),
                reason: s.get(12)?,
            }),
            None => None,
        },
        messages: Vec::new(),
    })
}

impl Store {
    /// Applies one page of the updates feed and saves its cursor in the same
    /// transaction. Applying a page twice leaves the same state. Returns how
    /// many updates changed something.
    pub fn apply_updates(
        &self,
        page: &UpdatesPage,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let mut changed = 0;
        for u in &page.updates {
            let id = u.ticket_client_id.to_string();
            // A ticket sent just before a crash may still say queued: the feed proves it arrived.
            tx.execute(
                "UPDATE tickets SET state = 'sent', number = ?2, reject_reason = NULL, updated_at = ?3
                 WHERE client_id = ?1 AND state = 'queued'",
                params![id, u.ticket_number, ts(now)],
            )?;
            changed += match &u.kind {
                UpdateKind::Status { status, assignee } => tx.execute(
                    "UPDATE tickets SET status = ?2, assignee = COALESCE(?3, assignee),
                            unread = 1, updated_at = ?4, number = COALESCE(number, ?5)
                     WHERE client_id = ?1
                       AND (status IS NOT ?2 OR (?3 IS NOT NULL AND assignee IS NOT ?3))",
                    params![id, status.as_str(), assignee, ts(now), u.ticket_number],
                )?,
                UpdateKind::Reply { message } => {
                    let known: Option<i64> = tx
                        .query_row("SELECT 1 FROM tickets WHERE client_id = ?1", [&id], |r| {
                            r.get(0)
                        })
                        .optional()?;
                    if known.is_none() {
                        0
                    } else {
                        let n = tx.execute(
                            "INSERT OR IGNORE INTO incoming_messages
                               (id, ticket_client_id, author, author_name, body, at, at_ms, seq)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                            params![
                                message.id.to_string(),
                                id,
                                author_str(message.author),
                                message.author_name,
                                message.body,
                                ts(message.at),
                                ms(message.at),
                                u.seq
                            ],
                        )?;
                        if n > 0 {
                            tx.execute(
                                "UPDATE tickets SET unread = 1, updated_at = ?2 WHERE client_id = ?1",
                                params![id, ts(now)],
                            )?;
                        }
                        n
                    }
                }
                UpdateKind::Unknown => 0,
            };
        }
        let current: i64 = meta::number(&tx, meta::CURSOR)?.unwrap_or(0);
        meta::set(
            &tx,
            meta::CURSOR,
            Some(&current.max(page.cursor).to_string()),
        )?;
        tx.commit()?;
        Ok(changed)
    }

    /// Clears the unread flag of a ticket (the teacher looked at it).
    pub fn mark_read(&self, client_id: Uuid) -> Result<(), StoreError> {
        let n = self.conn.execute(
            "UPDATE tickets SET unread = 0 WHERE client_id = ?1",
            [client_id.to_string()],
        )?;
        if n == 0 {
            return Err(StoreError::UnknownTicket(client_id));
        }
        Ok(())
    }

    /// Every local ticket, oldest first, with its messages (teacher messages and
    /// technician replies, oldest first).
    pub fn tickets(&self) -> Result<Vec<TicketView>, StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let mut out = all(
            &tx,
            "SELECT t.client_id, t.created_at, t.category, t.summary, t.state, t.number,
                    t.status, t.assignee, t.reject_reason, t.unread,
                    s.state, s.size, s.reason, json_extract(t.payload, '$.details')
             FROM tickets t LEFT JOIN screenshots s ON s.ticket_client_id = t.client_id
             ORDER BY t.created_ms, t.client_id",
            [],
            read_ticket,
        )?;
        let mut messages = all(
            &tx,
            "SELECT ticket_client_id, client_id, body, created_ms, state, reject_reason
             FROM outgoing_messages",
            [],
            |r| {
                let c = Cells::of(r, "outgoing_messages");
                let message = MessageView {
                    id: c.parse(1, "client_id", Col::uuid)?,
                    author: Author::Teacher,
                    author_name: None,
                    body: c.get(2)?,
                    at: c.time_ms(3, "created_ms")?,
                    state: c.parse(4, "state", Col::choice)?,
                    reject_reason: c.get(5)?,
                };
                Ok((c.parse(0, "ticket_client_id", Col::uuid)?, message))
            },
        )?;
        messages.extend(all(
            &tx,
            "SELECT ticket_client_id, id, author, author_name, body, at_ms FROM incoming_messages",
            [],
            |r| {
                let c = Cells::of(r, "incoming_messages");
                let message = MessageView {
                    id: c.parse(1, "id", Col::uuid)?,
                    author: c.parse(2, "author", author)?,
                    author_name: c.get(3)?,
                    body: c.get(4)?,
                    at: c.time_ms(5, "at_ms")?,
                    state: ItemState::Received,
                    reject_reason: None,
                };
                Ok((c.parse(0, "ticket_client_id", Col::uuid)?, message))
            },
        )?);
        tx.commit()?;
        messages.sort_by_key(|(_, m)| (m.at, m.id));
        for (ticket, message) in messages {
            if let Some(t) = out.iter_mut().find(|t| t.client_id == ticket) {
                t.messages.push(message);
            }
        }
        Ok(out)
    }
}
