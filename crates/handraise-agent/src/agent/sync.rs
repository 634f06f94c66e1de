//! One sync pass: plan from the store, send what is queued, record the outcome.

use std::path::PathBuf;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Agent, PAUSED_REASON, now};
use crate::error::{AgentError, StoreError, SyncError};
use crate::lock::SyncLock;
use crate::store::{ItemState, QueueCounts};
use crate::sync::client::{Answer, ApiClient};
use crate::sync::plan::{self, BackoffState, Plan, PlanOptions, Step};

/// How a sync pass behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncOptions {
    pub plan: PlanOptions,
    /// A Retry-After up to this long is waited out within the pass (then retried).
    pub max_inline_retry_after: Duration,
    /// How long to wait for another process's sync lock.
    pub lock_wait: Duration,
}

impl SyncOptions {
    /// `handraise-agent sync`: go now, refresh everything, wait out short
    /// Retry-Afters, wait up to 30 s for the lock.
    pub fn one_shot() -> Self {
        SyncOptions {
            plan: PlanOptions {
                ignore_backoff: true,
                force_refresh: true,
                ..PlanOptions::default()
            },
            max_inline_retry_after: Duration::from_secs(5),
            lock_wait: Duration::from_secs(30),
        }
    }

    /// A pass of the scheduler: respects the backoff unless woken; a woken pass ("sync
    /// now", a window opening, a report) also refreshes announcements and the knowledge base.
    pub fn background(woken: bool) -> Self {
        SyncOptions {
            plan: PlanOptions {
                ignore_backoff: woken,
                force_refresh: woken,
                ..PlanOptions::default()
            },
            max_inline_retry_after: Duration::from_secs(2),
            lock_wait: Duration::ZERO,
        }
    }
}

/// An item the server refused in a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// `ticket`, `message` or `screenshot`.
    pub kind: &'static str,
    pub client_id: Uuid,
    pub reason: String,
}

/// What one sync pass did.
#[derive(Debug, Default)]
pub struct SyncReport {
    /// Tickets sent in this pass, with their numbers.
    pub sent_tickets: Vec<(Uuid, i64)>,
    pub sent_messages: usize,
    pub sent_screenshots: usize,
    pub rejected: Vec<Rejection>,
    /// Screenshots the server would not take (too large); their tickets went without them.
    pub dropped_screenshots: Vec<Uuid>,
    pub updates_applied: usize,
    /// The queue is paused (device refused); why.
    pub paused: Option<String>,
    pub not_enrolled: bool,
    /// Backing off: nothing was tried before this time.
    pub waiting_until: Option<OffsetDateTime>,
    /// The transient failure that ended the pass early.
    pub failure: Option<SyncError>,
    /// What is still waiting to be sent after the pass.
    pub remaining: QueueCounts,
}

impl SyncReport {
    /// Nothing is left to send and the device is in good standing.
    pub fn is_complete(&self) -> bool {
        self.remaining.total() == 0 && self.paused.is_none() && !self.not_enrolled
    }
}

impl Agent {
    /// One pass as `handraise-agent sync` does it ([`SyncOptions::one_shot`]).
    pub async fn sync_once(&self) -> Result<SyncReport, AgentError> {
        self.sync_with(SyncOptions::one_shot()).await
    }

    /// One pass under the sync lock.
    pub async fn sync_with(&self, opts: SyncOptions) -> Result<SyncReport, AgentError> {
        let _lock = SyncLock::acquire(self.data_dir(), opts.lock_wait).await?;
        self.pass(&opts).await
    }

    async fn pass(&self, opts: &SyncOptions) -> Result<SyncReport, AgentError> {
        let mut report = SyncReport::default();
        let enrollment = match self.ensure_enrolled().await {
            Ok(e) => e,
            Err(AgentError::Sync(e)) if !e.is_permanent() => {
                report.failure = Some(e);
                None
            }
            Err(e) => return Err(e),
        };
        let enrolled = enrollment.is_some();
        let state = self.db(move |s| s.sync_state(enrolled)).await?;
        let started = now();
        match (plan::plan(&state, started, &opts.plan), enrollment) {
            (Plan::NotEnrolled, _) | (_, None) => report.not_enrolled = true,
            (Plan::Paused { reason }, _) => report.paused = Some(reason),
            (Plan::Wait { until }, _) => report.waiting_until = Some(until),
            (Plan::Run(steps), Some(enrollment)) => {
                let client = ApiClient::new(
                    self.inner.http.clone(),
                    &enrollment.server_url,
                    Some(enrollment.device_secret.clone()),
                );
                self.execute(&client, &steps, opts, &mut report).await?;
            }
        }
        report.remaining = self.db(|s| s.queue_counts()).await?;
        self.changed();
        Ok(report)
    }

