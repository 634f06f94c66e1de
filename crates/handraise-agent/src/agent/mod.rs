//! The [`Agent`] handle: the API the CLI and the tray app call.
//!
//! One file a seam: [`enroll`] (credentials with the server), [`report`] (reports and
//! messages into the outbox), [`status`] (what the teacher and the tray are shown),
//! [`selfhelp`] (knowledge base, announcements, "me too"), [`snapshot`] (device facts),
//! [`sync`] (one sync pass), [`steps`] (its steps) and [`scheduler`] (the background loop).

mod enroll;
mod report;
mod scheduler;
mod selfhelp;
mod snapshot;
mod status;
mod steps;
mod sync;

use rand::SeedableRng;
use rand::rngs::StdRng;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::config::Config;
use crate::error::{AgentError, StoreError};
use crate::store::Store;
use crate::sync::client::http_client;

pub use report::{ReportInput, Screenshot, validate_message, validate_report};
pub use status::AgentStatus;
pub use sync::{Rejection, SyncOptions, SyncReport};

/// A snapshot older than this is refreshed in the background by the sync loop.
pub const SNAPSHOT_MAX_AGE: Duration = Duration::from_secs(10 * 60);
/// How long the scheduler long-polls the updates feed when idle.
pub const LONG_POLL_SECS: u64 = 25;
/// Reason shown while the queue is paused because the server refused the device.
pub const PAUSED_REASON: &str = "this computer needs to be reconnected to the help desk";

/// Wakes the scheduler ("sync now", "a ticket was submitted", "network is back").
#[derive(Debug, Clone)]
pub struct Waker(Arc<Notify>);

impl Waker {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

struct Inner {
    config: Config,
    store: Arc<Mutex<Store>>,
    http: reqwest::Client,
    wake: Arc<Notify>,
    rng: Mutex<StdRng>,
    refreshing: Arc<AtomicBool>,
    /// Set when the updates feed showed the server was restored from a
    /// backup: the pass that saw it sends the queue again before it ends.
    server_restored: AtomicBool,
    recovered_db: Option<PathBuf>,
    /// Bumped whenever local tickets or sync state may have changed.
    changes: tokio::sync::watch::Sender<u64>,
}

/// A handle to the agent core of one data directory. Cheap to clone; usable
/// from async code (database work runs on blocking threads).
#[derive(Clone)]
pub struct Agent {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

impl Agent {
    /// Opens the data directory (creating it and the database as needed). A
    /// damaged database is moved aside and a fresh one created; see
    /// [`Agent::recovered_database`].
    pub fn open(config: Config) -> Result<Agent, AgentError> {
        let dir = config.data_dir.clone();
        crate::private::create_dir(&dir).map_err(|source| AgentError::Io {
            path: dir.clone(),
            source,
        })?;
        let (store, recovered) = Store::open(&dir.join("agent.db"), now())?;
        let http = http_client(&config.policy)?;
        Ok(Agent {
            inner: Arc::new(Inner {
                config,
                store: Arc::new(Mutex::new(store)),
                http,
                wake: Arc::new(Notify::new()),
                rng: Mutex::new(StdRng::from_os_rng()),
                refreshing: Arc::new(AtomicBool::new(false)),
                server_restored: AtomicBool::new(false),
                recovered_db: recovered,
                changes: tokio::sync::watch::Sender::new(0),
            }),
        })
    }

    /// The HTTP client every request of this agent goes through.
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.config.data_dir
    }

    /// Where a damaged database was moved when this handle opened, if it was.
    pub fn recovered_database(&self) -> Option<&Path> {
        self.inner.recovered_db.as_deref()
    }

    /// Runs `f` on the store on a blocking thread.
    pub(crate) async fn db<T, F>(&self, f: F) -> Result<T, AgentError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.inner.store);
        tokio::task::spawn_blocking(move || {
            let guard = store
                .lock()
                .map_err(|_| AgentError::Task("database lock poisoned".into()))?;
            f(&guard).map_err(AgentError::from)
        })
        .await
        .map_err(|e| AgentError::Task(e.to_string()))?
    }

    /// A receiver that sees a new value whenever tickets or the sync state may have changed
    /// (a report, a message, a sync pass, applied updates). No polling needed.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    /// Until `stop` completes, checks every `every` whether another process (the CLI, or
    /// the tray while a window process is open) changed the data directory, and announces
    /// it through [`Agent::subscribe`]. Meant for while a window is open: it wakes up.
    pub async fn watch_other_processes<F: Future<Output = ()>>(&self, every: Duration, stop: F) {
        tokio::pin!(stop);
        let mut last = self.db(|s| s.data_version()).await.ok();
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(every) => {}
            }
            let now = self.db(|s| s.data_version()).await.ok();
            if now != last {
                last = now;
                self.changed();
            }
        }
    }

    pub(crate) fn changed(&self) {
        self.inner.changes.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// A handle that wakes the scheduler.
    pub fn waker(&self) -> Waker {
        Waker(Arc::clone(&self.inner.wake))
    }

    /// Wakes the scheduler now.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }
}

#[cfg(test)]
mod tests;
