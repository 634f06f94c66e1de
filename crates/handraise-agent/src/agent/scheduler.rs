//! The scheduler: sync passes on a timer or when woken, long-polling while idle.

use std::future::Future;
use std::time::Duration;
use time::OffsetDateTime;

use super::{Agent, LONG_POLL_SECS, PAUSED_REASON, SyncOptions, now};
use crate::error::{AgentError, SyncError};

impl Agent {
    /// Runs the scheduler until `shutdown` completes: a pass every
    /// `sync_interval_secs` (or when the backoff allows), a pass at once when
    /// woken, long-polling the updates feed while idle, and a background
    /// refresh of the device snapshot.
    pub async fn run_sync_loop<F>(&self, shutdown: F) -> Result<(), AgentError>
    where
        F: Future<Output = ()>,
    {
        tokio::pin!(shutdown);
        let interval = Duration::from_secs(self.inner.config.sync_interval_secs.max(1));
        let mut woken = false;
        loop {
            let mut delay = interval;
            let mut client = None;
            match self.sync_with(SyncOptions::background(woken)).await {
                Ok(report) => {
                    let t = now();
                    if let Some(until) = report.waiting_until {
                        delay =
                            duration_until(t, until).min(interval.max(Duration::from_secs(1)) * 10);
                    } else if report.failure.is_some() {
                        let b = self.db(|s| s.backoff()).await?;
                        if let Some(until) = b.next_attempt_at {
                            delay = duration_until(t, until);
                        }
                    }
                    let idle = report.failure.is_none()
                        && report.paused.is_none()
                        && !report.not_enrolled
                        && report.waiting_until.is_none()
                        && report.remaining.total() == 0;
                    if idle && let Ok(Some(e)) = self.enrollment() {
                        client = Some(self.client(&e));
                    }
                }
                Err(AgentError::Sync(SyncError::LockBusy)) => {
                    tracing::debug!("another process is syncing this data directory");
                }
                Err(e) => tracing::warn!(error = %e, "sync pass failed"),
            }
            woken = false;
            self.refresh_snapshot_if_stale();

            let sleep = tokio::time::sleep(delay.max(Duration::from_millis(100)));
            tokio::pin!(sleep);
            loop {
                let long_poll = async {
                    match &client {
                        Some(c) => {
                            let started = std::time::Instant::now();
                            let r = self.poll_updates(c, LONG_POLL_SECS).await;
                            (r, started.elapsed())
                        }
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = &mut shutdown => return Ok(()),
                    _ = self.inner.wake.notified() => { woken = true; break; }
                    _ = &mut sleep => break,
                    (r, took) = long_poll => match r {
                        Ok((_, _)) if took >= Duration::from_secs(1) => {}
                        Ok(_) => client = None, // answered at once: do not spin
                        Err(SyncError::Unauthorized { .. }) => {
                            self.db(|s| s.set_paused(Some(PAUSED_REASON))).await?;
                            client = None;
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "long-poll ended");
                            client = None;
                        }
                    },
                }
            }
        }
    }
}

fn duration_until(now: OffsetDateTime, until: OffsetDateTime) -> Duration {
    Duration::try_from(until - now).unwrap_or(Duration::ZERO)
}