    async fn execute(
        &self,
        client: &ApiClient,
        steps: &[Step],
        opts: &SyncOptions,
        report: &mut SyncReport,
    ) -> Result<(), AgentError> {
        'steps: for step in steps {
            let mut inline_waits = 0;
            loop {
                match self.exec_step(client, *step, report).await {
                    Ok(()) => break,
                    Err(SyncError::Unauthorized { status, message }) => {
                        tracing::warn!(status, %message, "the server refused this device; pausing the queue");
                        self.db(|s| s.set_paused(Some(PAUSED_REASON))).await?;
                        report.paused = Some(PAUSED_REASON.to_owned());
                        break 'steps;
                    }
                    Err(SyncError::Store(e)) => return Err(e.into()),
                    Err(e) => {
                        if let Some(ra) = e.retry_after()
                            && ra <= opts.max_inline_retry_after
                            && inline_waits < 3
                        {
                            inline_waits += 1;
                            tracing::info!(?ra, "server asked to retry shortly; waiting");
                            tokio::time::sleep(ra).await;
                            continue;
                        }
                        tracing::warn!(error = %e, "sync pass stopped; will retry later");
                        report.failure = Some(e);
                        break 'steps;
                    }
                }
            }
        }
        let at = now();
        match &report.failure {
            Some(e) => {
                let retry_after = e.retry_after();
                let cap = Duration::from_secs(self.inner.config.backoff_cap_secs);
                let next = {
                    let current = self.db(|s| s.backoff()).await?;
                    let mut rng = self
                        .inner
                        .rng
                        .lock()
                        .map_err(|_| AgentError::Task("rng lock poisoned".into()))?;
                    plan::after_failure(current, at, cap, retry_after, &mut *rng)
                };
                let msg = e.to_string();
                let transport = matches!(e, SyncError::Transport { .. });
                self.db(move |s| {
                    s.set_backoff(next)?;
                    if transport {
                        s.record_failure(at, &msg)?;
                    }
                    Ok(())
                })
                .await?;
            }
            None => {
                self.db(|s| s.set_backoff(BackoffState::default())).await?;
            }
        }
        Ok(())
    }

    /// Records a successful answer's latency and the clock skew from its Date header.
    async fn contacted<T>(&self, answer: &Answer<T>) -> Result<(), SyncError> {
        let at = now();
        let latency = answer.latency;
        let skew = answer.date.map(|d| (at - d).whole_seconds());
        self.db(move |s| s.record_contact(at, latency, skew))
            .await
            .map_err(into_sync)
    }

    async fn exec_step(
        &self,
        client: &ApiClient,
        step: Step,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        match step {
            Step::SendTicket(id) => {
                let payload = self
                    .db(move |s| s.ticket_payload(id))
                    .await
                    .map_err(into_sync)?;
                match client.post_ticket(&payload).await {
                    Ok(answer) => {
                        self.contacted(&answer).await?;
                        let receipt = answer.value;
                        let number = receipt.number;
                        self.db(move |s| s.mark_ticket_sent(&receipt, now()))
                            .await
                            .map_err(into_sync)?;
                        tracing::info!(client_id = %id, number, "ticket sent");
                        report.sent_tickets.push((id, number));
                        Ok(())
                    }
                    Err(SyncError::Rejected { message, .. }) => {
                        let reason = message.clone();
                        self.db(move |s| s.mark_ticket_rejected(id, &reason, now()))
                            .await
                            .map_err(into_sync)?;
                        tracing::warn!(client_id = %id, %message, "ticket refused by the server; kept on this computer");
                        report.rejected.push(Rejection {
                            kind: "ticket",
                            client_id: id,
                            reason: message,
                        });
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Step::SendScreenshot(ticket) => {
                let ready = self
                    .db(move |s| s.ticket_is_sent(ticket))
                    .await
                    .map_err(into_sync)?;
                if !ready {
                    return Ok(());
                }
                let (bytes, content_type) = self
                    .db(move |s| s.screenshot(ticket))
                    .await
                    .map_err(into_sync)?;
                match client.put_screenshot(ticket, bytes, &content_type).await {
                    Ok(answer) => {
                        self.contacted(&answer).await?;
                        self.db(move |s| s.mark_screenshot(ticket, ItemState::Sent, None))
                            .await
                            .map_err(into_sync)?;
                        report.sent_screenshots += 1;
                        Ok(())
                    }
                    Err(SyncError::Rejected {
                        status, message, ..
                    }) => {
                        let (state, reason) = if status == 413 {
                            report.dropped_screenshots.push(ticket);
                            (
                                ItemState::Dropped,
                                "the screenshot was too large; the ticket was sent without it"
                                    .to_owned(),
                            )
                        } else {
                            (ItemState::Rejected, message)
                        };
                        let r = reason.clone();
                        self.db(move |s| s.mark_screenshot(ticket, state, Some(&r)))
                            .await
                            .map_err(into_sync)?;
                        tracing::warn!(%ticket, %reason, "screenshot not accepted");
                        report.rejected.push(Rejection {
                            kind: "screenshot",
                            client_id: ticket,
                            reason,
                        });
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Step::SendMessage(id) => {
                let (ticket, message) = self
                    .db(move |s| s.message_payload(id))
                    .await
                    .map_err(into_sync)?;
                let ready = self
                    .db(move |s| s.ticket_is_sent(ticket))
                    .await
                    .map_err(into_sync)?;
                if !ready {
                    return Ok(());
                }
                match client.post_message(ticket, &message).await {
                    Ok(answer) => {
                        self.contacted(&answer).await?;
                        let receipt = answer.value;
                        self.db(move |s| s.mark_message_sent(&receipt))
                            .await
                            .map_err(into_sync)?;
                        report.sent_messages += 1;
                        Ok(())
                    }
                    Err(SyncError::Rejected { message, .. }) => {
                        let reason = message.clone();
                        self.db(move |s| s.mark_message_rejected(id, &reason))
                            .await
                            .map_err(into_sync)?;
                        report.rejected.push(Rejection {
                            kind: "message",
                            client_id: id,
                            reason: message,
                        });
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Step::SendEvent(id) => {
                let (path, body) = self
                    .db(move |s| s.event_payload(id))
                    .await
                    .map_err(into_sync)?;
                match client.post_event(&path, &body).await {
                    Ok(answer) => {
                        self.contacted(&answer).await?;
                        self.db(move |s| s.mark_event(id, ItemState::Sent, None))
                            .await
                            .map_err(into_sync)?;
                        Ok(())
                    }
                    Err(SyncError::Rejected { message, .. }) => {
                        let reason = message.clone();
                        self.db(move |s| s.mark_event(id, ItemState::Rejected, Some(&reason)))
                            .await
                            .map_err(into_sync)?;
                        report.rejected.push(Rejection {
                            kind: "event",
                            client_id: id,
                            reason: message,
                        });
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
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
                let since = self.db(|s| s.kb_version()).await.map_err(into_sync)?;
                match client.kb(since).await {
                    Ok(answer) => {
                        self.contacted(&answer).await?;
                        let changes = answer.value;
                        self.db(move |s| s.apply_kb(&changes, now()))
                            .await
                            .map_err(into_sync)
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
                    self.db(move |s| {
                        s.record_contact(at, latency, Some(skew))?;
                        s.replace_announcements(&list, at)
                    })
                    .await
                    .map_err(into_sync)
                }
                Err(SyncError::Rejected { message, .. }) => {
                    tracing::warn!(%message, "announcements refresh refused");
                    Ok(())
                }
                Err(e) => Err(e),
            },
        }
    }

    /// One page of the updates feed (long-polling up to `wait_secs`); returns
    /// (updates that changed something, more pages ready).
    pub(super) async fn poll_updates(
        &self,
        client: &ApiClient,
        wait_secs: u64,
    ) -> Result<(usize, bool), SyncError> {
        let cursor = self.db(|s| s.cursor()).await.map_err(into_sync)?;
        match client.updates(cursor, wait_secs).await {
            Ok(answer) => {
                if wait_secs == 0 {
                    self.contacted(&answer).await?;
                }
                let page = answer.value;
                let more = page.more && !page.updates.is_empty();
                let applied = self
                    .db(move |s| s.apply_updates(&page, now()))
                    .await
                    .map_err(into_sync)?;
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
