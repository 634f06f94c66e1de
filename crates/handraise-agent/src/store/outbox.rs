//! The outbox: tickets, their screenshots, teacher messages and small events ("me too",
//! "this fixed it") saved here first and sent by the sync engine. Nothing is deleted: a
//! refused item is marked `rejected` and kept.

use handraise_wire::{MessageReceipt, NewMessage, NewTicket, TicketReceipt};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::str::FromStr;
use time::OffsetDateTime;
use uuid::Uuid;

use super::rows::{Cells, Col, all, first, ms, ts};
use super::{Store, meta};
use crate::error::StoreError;
use crate::sync::plan::{QueuedEvent, QueuedMessage, QueuedScreenshot, QueuedTicket, SyncState};

/// State of an outgoing item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    Queued,
    Sent,
    Rejected,
    /// A technician reply, received from the server.
    Received,
    /// A screenshot the server would not take (too large); the ticket went without it.
    Dropped,
}

impl ItemState {
    const ALL: [ItemState; 5] = [
        ItemState::Queued,
        ItemState::Sent,
        ItemState::Rejected,
        ItemState::Received,
        ItemState::Dropped,
    ];

    /// The stored (and serialized) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Queued => "queued",
            ItemState::Sent => "sent",
            ItemState::Rejected => "rejected",
            ItemState::Received => "received",
            ItemState::Dropped => "dropped",
        }
    }
}

impl FromStr for ItemState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ItemState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| "not an item state".to_owned())
    }
}

/// Counts of what is still waiting to be sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueCounts {
    pub tickets: usize,
    pub screenshots: usize,
    pub messages: usize,
    /// "Me too"s and "this fixed it"s waiting to be told to the server.
    pub events: usize,
}

impl QueueCounts {
    pub fn total(&self) -> usize {
        self.tickets + self.screenshots + self.messages + self.events
    }
}

/// Whether `ticket_state` (a `tickets.state` value) says the ticket is sent.
fn sent(ticket_state: &str) -> bool {
    ticket_state == "sent"
}

/// The queued rows of `table` (tickets or events), oldest first, each made by `make` of
/// its client id and creation time.
fn queued<T>(
    conn: &Connection,
    table: &'static str,
    make: impl Fn(Uuid, OffsetDateTime) -> T,
) -> Result<Vec<T>, StoreError> {
    let sql = format!(
        "SELECT client_id, created_ms FROM {table} WHERE state = 'queued'
         ORDER BY created_ms, client_id"
    );
    all(conn, &sql, [], |r| {
        let c = Cells::of(r, table);
        Ok(make(
            c.parse(0, "client_id", Col::uuid)?,
            c.time_ms(1, "created_ms")?,
        ))
    })
}

