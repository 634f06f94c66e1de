//! One sync pass: plan from the store, send what is queued, record the outcome.

use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Agent, PAUSED_REASON, now};
use crate::enrollment::Enrollment;
use crate::error::{AgentError, SyncError};
use crate::lock::SyncLock;
use crate::store::QueueCounts;
use crate::sync::client::ApiClient;
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
    /// `ticket`, `screenshot`, `message` or `event`.
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

    /// A client of the enrolled server, signed in as this device.
    pub(super) fn client(&self, enrollment: &Enrollment) -> ApiClient {
        ApiClient::new(
            self.inner.http.clone(),
            &enrollment.server_url,
            Some(enrollment.device_secret.clone()),
        )
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
        // A second round only when the first found the server restored from a
        // backup: what it had sent was queued again and goes in this pass.
        for _round in 0..2 {
            let state = self.db(move |s| s.sync_state(enrolled)).await?;
            let started = now();
            match (plan::plan(&state, started, &opts.plan), &enrollment) {
                (Plan::NotEnrolled, _) | (_, None) => report.not_enrolled = true,
                (Plan::Paused { reason }, _) => report.paused = Some(reason),
                (Plan::Wait { until }, _) => report.waiting_until = Some(until),
                (Plan::Run(steps), Some(enrollment)) => {
                    let client = self.client(enrollment);
                    self.execute(&client, &steps, opts, &mut report).await?;
                }
            }
            let restored = self
                .inner
                .server_restored
                .swap(false, std::sync::atomic::Ordering::SeqCst);
            if !restored || report.failure.is_some() {
                break;
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
                    Err(SyncError::Unauthorized {
                        status, message, ..
                    }) => {
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
}
