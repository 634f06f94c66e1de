//! Device facts: the snapshot a report attaches, cached and refreshed in the background.

use handraise_wire::{DeviceSnapshot, Reachability};
use std::sync::atomic::Ordering;

use super::{Agent, SNAPSHOT_MAX_AGE, now};
use crate::error::{AgentError, StoreError};
use crate::facts::{self, ContactFacts, Depth};
use crate::store::{CachedSnapshot, ContactInfo};

impl Agent {
    fn contact_facts(contact: &ContactInfo) -> ContactFacts {
        ContactFacts {
            reachability: contact.reachable().map(|ok| Reachability {
                reachable: ok,
                latency_ms: if ok { contact.last_latency_ms } else { None },
                error: if ok { None } else { contact.last_error.clone() },
            }),
            clock_skew_secs: contact.clock_skew_secs,
        }
    }

    /// A full, fresh snapshot (samples CPU; about a second). Cached for reports.
    pub async fn facts(&self) -> Result<DeviceSnapshot, AgentError> {
        let contact = self.db(|s| s.contact()).await?;
        self.collect(Depth::Full, &contact).await
    }

    /// The snapshot a report would attach now: the cached one (with current
    /// reachability and skew), or a quick one when none is cached.
    pub async fn current_facts(&self) -> Result<DeviceSnapshot, AgentError> {
        let contact = self.db(|s| s.contact()).await?;
        self.cached_or_quick_snapshot(&contact).await
    }

    /// Collects a snapshot of `depth` now and caches it.
    async fn collect(
        &self,
        depth: Depth,
        contact: &ContactInfo,
    ) -> Result<DeviceSnapshot, AgentError> {
        let cf = Self::contact_facts(contact);
        let at = now();
        let snap = tokio::task::spawn_blocking(move || facts::collect(depth, &cf, at))
            .await
            .map_err(|e| AgentError::Task(e.to_string()))?;
        let cached = snap.clone();
        let full = depth == Depth::Full;
        self.db(move |s| s.store_snapshot(&cached, at, full))
            .await?;
        Ok(snap)
    }

    /// The cached snapshot. One the store cannot read is logged and counts as none, so
    /// that a fresh one replaces it (a report is never held up by a damaged cache).
    async fn cached(&self) -> Result<Option<CachedSnapshot>, AgentError> {
        match self.db(|s| s.cached_snapshot()).await {
            Err(AgentError::Store(e @ StoreError::Corrupt { .. })) => {
                tracing::warn!(error = %e, "the cached device snapshot is unreadable; collecting a fresh one");
                Ok(None)
            }
            other => other,
        }
    }

    pub(super) async fn cached_or_quick_snapshot(
        &self,
        contact: &ContactInfo,
    ) -> Result<DeviceSnapshot, AgentError> {
        match self.cached().await? {
            Some(mut c) => {
                let cf = Self::contact_facts(contact);
                c.snapshot.server_reachability = cf.reachability;
                c.snapshot.clock_skew_secs = cf.clock_skew_secs;
                Ok(c.snapshot)
            }
            None => self.collect(Depth::Quick, contact).await,
        }
    }

    /// Starts a background full snapshot when the cached one is missing, quick or old.
    pub(super) fn refresh_snapshot_if_stale(&self) {
        if self.inner.refreshing.swap(true, Ordering::SeqCst) {
            return;
        }
        let agent = self.clone();
        tokio::spawn(async move {
            let stale = match agent.cached().await {
                Ok(Some(c)) => !c.full || now() - c.collected_at > SNAPSHOT_MAX_AGE,
                Ok(None) => true,
                Err(_) => false,
            };
            if stale && let Err(e) = agent.facts().await {
                tracing::warn!(error = %e, "device snapshot refresh failed");
            }
            agent.inner.refreshing.store(false, Ordering::SeqCst);
        });
    }
}
