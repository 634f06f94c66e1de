//! Waking a device's long-polls when its updates feed gains an entry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use uuid::Uuid;

/// Wakes the long-polls of one device when its feed gains an entry; other
/// devices are not disturbed. A process that serves no long-polls (the
/// command line) can use a fresh one: nobody is waiting on it.
#[derive(Debug, Default)]
pub struct FeedNotifier {
    waiters: Mutex<HashMap<Uuid, Arc<Notify>>>,
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

    pub fn notify(&self, device: Uuid) {
        let map = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get(&device) {
            n.notify_waiters();
        }
    }
}
