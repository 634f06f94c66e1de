//! Waking a device's long-polls when its updates feed gains an entry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{Notify, mpsc};
use uuid::Uuid;

/// Wakes the long-polls of one device when its feed gains an entry; other
/// devices are not disturbed. A process that serves no long-polls (the
/// command line) can use a fresh one: nobody is waiting on it.
///
/// The long-polls are this server node's. With several nodes, the cluster
/// notifier ([`super::cluster`]) takes the ids [`FeedNotifier::notify`] is
/// given to the other nodes, and wakes this node's long-polls with
/// [`FeedNotifier::wake`] for the ids they send.
#[derive(Debug, Default)]
pub struct FeedNotifier {
    waiters: Mutex<HashMap<Uuid, Arc<Notify>>>,
    /// Where the ids of changed feeds go to reach the other nodes.
    others: OnceLock<mpsc::UnboundedSender<Uuid>>,
}

impl FeedNotifier {
    pub fn subscribe(&self, device: Uuid) -> Arc<Notify> {
        let mut map = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(map.entry(device).or_default())
    }

    /// Drops a subscription; forgets the device when nobody else waits.
    pub fn unsubscribe(&self, device: Uuid, notify: Arc<Notify>) {
        let mut map = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        drop(notify);
        if map.get(&device).is_some_and(|n| Arc::strong_count(n) == 1) {
            map.remove(&device);
        }
    }

    /// `device`'s feed changed: wakes its long-polls here and on the other
    /// nodes.
    pub fn notify(&self, device: Uuid) {
        self.wake(device);
        if let Some(others) = self.others.get() {
            // The cluster notifier ended only with the process.
            let _ = others.send(device);
        }
    }

    /// Wakes `device`'s long-polls on this node only.
    pub fn wake(&self, device: Uuid) {
        let map = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get(&device) {
            n.notify_waiters();
        }
    }

    /// Wakes every long-poll on this node: each reads its feed again (after
    /// the cluster notifier was away, when other nodes' news may be lost).
    pub fn wake_all(&self) {
        let map = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        map.values().for_each(|n| n.notify_waiters());
    }

    /// Sends the ids [`FeedNotifier::notify`] is given to `others` from now
    /// on (the cluster notifier); `false` when it already had somewhere.
    pub fn also_send_to(&self, others: mpsc::UnboundedSender<Uuid>) -> bool {
        self.others.set(others).is_ok()
    }
}

/// One long-poll per device on this server: a device's new long-poll ends
/// the one it already had, which then answers at once with what there is.
/// (A device whose connection died without the server noticing cannot so
/// pile up waiting requests.)
#[derive(Debug, Default)]
pub struct LongPolls {
    current: Mutex<HashMap<Uuid, (u64, Arc<Notify>)>>,
    next_id: std::sync::atomic::AtomicU64,
}

/// A device's long-poll, registered until dropped.
#[derive(Debug)]
pub struct LongPoll<'a> {
    of: &'a LongPolls,
    device: Uuid,
    id: u64,
    replaced: Arc<Notify>,
}

impl LongPolls {
    /// Registers a long-poll of `device`, ending the one it had.
    pub fn begin(&self, device: Uuid) -> LongPoll<'_> {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let replaced = Arc::new(Notify::new());
        let mut map = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, before)) = map.insert(device, (id, Arc::clone(&replaced))) {
            // A stored permit: the one before ends even if it is not waiting yet.
            before.notify_one();
        }
        LongPoll {
            of: self,
            device,
            id,
            replaced,
        }
    }

    /// Devices with a long-poll now.
    pub fn len(&self) -> usize {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl LongPoll<'_> {
    /// Completes once a newer long-poll of the same device replaced this one.
    pub async fn replaced(&self) {
        self.replaced.notified().await;
    }
}

impl Drop for LongPoll<'_> {
    fn drop(&mut self) {
        let mut map = self.of.current.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(&self.device).is_some_and(|(id, _)| *id == self.id) {
            map.remove(&self.device);
        }
    }
}
