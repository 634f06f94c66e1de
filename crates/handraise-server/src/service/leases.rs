//! Background jobs run once across server nodes, not once per node: each
//! job runs on the node that holds its lease in the store
//! ([`LeaseStore`](crate::store::LeaseStore)).
//!
//! - A **worker** (forwarding, webhooks, scheduled backups) runs on the node
//!   holding its lease. Every node tries to take it every [`RENEW_EVERY`];
//!   the holder renews it as often, for [`TTL`]. A node that dies keeps it
//!   until the TTL ends, then another node takes it and starts the worker. A
//!   holder that cannot reach the database for nearly a TTL stops its worker
//!   (another node may take over) and starts it again when it holds the
//!   lease again. A worker stopped mid-pass is what a killed node is: the
//!   forwarding outbox is built for that.
//! - A **daily job** (retention) runs once per period across nodes: the node
//!   that finds the period's lease free takes it for the whole period under
//!   a holder made for that turn, and runs the job.
//!
//! Every node has a random holder id ([`Leases::new`]). On SQLite one
//! process serves the database, so `serve` clears every lease at its start:
//! what a killed process held is free at once, and nothing waits for a TTL.

use crate::store::{Store, now_utc};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::watch;

/// How long a worker's lease lasts unless renewed.
pub const TTL: Duration = Duration::from_secs(30);
/// How often every node tries to take (or renew) a worker's lease.
pub const RENEW_EVERY: Duration = Duration::from_secs(10);
/// How often a node looks whether a daily job's turn is free.
const TURN_CHECK_EVERY: Duration = Duration::from_secs(600);

/// This node's leases.
#[derive(Clone)]
pub struct Leases {
    store: Arc<dyn Store>,
    holder: Arc<str>,
    /// The workers' leases taken, given up at shutdown.
    names: Arc<Mutex<Vec<&'static str>>>,
}

impl std::fmt::Debug for Leases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leases")
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

/// Whether a holder that last held its lease at `held_at` holds it at `now`,
/// after `tried` (the store's answer to taking or renewing it at `now`): an
/// answer is believed; without one (the database unreachable) the lease is
/// deemed lost a renewal before it expires, so the worker stops before
/// another node may start it.
pub fn still_held(
    tried: Result<bool, &crate::store::StoreError>,
    held_at: &mut Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> bool {
    match tried {
        Ok(true) => {
            *held_at = Some(now);
            true
        }
        Ok(false) => {
            *held_at = None;
            false
        }
        Err(_) => {
            let margin = time::Duration::try_from(TTL.saturating_sub(RENEW_EVERY))
                .unwrap_or(time::Duration::ZERO);
            let held = held_at.is_some_and(|at| now - at < margin);
            if !held {
                *held_at = None;
            }
            held
        }
    }
}

impl Leases {
    /// This node's leases, under a new random holder id.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            holder: uuid::Uuid::new_v4().to_string().into(),
            names: Arc::default(),
        }
    }

    /// This node's holder id.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Keeps trying to hold lease `name`; the receiver says whether this node
    /// holds it now.
    fn keep(&self, name: &'static str) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        let (store, holder) = (Arc::clone(&self.store), Arc::clone(&self.holder));
        self.names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(name);
        tokio::spawn(async move {
            let mut held_at = None;
            // Ends once its worker is gone, without taking the lease again.
            while !tx.is_closed() {
                let (store2, holder2) = (Arc::clone(&store), Arc::clone(&holder));
                let now = now_utc();
                let tried =
                    tokio::task::spawn_blocking(move || store2.try_lease(name, &holder2, now, TTL))
                        .await;
                let held = match tried {
                    Ok(tried) => {
                        if let Err(e) = &tried {
                            tracing::warn!(lease = name, error = %e, "cannot renew a lease");
                        }
                        still_held(tried.as_ref().copied(), &mut held_at, now)
                    }
                    Err(_) => false,
                };
                if *tx.borrow() != held {
                    tracing::info!(lease = name, held, "lease changed hands");
                }
                tx.send_replace(held);
                tokio::time::sleep(RENEW_EVERY).await;
            }
        });
        rx
    }

    /// Runs the worker `job` (which runs until the process ends) while this
    /// node holds lease `name`: started when the lease is taken, stopped
    /// when it is lost, started again when taken again.
    pub fn spawn_worker<F, Fut>(&self, name: &'static str, job: F) -> tokio::task::JoinHandle<()>
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut held = self.keep(name);
        tokio::spawn(async move {
            loop {
                if held.wait_for(|h| *h).await.is_err() {
                    return;
                }
                tokio::select! {
                    () = job() => return,
                    lost = held.wait_for(|h| !*h) => {
                        if lost.is_err() {
                            return;
                        }
                        tracing::warn!(lease = name, "lease lost: the job stops on this node");
                    }
                }
            }
        })
    }

    /// Runs `job` once every `every` across every node: whichever node finds
    /// the turn of lease `name` free takes it for `every` and runs `job`.
    pub fn spawn_periodic<F, Fut>(
        &self,
        name: &'static str,
        every: Duration,
        job: F,
    ) -> tokio::task::JoinHandle<()>
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (store, holder) = (Arc::clone(&self.store), Arc::clone(&self.holder));
        tokio::spawn(async move {
            loop {
                let store = Arc::clone(&store);
                let turn = format!("{holder}:{}", uuid::Uuid::new_v4());
                let taken = tokio::task::spawn_blocking(move || {
                    store.try_lease(name, &turn, now_utc(), every)
                })
                .await;
                match taken {
                    Ok(Ok(true)) => job().await,
                    Ok(Ok(false)) => {}
                    Ok(Err(e)) => tracing::warn!(lease = name, error = %e, "cannot take a turn"),
                    Err(e) => tracing::warn!(lease = name, error = %e, "cannot take a turn"),
                }
                tokio::time::sleep(TURN_CHECK_EVERY.min(every)).await;
            }
        })
    }

    /// Gives up every worker lease this node holds (at shutdown), so another
    /// node takes over at once rather than after the TTL.
    pub async fn release_all(&self) {
        let names = self.names.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let (store, holder) = (Arc::clone(&self.store), Arc::clone(&self.holder));
        let released = tokio::task::spawn_blocking(move || {
            names
                .iter()
                .try_for_each(|name| store.release_lease(name, &holder))
        })
        .await;
        if let Ok(Err(e)) = released {
            tracing::warn!(error = %e, "cannot give up this node's leases");
        }
    }
}

#[cfg(test)]
mod tests;
