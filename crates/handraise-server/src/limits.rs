//! Rate limits: keyed token buckets (per device, per enrolling IP), the
//! growing delay of failed sign-ins, the gate of password checks and the
//! global in-flight counter. Time is passed in so the arithmetic is testable.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

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

/// A delay that grows with each failure of a key (failed sign-ins per email
/// and per address): the first `free` failures cost nothing, each one after
/// that doubles the wait before the next attempt, from `first_delay` up to
/// `max_delay`. Failures fade, one every `fade_every`, so an account that
/// stops failing is soon fast again, and nobody is ever locked out for good.
///
/// An attempt is counted when it is admitted, before its password is
/// checked, so a parallel burst gets only the free attempts through.
///
/// This is the rule only: each key's [`Failures`] are kept in the database
/// (so failures on one server node count on every other), and the store
/// hands them to these functions inside the transaction that writes them back.
#[derive(Debug, Clone, Copy)]
pub struct FailureDelay {
    free: i64,
    first_delay: Duration,
    max_delay: Duration,
    fade_every: Duration,
}

/// One key's failures, as stored. Levels are in thousandths of a failure,
/// times in milliseconds since the Unix epoch (the wall clock every node shares).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Failures {
    /// Failures (and admitted attempts not yet settled), less what faded.
    pub level_milli: i64,
    /// When `level_milli` was last brought up to date.
    pub at_ms: i64,
    /// The last attempt admitted or failure recorded: the delay runs from it.
    pub last_ms: i64,
}

/// One failure, in [`Failures::level_milli`] units.
const ONE: i64 = 1000;

impl FailureDelay {
    /// `free` failures without delay; all of them fade within `window`, which
    /// is also the longest delay.
    pub fn new(free: u32, window: Duration) -> Self {
        let free = free.max(1);
        let window = window.max(Duration::from_secs(1));
        Self {
            free: i64::from(free),
            first_delay: Duration::from_secs(1),
            max_delay: window,
            fade_every: window / free,
        }
    }

    /// How long one failure takes to fade, in milliseconds (at least 1).
    pub fn fade_every_ms(&self) -> i64 {
        i64::try_from(self.fade_every.as_millis())
            .unwrap_or(i64::MAX)
            .max(1)
    }

    /// Brings `f`'s level up to `now_ms`.
    fn fade(&self, f: &mut Failures, now_ms: i64) {
        let elapsed = now_ms.saturating_sub(f.at_ms).max(0);
        let faded = elapsed.saturating_mul(ONE) / self.fade_every_ms();
        f.level_milli = f.level_milli.saturating_sub(faded).max(0);
        f.at_ms = f.at_ms.max(now_ms);
    }

    /// How long `f` must still wait at `now_ms` before another attempt.
    fn wait(&self, f: &Failures, now_ms: i64) -> Option<Duration> {
        if f.level_milli + ONE <= self.free * ONE {
            return None;
        }
        let over_milli = f.level_milli - self.free * ONE;
        let over = ((over_milli + ONE - 1) / ONE).clamp(0, 30) as u32;
        let delay = self
            .first_delay
            .saturating_mul(1u32 << over)
            .min(self.max_delay);
        let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
        let ready = f.last_ms.saturating_add(delay_ms);
        (now_ms < ready).then(|| Duration::from_millis((ready - now_ms).unsigned_abs()))
    }

    /// Admits one attempt for every key's `failures` at `now_ms`, counting it
    /// as a failure until [`FailureDelay::refund`] says otherwise (or the key
    /// is cleared); `Err(wait)` (nothing counted) when any key must wait.
    pub fn admit(&self, failures: &mut [Failures], now_ms: i64) -> Result<(), Duration> {
        let mut longest = None;
        for f in failures.iter_mut() {
            self.fade(f, now_ms);
            longest = longest.max(self.wait(f, now_ms));
        }
        if let Some(wait) = longest {
            return Err(wait);
        }
        for f in failures.iter_mut() {
            f.level_milli = f.level_milli.saturating_add(ONE);
            f.last_ms = f.last_ms.max(now_ms);
        }
        Ok(())
    }

