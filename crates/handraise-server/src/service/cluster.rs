//! The cluster notifier: with several server nodes on one PostgreSQL
//! database, a change a node writes to a device's updates feed wakes that
//! device's long-poll on whichever node holds it.
//!
//! Each node keeps one connection of its own (the async `tokio-postgres`
//! client) on which it `LISTEN`s on [`CHANNEL`] and sends, for every id its
//! [`FeedNotifier`] is told about, `NOTIFY handraise_feed, '<device id>'`:
//! ids only, never content (a woken long-poll reads its feed from the
//! database). A notification from any node (this one's own included) wakes
//! this node's long-polls of that device.
//!
//! PostgreSQL keeps no notification for a listener that is away, so when the
//! connection drops the notifier connects again with a growing backoff, and
//! once it listens again wakes every long-poll of this node once: each reads
//! its feed again and answers what it missed. Ids this node could not send
//! meanwhile are sent after the reconnect. With SQLite (one node) there is no
//! cluster notifier: the [`FeedNotifier`] alone wakes the long-polls.

use super::FeedNotifier;
use crate::store::{PgUrlError, describe_connect_error, pg_connection};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;
use uuid::Uuid;

/// The channel every node listens on and notifies.
pub const CHANNEL: &str = "handraise_feed";
/// The first wait before connecting again, doubling up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Why the cluster notifier could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("the database URL cannot be used: {0}")]
    Url(#[from] PgUrlError),
    #[error("this node's feed notifier already has a cluster notifier")]
    AlreadyStarted,
}

/// The running cluster notifier of a node; it stops when dropped.
#[derive(Debug)]
pub struct ClusterNotifier {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ClusterNotifier {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the cluster notifier of the node whose long-polls `feed` wakes,
/// on the PostgreSQL database at `url` (with TLS as the URL asks, as the
/// store does: `store::pg_connection`). It connects in the background (and
/// keeps connecting until it can): a database that is down at the start
/// delays the news of other nodes, never the start.
pub fn start(url: &str, feed: Arc<FeedNotifier>) -> Result<ClusterNotifier, ClusterError> {
    let (mut config, tls) = pg_connection(url)?;
    if config.get_application_name().is_none() {
        config.application_name("handraise-server cluster notifier");
    }
    config.connect_timeout(Duration::from_secs(10));
    let (outbox, ids) = mpsc::unbounded_channel();
    if !feed.also_send_to(outbox) {
        return Err(ClusterError::AlreadyStarted);
    }
    let task = tokio::spawn(run(config, tls, feed, ids));
    Ok(ClusterNotifier { task })
}

/// Connects, listens and notifies until the process ends, connecting again
/// with backoff whenever the connection is lost.
async fn run(
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    feed: Arc<FeedNotifier>,
    mut ids: mpsc::UnboundedReceiver<Uuid>,
) {
    let mut unsent = BTreeSet::new();
    let mut backoff = FIRST_BACKOFF;
    loop {
        let mut listened = false;
        match session(&config, &tls, &feed, &mut ids, &mut unsent, &mut listened).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cluster notifier: connection lost; connecting again")
            }
        }
        if listened {
            backoff = FIRST_BACKOFF;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection: `LISTEN`, wake every long-poll here (the catch-up read),
/// send what is unsent, then relay both ways until the connection is lost
/// (`Err`, saying why) or this node's feed notifier is gone (`Ok`).
async fn session(
    config: &tokio_postgres::Config,
    tls: &MakeRustlsConnect,
    feed: &FeedNotifier,
    ids: &mut mpsc::UnboundedReceiver<Uuid>,
    unsent: &mut BTreeSet<Uuid>,
    listened: &mut bool,
) -> Result<(), String> {
    let failed = |e: tokio_postgres::Error| e.to_string();
    let (client, mut connection) = config
        .connect(tls.clone())
        .await
        .map_err(|e| describe_connect_error(&e))?;
    let (heard, mut notes) = mpsc::unbounded_channel::<String>();
    // Drives the connection and hands its notifications over; when it ends,
    // `notes` ends, and the session with it.
    let driver = tokio::spawn(async move {
        while let Some(message) =
            futures_util::future::poll_fn(|cx| connection.poll_message(cx)).await
        {
            match message {
                Ok(AsyncMessage::Notification(n)) if n.channel() == CHANNEL => {
                    let _ = heard.send(n.payload().to_owned());
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "cluster notifier: the connection failed");
                    break;
                }
            }
        }
    });
    let _stop_driver = AbortOnDrop(driver);
    client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map_err(failed)?;
    *listened = true;
    tracing::info!("cluster notifier: listening");
    // Whatever other nodes sent while this one was not listening is lost.
    feed.wake_all();
    let notify = client
        .prepare("SELECT pg_notify($1, $2)")
        .await
        .map_err(failed)?;
    loop {
        while let Some(&device) = unsent.first() {
            client
                .execute(&notify, &[&CHANNEL, &device.to_string()])
                .await
                .map_err(failed)?;
            unsent.remove(&device);
        }
        tokio::select! {
            note = notes.recv() => match note {
                Some(payload) => match payload.parse::<Uuid>() {
                    Ok(device) => feed.wake(device),
                    Err(_) => tracing::warn!(%payload, "cluster notifier: not a device id"),
                },
                None => return Err("the server closed the connection".into()),
            },
            id = ids.recv() => match id {
                Some(device) => {
                    unsent.insert(device);
                    // Everything queued meanwhile goes in the same round.
                    while let Ok(more) = ids.try_recv() {
                        unsent.insert(more);
                    }
                }
                None => return Ok(()),
            },
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
