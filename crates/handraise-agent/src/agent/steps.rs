//! The steps of a sync pass: each sends one queued item (or refreshes one cache) and
//! records the server's answer. A refused item is kept, marked rejected, and listed in
//! the pass's report; any other failure ends the pass (see [`super::sync`]).

use handraise_wire::{MessageReceipt, TicketReceipt};
use std::path::PathBuf;
use uuid::Uuid;

use super::sync::{Rejection, SyncReport};
use super::{Agent, now};
use crate::error::{AgentError, StoreError, SyncError};
use crate::store::{ItemState, Store};
use crate::sync::client::{Answer, ApiClient};
use crate::sync::plan::Step;

/// What the screenshot's ticket is told when the server would not take the screenshot.
const SCREENSHOT_TOO_LARGE: &str = "the screenshot was too large; the ticket was sent without it";

impl Agent {
    /// Runs `f` on the store, failing as a sync error.
    async fn store<T, F>(&self, f: F) -> Result<T, SyncError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        self.db(f).await.map_err(into_sync)
    }

    /// Records a successful answer's latency and the clock skew from its Date header.
    async fn contacted<T>(&self, answer: &Answer<T>) -> Result<(), SyncError> {
        let at = now();
        let latency = answer.latency;
        let skew = answer.date.map(|d| (at - d).whole_seconds());
        self.store(move |s| s.record_contact(at, latency, skew))
            .await
    }

    /// The server's answer to one queued item. An answer records the contact, and `sent`
    /// records the item sent (its result is returned); a refusal keeps the item as
    /// rejected (`refused` marks it with the reason), lists it in the pass's report and
    /// returns `None`; any other failure ends the pass.
    async fn deliver<T, R, S, F>(
        &self,
        report: &mut SyncReport,
        (kind, client_id): (&'static str, Uuid),
        answer: Result<Answer<T>, SyncError>,
        sent: S,
        refused: F,
    ) -> Result<Option<R>, SyncError>
    where
        T: Send + 'static,
        R: Send + 'static,
        S: FnOnce(&Store, T) -> Result<R, StoreError> + Send + 'static,
        F: FnOnce(&Store, &str) -> Result<(), StoreError> + Send + 'static,
    {
        let reason = match answer {
            Ok(answer) => {
                self.contacted(&answer).await?;
                let value = answer.value;
                return self.store(move |s| sent(s, value)).await.map(Some);
            }
            Err(SyncError::Rejected { message, .. }) => message,
            Err(e) => return Err(e),
        };
        tracing::warn!(kind, %client_id, %reason, "refused by the server; kept on this computer");
        let why = reason.clone();
        self.store(move |s| refused(s, &why)).await?;
        report.rejected.push(Rejection {
            kind,
            client_id,
            reason,
        });
        Ok(None)
    }

    pub(super) async fn exec_step(
        &self,
        client: &ApiClient,
        step: Step,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        match step {
            Step::SendTicket(id) => self.send_ticket(client, id, report).await,
            Step::SendScreenshot(ticket) => self.send_screenshot(client, ticket, report).await,
            Step::SendMessage(id) => self.send_message_now(client, id, report).await,
            Step::SendEvent(id) => self.send_event(client, id, report).await,
            Step::PollUpdates => {
                for _ in 0..1000 {
                    let (applied, more) = self.poll_updates(client, 0).await?;
                    report.updates_applied += applied;
                    if !more {
                        break;
                    }
                }
                Ok(())
            }
            Step::RefreshKb => {
                let since = self.store(|s| s.kb_version()).await?;
                match client.kb(since).await {
                    Ok(answer) => {
                        self.contacted(&answer).await?;
                        let changes = answer.value;
                        self.store(move |s| s.apply_kb(&changes, now())).await
                    }
                    Err(SyncError::Rejected { message, .. }) => {
                        tracing::warn!(%message, "knowledge-base refresh refused");
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Step::RefreshAnnouncements => match client.announcements().await {
                Ok(answer) => {
                    let at = now();
                    let latency = answer.latency;
                    // Server clock at the midpoint of the request.
                    let skew = (at - answer.value.server_time - latency / 2).whole_seconds();
                    let list = answer.value;
                    self.store(move |s| {
                        s.record_contact(at, latency, Some(skew))?;
                        s.replace_announcements(&list, at)
                    })
                    .await
                }
                Err(SyncError::Rejected { message, .. }) => {
                    tracing::warn!(%message, "announcements refresh refused");
                    Ok(())
                }
                Err(e) => Err(e),
            },
        }
    }

    async fn send_ticket(
        &self,
        client: &ApiClient,
        id: Uuid,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let payload = self.store(move |s| s.ticket_payload(id)).await?;
        let answer = client.post_ticket(&payload).await;
        let sent = |s: &Store, receipt: TicketReceipt| {
            s.mark_ticket_sent(&receipt, now())?;
            Ok(receipt.number)
        };
        let refused = move |s: &Store, why: &str| s.mark_ticket_rejected(id, why, now());
        let item = ("ticket", id);
        if let Some(number) = self.deliver(report, item, answer, sent, refused).await? {
            tracing::info!(client_id = %id, number, "ticket sent");
            report.sent_tickets.push((id, number));
        }
        Ok(())
    }

    async fn send_screenshot(
        &self,
        client: &ApiClient,
        ticket: Uuid,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        if !self.store(move |s| s.ticket_is_sent(ticket)).await? {
            return Ok(());
        }
        let (bytes, content_type) = self.store(move |s| s.screenshot(ticket)).await?;
        let mut answer = client.put_screenshot(ticket, bytes, &content_type).await;
        let mut state = ItemState::Rejected;
        if let Err(SyncError::Rejected {
            status: 413,
            message,
            ..
        }) = &mut answer
        {
            // Too large: the ticket went without it, and the teacher is told.
            SCREENSHOT_TOO_LARGE.clone_into(message);
            state = ItemState::Dropped;
            report.dropped_screenshots.push(ticket);
        }
        let delivered = self
            .deliver(
                report,
                ("screenshot", ticket),
                answer,
                move |s: &Store, _| s.mark_screenshot(ticket, ItemState::Sent, None),
                move |s: &Store, why: &str| s.mark_screenshot(ticket, state, Some(why)),
            )
            .await?;
        report.sent_screenshots += usize::from(delivered.is_some());
        Ok(())
    }

    async fn send_message_now(
        &self,
        client: &ApiClient,
        id: Uuid,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let (ticket, message) = self.store(move |s| s.message_payload(id)).await?;
        if !self.store(move |s| s.ticket_is_sent(ticket)).await? {
            return Ok(());
        }
        let answer = client.post_message(ticket, &message).await;
        let delivered = self
            .deliver(
                report,
                ("message", id),
                answer,
                |s: &Store, receipt: MessageReceipt| s.mark_message_sent(&receipt),
                move |s: &Store, why: &str| s.mark_message_rejected(id, why),
            )
            .await?;
        report.sent_messages += usize::from(delivered.is_some());
        Ok(())
    }

    async fn send_event(
        &self,
        client: &ApiClient,
        id: Uuid,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let (path, body) = self.store(move |s| s.event_payload(id)).await?;
        let answer = client.post_event(&path, &body).await;
        let sent = move |s: &Store, _| s.mark_event(id, None);
        let refused = move |s: &Store, why: &str| s.mark_event(id, Some(why));
        self.deliver(report, ("event", id), answer, sent, refused)
            .await
            .map(drop)
    }

    /// One page of the updates feed (long-polling up to `wait_secs`); returns
    /// (updates that changed something, more pages ready).
    pub(super) async fn poll_updates(
        &self,
        client: &ApiClient,
        wait_secs: u64,
    ) -> Result<(usize, bool), SyncError> {
        let cursor = self.store(|s| s.cursor()).await?;
        match client.updates(cursor, wait_secs).await {
            Ok(answer) => {
                if wait_secs == 0 {
                    self.contacted(&answer).await?;
                }
                let page = answer.value;
                if let Some(generation) = page.generation.clone() {
                    let restored = self
                        .store(move |s| s.note_server_generation(&generation))
                        .await?;
                    if restored {
                        // This page was read with a cursor of the old database.
                        tracing::warn!(
                            "the server was restored from a backup: sending again what it may lack"
                        );
                        self.inner
                            .server_restored
                            .store(true, std::sync::atomic::Ordering::SeqCst);
                        self.changed();
                        self.wake();
                        return Ok((1, false));
                    }
                }
                let more = page.more && !page.updates.is_empty();
                let applied = self.store(move |s| s.apply_updates(&page, now())).await?;
                if applied > 0 {
                    self.changed();
                }
                Ok((applied, more))
            }
            Err(SyncError::Rejected { message, .. }) => {
                tracing::warn!(%message, "updates feed refused");
                Ok((0, false))
            }
            Err(e) => Err(e),
        }
    }
}

fn into_sync(e: AgentError) -> SyncError {
    match e {
        AgentError::Store(s) => SyncError::Store(s),
        AgentError::Sync(s) => s,
        other => SyncError::Store(StoreError::Io {
            path: PathBuf::new(),
            source: std::io::Error::other(other.to_string()),
        }),
    }
}