    /// An admitted attempt failed at `now_ms`: it stays counted and the delay
    /// runs from now.
    pub fn failed(f: &mut Failures, now_ms: i64) {
        f.last_ms = f.last_ms.max(now_ms);
    }

    /// An admitted attempt was not a failure after all (it was never
    /// checked, or it succeeded for a key that is not forgiven): uncounts it.
    pub fn refund(f: &mut Failures) {
        f.level_milli = (f.level_milli - ONE).max(0);
    }
}

/// The server's clock for limits: `Instant::now()` plus whatever a test moved
/// it forward by, so a test passes time in instead of sleeping. A test may
/// also stop it ([`Clock::freeze`]), so that a busy machine's slowness passes
/// no time.
#[derive(Debug, Default)]
pub struct Clock {
    ahead_nanos: AtomicU64,
    frozen_at: std::sync::OnceLock<(Instant, SystemTime)>,
}

impl Clock {
    fn ahead(&self) -> Duration {
        Duration::from_nanos(self.ahead_nanos.load(Ordering::Acquire))
    }

    pub fn now(&self) -> Instant {
        let base = self.frozen_at.get().map_or_else(Instant::now, |f| f.0);
        base + self.ahead()
    }

    /// The wall clock, in milliseconds since the Unix epoch: what limits kept
    /// in the database (and so shared by every server node) are timed by.
    pub fn unix_ms(&self) -> i64 {
        let base = self.frozen_at.get().map_or_else(SystemTime::now, |f| f.1);
        let since = (base + self.ahead())
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    }

    /// Stops the clock where it is: from now on only [`Clock::advance`]
    /// moves it (tests only; the server never does).
    pub fn freeze(&self) {
        self.frozen_at
            .get_or_init(|| (Instant::now(), SystemTime::now()));
    }

    /// Moves the clock forward by `by` (tests only; the server never does).
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.ahead_nanos.fetch_add(nanos, Ordering::AcqRel);
    }
}

/// Bounds the slow, memory-hungry work of checking passwords (argon2 takes
/// about 19 MiB each): at most `slots` at once, on as many threads of its own
/// (so the memory the allocator keeps after a check is kept by those threads
/// only), at most `max_waiting` queued behind them for at most `max_wait`;
/// beyond that the caller is told the server is busy. Counts the checks it
/// ran (for tests and metrics).
#[derive(Debug)]
pub struct HashGate {
    slots: Arc<tokio::sync::Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    max_wait: Duration,
    ran: Arc<AtomicU64>,
    /// The checking threads' queue; they end when the gate is dropped.
    jobs: std::sync::mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

/// Why [`HashGate::run`] gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    /// The slots were all taken for too long: try again after a moment.
    #[error("the server is busy checking other passwords")]
    Busy,
    /// The check panicked.
    #[error("the password check failed")]
    Failed,
}

