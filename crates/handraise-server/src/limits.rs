//! Rate limits: keyed token buckets (per device, per enrolling IP) and the
//! global in-flight counter. Time is passed in so the arithmetic is testable.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Token buckets keyed by `K`: each key may spend `burst` requests at once
/// and regains `per_second` tokens per second.
#[derive(Debug)]
pub struct KeyedBuckets<K> {
    burst: f64,
    per_second: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets idle this long are full again and can be forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(600);
/// Sweep forgotten buckets once the map grows past this many keys.
const SWEEP_ABOVE: usize = 10_000;

impl<K: Eq + Hash + Clone> KeyedBuckets<K> {
    pub fn new(burst: u32, per_second: f64) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            per_second: if per_second.is_finite() && per_second > 0.0 {
                per_second
            } else {
                f64::MIN_POSITIVE
            },
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key` at `now`. `Err(wait)` says how long until a
    /// token is available.
    pub fn check(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, b| now.saturating_duration_since(b.at) < FORGET_AFTER);
        }
        let b = map.entry(key.clone()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_second).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - b.tokens) / self.per_second;
            Err(Duration::from_secs_f64(wait.min(86_400.0)))
        }
    }
}

/// Whole seconds for a `Retry-After` header: rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// Failures per key within a sliding window (failed sign-ins per email and
/// per IP): once a key has `max` failures in `window`, it is blocked until the
/// oldest of them leaves the window. Only failures count.
#[derive(Debug)]
pub struct FailureWindow<K> {
    max: usize,
    window: Duration,
    failures: Mutex<HashMap<K, std::collections::VecDeque<Instant>>>,
}

impl<K: Eq + Hash + Clone> FailureWindow<K> {
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max: (max as usize).max(1),
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(wait)` when `key` is blocked at `now`.
    pub fn blocked(&self, key: &K, now: Instant) -> Option<Duration> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let times = map.get_mut(key)?;
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
        if times.len() < self.max {
            return None;
        }
        let oldest = *times.front()?;
        Some(
            self.window
                .saturating_sub(now.saturating_duration_since(oldest)),
        )
    }

    /// Records a failure of `key` at `now`.
    pub fn record(&self, key: &K, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > SWEEP_ABOVE {
            let window = self.window;
            map.retain(|_, v| {
                v.back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < window)
            });
        }
        let times = map.entry(key.clone()).or_default();
        times.push_back(now);
        while times.len() > self.max {
            times.pop_front();
        }
    }

    /// Forgets the failures of `key` (after a successful sign-in).
    pub fn clear(&self, key: &K) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(key);
    }
}

/// Counts requests in flight; `try_acquire` fails beyond the limit.
#[derive(Debug)]
pub struct InFlight {
    max: usize,
    current: AtomicUsize,
}

/// Releases its in-flight slot when dropped.
#[derive(Debug)]
pub struct InFlightGuard<'a>(&'a InFlight);

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.0.current.fetch_sub(1, Ordering::AcqRel);
    }
}

impl InFlight {
    pub fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            current: AtomicUsize::new(0),
        }
    }

    pub fn try_acquire(&self) -> Option<InFlightGuard<'_>> {
        let prev = self.current.fetch_add(1, Ordering::AcqRel);
        let guard = InFlightGuard(self);
        (prev < self.max).then_some(guard)
    }

    pub fn current(&self) -> usize {
        self.current.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills() {
        let b = KeyedBuckets::new(3, 2.0);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(b.check(&"a", t0).is_ok());
        }
        let wait = b.check(&"a", t0).err();
        assert_eq!(wait.map(retry_after_secs), Some(1));
        // Another key has its own bucket.
        assert!(b.check(&"b", t0).is_ok());
        // Half a second later one token is back (2 per second).
        assert!(b.check(&"a", t0 + Duration::from_millis(500)).is_ok());
        assert!(b.check(&"a", t0 + Duration::from_millis(500)).is_err());
    }

    #[test]
    fn slow_refill_gives_long_retry_after() {
        let b = KeyedBuckets::new(1, 0.5);
        let t0 = Instant::now();
        assert!(b.check(&1, t0).is_ok());
        assert_eq!(b.check(&1, t0).err().map(retry_after_secs), Some(2));
    }

    #[test]
    fn failure_window_blocks_after_max_failures_until_the_oldest_expires() {
        let w = FailureWindow::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(w.blocked(&"a", t0), None, "attempt {i}");
            w.record(&"a", t0 + Duration::from_secs(i));
        }
        assert_eq!(
            w.blocked(&"a", t0 + Duration::from_secs(10)),
            Some(Duration::from_secs(50))
        );
        assert_eq!(w.blocked(&"b", t0), None);
        assert_eq!(w.blocked(&"a", t0 + Duration::from_secs(60)), None);
        w.record(&"a", t0 + Duration::from_secs(61));
        w.clear(&"a");
        assert_eq!(w.blocked(&"a", t0 + Duration::from_secs(61)), None);
    }

    #[test]
    fn in_flight_limit_releases_on_drop() {
        let f = InFlight::new(2);
        let a = f.try_acquire();
        let b = f.try_acquire();
        assert!(a.is_some() && b.is_some());
        assert!(f.try_acquire().is_none());
        drop(a);
        assert!(f.try_acquire().is_some());
        drop(b);
        assert_eq!(f.current(), 0);
    }
}