impl Store {
    /// Saves a new ticket (and its screenshot) in one transaction. Saving the
    /// same client id again changes nothing.
    pub fn insert_ticket(
        &self,
        ticket: &NewTicket,
        screenshot: Option<(&[u8], &str)>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let payload = serde_json::to_string(ticket)?;
        let tx = self.conn.unchecked_transaction()?;
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO tickets
               (client_id, created_at, created_ms, category, summary, payload, state, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7)",
            params![
                ticket.client_id.to_string(),
                ts(ticket.created_at),
                ms(ticket.created_at),
                ticket.category.as_str(),
                ticket.summary,
                payload,
                ts(now),
            ],
        )?;
        if inserted == 1
            && let Some((bytes, content_type)) = screenshot
        {
            tx.execute(
                "INSERT INTO screenshots (ticket_client_id, bytes, size, content_type, state)
                     VALUES (?1, ?2, ?3, ?4, 'queued')",
                params![
                    ticket.client_id.to_string(),
                    bytes,
                    bytes.len() as i64,
                    content_type
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The state of a local ticket (`None`: no such ticket).
    fn ticket_state(&self, client_id: Uuid) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT state FROM tickets WHERE client_id = ?1",
                [client_id.to_string()],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Queues a teacher message on a local ticket.
    pub fn insert_message(
        &self,
        ticket_client_id: Uuid,
        message: &NewMessage,
    ) -> Result<(), StoreError> {
        if self.ticket_state(ticket_client_id)?.is_none() {
            return Err(StoreError::UnknownTicket(ticket_client_id));
        }
        self.conn.execute(
            "INSERT OR IGNORE INTO outgoing_messages
               (client_id, ticket_client_id, body, created_at, created_ms, state)
             VALUES (?1, ?2, ?3, ?4, ?5, 'queued')",
            params![
                message.client_id.to_string(),
                ticket_client_id.to_string(),
                message.body,
                ts(message.created_at),
                ms(message.created_at),
            ],
        )?;
        Ok(())
    }

    /// The stored request body of a ticket.
    pub fn ticket_payload(&self, client_id: Uuid) -> Result<NewTicket, StoreError> {
        self.queued_item("tickets", "payload", client_id, |c| {
            c.parse(0, "payload", Col::json)
        })
    }

    /// One queued item of `table` by its client id; an unknown id is an error.
    fn queued_item<T>(
        &self,
        table: &'static str,
        columns: &str,
        client_id: Uuid,
        read: impl FnOnce(&Cells<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let sql = format!("SELECT {columns} FROM {table} WHERE client_id = ?1");
        first(&self.conn, &sql, [client_id.to_string()], |r| {
            read(&Cells::of(r, table))
        })?
        .ok_or(StoreError::UnknownTicket(client_id))
    }

    /// A queued message: its ticket and request body.
    pub fn message_payload(&self, client_id: Uuid) -> Result<(Uuid, NewMessage), StoreError> {
        let columns = "ticket_client_id, body, created_at";
        self.queued_item("outgoing_messages", columns, client_id, |c| {
            let message = NewMessage {
                client_id,
                created_at: c.parse(2, "created_at", Col::time)?,
                body: c.get(1)?,
            };
            Ok((c.parse(0, "ticket_client_id", Col::uuid)?, message))
        })
    }

    /// The screenshot of a ticket: bytes and content type.
    pub fn screenshot(&self, ticket_client_id: Uuid) -> Result<(Vec<u8>, String), StoreError> {
        self.conn
            .query_row(
                "SELECT bytes, content_type FROM screenshots WHERE ticket_client_id = ?1",
                [ticket_client_id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or(StoreError::UnknownTicket(ticket_client_id))
    }

    /// Whether a ticket is sent (so its screenshot and messages may follow).
    pub fn ticket_is_sent(&self, client_id: Uuid) -> Result<bool, StoreError> {
        Ok(self.ticket_state(client_id)?.as_deref().is_some_and(sent))
    }

    pub fn mark_ticket_sent(
        &self,
        receipt: &TicketReceipt,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE tickets SET state = 'sent', number = ?2, reject_reason = NULL,
                    status = COALESCE(status, ?3), updated_at = ?4
             WHERE client_id = ?1",
            params![
                receipt.client_id.to_string(),
                receipt.number,
                receipt.status.as_str(),
                ts(now)
            ],
        )?;
        Ok(())
    }

    /// Marks a ticket rejected with the server's reason; its queued screenshot
    /// and messages cannot go without it and are marked rejected too. Kept.
    pub fn mark_ticket_rejected(
        &self,
        client_id: Uuid,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let id = client_id.to_string();
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "UPDATE tickets SET state = 'rejected', reject_reason = ?2, updated_at = ?3
             WHERE client_id = ?1 AND state = 'queued'",
            params![id, reason, ts(now)],
        )?;
        tx.execute(
            "UPDATE screenshots SET state = 'rejected', reason = 'the ticket was not accepted',
                 bytes = X''
             WHERE ticket_client_id = ?1 AND state = 'queued'",
            [&id],
        )?;
        tx.execute(
            "UPDATE outgoing_messages SET state = 'rejected', reject_reason = 'the ticket was not accepted'
             WHERE ticket_client_id = ?1 AND state = 'queued'",
            [&id],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn mark_message_sent(&self, receipt: &MessageReceipt) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outgoing_messages SET state = 'sent', reject_reason = NULL WHERE client_id = ?1",
            [receipt.client_id.to_string()],
        )?;
        Ok(())
    }

    pub fn mark_message_rejected(&self, client_id: Uuid, reason: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outgoing_messages SET state = 'rejected', reject_reason = ?2
             WHERE client_id = ?1 AND state = 'queued'",
            params![client_id.to_string(), reason],
        )?;
        Ok(())
    }

    /// Sets the state of a ticket's screenshot (`sent`, `dropped`, `rejected`; any other
    /// state is refused by the table).
    pub fn mark_screenshot(
        &self,
        ticket_client_id: Uuid,
        state: ItemState,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        // Once the server has the image, or it will never be sent, this computer keeps
        // only its size: a screenshot may show what the teacher would not leave lying
        // around (and after a server restore such a screenshot cannot come back).
        tx.execute(
            "UPDATE screenshots SET state = ?2, reason = ?3,
                 bytes = CASE WHEN ?2 = 'queued' THEN bytes ELSE X'' END
             WHERE ticket_client_id = ?1",
            params![ticket_client_id.to_string(), state.as_str(), reason],
        )?;
        if state == ItemState::Dropped {
            // The teacher is told through the unread flag and the screenshot state.
            tx.execute(
                "UPDATE tickets SET unread = 1 WHERE client_id = ?1",
                [ticket_client_id.to_string()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Queues a small JSON post (`path` under `/api/v1`), sent by the sync engine after
    /// tickets and messages, idempotent on the server by `client_id`.
    pub fn insert_event(
        &self,
        client_id: Uuid,
        kind: &str,
        path: &str,
        body: &serde_json::Value,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO outgoing_events (client_id, kind, path, body, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![client_id.to_string(), kind, path, body.to_string(), ms(at)],
        )?;
        Ok(())
    }

    /// The request of a queued event: (path, body).
    pub fn event_payload(
        &self,
        client_id: Uuid,
    ) -> Result<(String, serde_json::Value), StoreError> {
        self.queued_item("outgoing_events", "path, body", client_id, |c| {
            Ok((c.get(0)?, c.parse(1, "body", Col::json)?))
        })
    }

    /// Marks an event sent, or rejected with the server's reason (`refused`); kept either
    /// way.
    pub fn mark_event(&self, client_id: Uuid, refused: Option<&str>) -> Result<(), StoreError> {
        let (state, reason) = match refused {
            None => (ItemState::Sent, None),
            Some(why) => (ItemState::Rejected, Some(why)),
        };
        self.conn.execute(
            "UPDATE outgoing_events SET state = ?2, reject_reason = ?3 WHERE client_id = ?1",
            params![client_id.to_string(), state.as_str(), reason],
        )?;
        Ok(())
    }

    /// Announcements this computer already said "me too" to.
    pub fn me_too_ids(&self) -> Result<Vec<i64>, StoreError> {
        all(
            &self.conn,
            "SELECT DISTINCT CAST(substr(path, length('/announcements/') + 1,
                    instr(substr(path, length('/announcements/') + 1), '/') - 1) AS INTEGER)
             FROM outgoing_events WHERE kind = 'me_too' AND state <> 'rejected'",
            [],
            |r| Ok(r.get(0)?),
        )
    }

    /// What the planner needs, read in one transaction.
    pub fn sync_state(&self, enrolled: bool) -> Result<SyncState, StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let tickets = queued(&tx, "tickets", |client_id, created_at| QueuedTicket {
            client_id,
            created_at,
        })?;
        let screenshots = all(
            &tx,
            "SELECT s.ticket_client_id, t.state FROM screenshots s
             JOIN tickets t ON t.client_id = s.ticket_client_id
             WHERE s.state = 'queued' AND t.state IN ('queued','sent')
             ORDER BY t.created_ms, t.client_id",
            [],
            |r| {
                Ok(QueuedScreenshot {
                    ticket_client_id: Cells::of(r, "screenshots").parse(
                        0,
                        "ticket_client_id",
                        Col::uuid,
                    )?,
                    ticket_sent: sent(&r.get::<_, String>(1)?),
                })
            },
        )?;
        let messages = all(
            &tx,
            "SELECT m.client_id, m.ticket_client_id, m.created_ms, t.state
             FROM outgoing_messages m JOIN tickets t ON t.client_id = m.ticket_client_id
             WHERE m.state = 'queued' AND t.state IN ('queued','sent')
             ORDER BY m.created_ms, m.client_id",
            [],
            |r| {
                let c = Cells::of(r, "outgoing_messages");
                Ok(QueuedMessage {
                    client_id: c.parse(0, "client_id", Col::uuid)?,
                    ticket_client_id: c.parse(1, "ticket_client_id", Col::uuid)?,
                    created_at: c.time_ms(2, "created_ms")?,
                    ticket_sent: sent(&r.get::<_, String>(3)?),
                })
            },
        )?;
        let events = queued(&tx, "outgoing_events", |client_id, created_at| {
            QueuedEvent {
                client_id,
                created_at,
            }
        })?;
        let state = SyncState {
            enrolled,
            events,
            paused: meta::paused(&tx)?,
            backoff: meta::backoff(&tx)?,
            tickets,
            screenshots,
            messages,
            last_kb_refresh: meta::time(&tx, meta::KB_REFRESHED)?,
            last_announcements_refresh: meta::time(&tx, meta::ANN_REFRESHED)?,
        };
        tx.commit()?;
        Ok(state)
    }

    /// How much is still waiting to be sent.
    pub fn queue_counts(&self) -> Result<QueueCounts, StoreError> {
        let count = |sql: &str| -> Result<usize, StoreError> {
            let n: i64 = self.conn.query_row(sql, [], |r| r.get(0))?;
            Ok(usize::try_from(n).unwrap_or(0))
        };
        Ok(QueueCounts {
            tickets: count("SELECT COUNT(*) FROM tickets WHERE state = 'queued'")?,
            screenshots: count(
                "SELECT COUNT(*) FROM screenshots s JOIN tickets t ON t.client_id = s.ticket_client_id
                 WHERE s.state = 'queued' AND t.state <> 'rejected'",
            )?,
            messages: count(
                "SELECT COUNT(*) FROM outgoing_messages m JOIN tickets t ON t.client_id = m.ticket_client_id
                 WHERE m.state = 'queued' AND t.state <> 'rejected'",
            )?,
            events: count("SELECT COUNT(*) FROM outgoing_events WHERE state = 'queued'")?,
        })
    }
}