/// Takes a place in the waiting line; gives it back when dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashGate {
    pub fn new(slots: usize, max_waiting: usize, max_wait: Duration) -> Self {
        let slots = slots.max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..slots {
            let queue = Arc::clone(&queue);
            let worker = move || {
                loop {
                    let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok(job) = job else { break };
                    // A panic reaches the caller as a dropped answer; the thread goes on.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            };
            let spawned = std::thread::Builder::new()
                .name(format!("password-check-{i}"))
                .spawn(worker);
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "cannot start a password-checking thread");
            }
        }
        Self {
            slots: Arc::new(tokio::sync::Semaphore::new(slots)),
            waiting: AtomicUsize::new(0),
            max_waiting,
            max_wait,
            ran: Arc::new(AtomicU64::new(0)),
            jobs,
        }
    }

    /// One slot per CPU core, 16 waiting per slot for at most 5 s.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(cores, cores * 16, Duration::from_secs(5))
    }

    /// Runs `check` on a checking thread once a slot is free; `Busy` when the
    /// line is full or the wait too long. The slot is held until `check`
    /// returns, even if the caller gives up.
    pub async fn run<T, F>(&self, check: F) -> Result<T, GateError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let slot = match Arc::clone(&self.slots).try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                let place = self.waiting.fetch_add(1, Ordering::AcqRel);
                let _waiting = Waiting(&self.waiting);
                if place >= self.max_waiting {
                    return Err(GateError::Busy);
                }
                let acquire = Arc::clone(&self.slots).acquire_owned();
                match tokio::time::timeout(self.max_wait, acquire).await {
                    Ok(Ok(slot)) => slot,
                    _ => return Err(GateError::Busy),
                }
            }
        };
        let (answer, answered) = tokio::sync::oneshot::channel();
        let ran = Arc::clone(&self.ran);
        let job: Job = Box::new(move || {
            let out = check();
            ran.fetch_add(1, Ordering::AcqRel);
            drop(slot);
            let _ = answer.send(out);
        });
        if let Err(std::sync::mpsc::SendError(job)) = self.jobs.send(job) {
            // No checking thread could be started: the blocking pool does it.
            tokio::task::spawn_blocking(job);
        }
        answered.await.map_err(|_| GateError::Failed)
    }

    /// How many checks have run to the end.
    pub fn checks_run(&self) -> u64 {
        self.ran.load(Ordering::Acquire)
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

/// Counts requests in flight per key (a client address); `try_acquire`
/// fails when that key already has `max`.
#[derive(Debug)]
pub struct KeyedInFlight<K> {
    max: usize,
    current: Mutex<HashMap<K, usize>>,
}

/// Releases its key's slot when dropped.
#[derive(Debug)]
pub struct KeyedInFlightGuard<'a, K: Eq + Hash + Clone> {
    of: &'a KeyedInFlight<K>,
    key: K,
}

impl<K: Eq + Hash + Clone> Drop for KeyedInFlightGuard<'_, K> {
    fn drop(&mut self) {
        let mut map = self.of.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

impl<K: Eq + Hash + Clone> KeyedInFlight<K> {
    pub fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            current: Mutex::new(HashMap::new()),
        }
    }

    /// A slot of `key`, held until dropped; `None` when it has `max` already.
    pub fn try_acquire(&self, key: K) -> Option<KeyedInFlightGuard<'_, K>> {
        let mut map = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(key.clone()).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(KeyedInFlightGuard { of: self, key })
    }

    /// Requests of `key` in flight now.
    pub fn current(&self, key: &K) -> usize {
        let map = self.current.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key).copied().unwrap_or(0)
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

    /// Admits `n` attempts of `f` at `now_ms` under `d`.
    fn admit(d: &FailureDelay, f: &mut [Failures], now_ms: i64) -> Result<(), Duration> {
        d.admit(f, now_ms)
    }

    #[test]
    fn failures_after_the_free_ones_double_the_delay_and_fade() {
        // 3 free failures; all fade within 60 s (one every 20 s).
        let d = FailureDelay::new(3, Duration::from_secs(60));
        let t0 = 1_700_000_000_000_i64;
        let at = |s: i64| t0 + s * 1000;
        let (mut a, mut b) = (Failures::default(), Failures::default());
        for _ in 0..3 {
            assert_eq!(admit(&d, std::slice::from_mut(&mut a), t0), Ok(()));
        }
        // Counted on admission: a fourth at the same instant waits.
        let one = std::slice::from_mut(&mut a);
        assert_eq!(admit(&d, one, t0), Err(Duration::from_secs(1)));
        assert_eq!(admit(&d, std::slice::from_mut(&mut b), t0), Ok(()));
        // Both keys must be free, and a refused attempt counts for neither.
        let mut both = [b, a];
        assert_eq!(admit(&d, &mut both, t0), Err(Duration::from_secs(1)));
        let [b2, _] = both;
        assert_eq!(b2.level_milli, 1000, "not counted");
        FailureDelay::failed(&mut a, at(2));
        let one = std::slice::from_mut(&mut a);
        assert_eq!(admit(&d, one, at(2)), Err(Duration::from_secs(1)));
        assert_eq!(admit(&d, std::slice::from_mut(&mut a), at(3)), Ok(()));
        FailureDelay::failed(&mut a, at(3));
        // The level is now a little under 4 (faded 3/20): the wait doubles.
        let one = std::slice::from_mut(&mut a);
        assert_eq!(admit(&d, one, at(4)), Err(Duration::from_secs(1)));
        assert_eq!(admit(&d, std::slice::from_mut(&mut a), at(5)), Ok(()));
        FailureDelay::failed(&mut a, at(5));
        assert!(admit(&d, std::slice::from_mut(&mut a), at(6)).is_err());
        // A refund (never checked) uncounts the attempt.
        FailureDelay::refund(&mut a);
        // Failures fade: a minute later "a" is free again.
        assert_eq!(admit(&d, std::slice::from_mut(&mut a), at(70)), Ok(()));
    }

    #[test]
    fn the_delay_never_exceeds_the_window() {
        let d = FailureDelay::new(1, Duration::from_secs(10));
        let t0 = 1_700_000_000_000_i64;
        let mut f = Failures {
            level_milli: 1_000_000,
            at_ms: t0,
            last_ms: t0,
        };
        let wait = d.admit(std::slice::from_mut(&mut f), t0).err();
        assert!(
            wait.is_some_and(|w| w <= Duration::from_secs(10)),
            "{wait:?}"
        );
    }

    #[test]
    fn the_clock_moves_only_forward() {
        let c = Clock::default();
        let (before, wall) = (c.now(), c.unix_ms());
        c.advance(Duration::from_secs(3600));
        assert!(c.now() >= before + Duration::from_secs(3600));
        assert!(c.unix_ms() >= wall + 3_600_000);
        c.freeze();
        let frozen = c.unix_ms();
        c.advance(Duration::from_millis(1500));
        assert_eq!(c.unix_ms(), frozen + 1500);
    }

    #[tokio::test]
    async fn the_hash_gate_runs_a_few_at_once_and_turns_the_rest_away() {
        let gate = Arc::new(HashGate::new(1, 1, Duration::from_secs(600)));
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
        let first = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move {
                gate.run(move || {
                    let _ = started_tx.send(());
                    held.recv().is_ok()
                })
                .await
            })
        };
        started.await.expect("the first check started");
        let second = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move { gate.run(|| 2).await })
        };
        // The second waits in line; wait until it is there, then a third is turned away.
        while gate.waiting.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.run(|| 3).await.err(), Some(GateError::Busy));
        release.send(()).expect("release");
        assert!(matches!(first.await, Ok(Ok(true))));
        assert!(matches!(second.await, Ok(Ok(2))));
        assert_eq!(gate.checks_run(), 2);
        // A check that panics is an error, and the gate goes on.
        let panicked = gate.run(|| -> u8 { panic!("a broken check") }).await;
        assert_eq!(panicked.err(), Some(GateError::Failed));
        assert_eq!(gate.run(|| 4).await, Ok(4));
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

    #[test]
    fn in_flight_per_key_is_capped_and_released() {
        let f = KeyedInFlight::new(2);
        let a1 = f.try_acquire("a");
        let a2 = f.try_acquire("a");
        assert!(a1.is_some() && a2.is_some());
        assert!(f.try_acquire("a").is_none(), "a third of the same key");
        assert!(f.try_acquire("b").is_some(), "another key has its own");
        drop(a1);
        assert_eq!(f.current(&"a"), 1);
        assert!(f.try_acquire("a").is_some());
        drop(a2);
        assert_eq!(f.current(&"a"), 0);
    }
}
