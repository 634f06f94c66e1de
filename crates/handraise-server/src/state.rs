//! [`AppState`]: what every HTTP handler shares (the store, the config, the
//! rate limits, the feed notifier, the shutdown flag and the device cache).
//! Used by the agent and technician APIs and the console; the service layer
//! below takes the parts it needs instead.

use crate::config::Config;
use crate::error::AppError;
use crate::limits::{
    self, Clock, FailureDelay, HashGate, InFlight, InFlightGuard, KeyedBuckets, KeyedInFlight,
    KeyedInFlightGuard,
};
use crate::metrics::Metrics;
use crate::oidc::{self, LocalPasswords, OidcClient};
use crate::service::accounts::SignInPolicy;
use crate::service::{FeedNotifier, LongPolls};
use crate::store::{self, Store, StoreError};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use uuid::Uuid;

/// `last_seen_at` is written at most this often per device.
const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// How long a cached device lookup is trusted. Revocations through the API
/// take effect at once; ones made by another process within this time.
const DEVICE_CACHE_TTL: Duration = Duration::from_secs(30);
/// The cache is cleared when it grows beyond this many devices.
const DEVICE_CACHE_MAX: usize = 100_000;

/// Shared state of every handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    config: Config,
    device_limits: KeyedBuckets<Uuid>,
    enroll_limits: KeyedBuckets<IpAddr>,
    /// OpenID Connect sign-ins begun, by client address.
    oidc_starts: KeyedBuckets<IpAddr>,
    /// The rule of failed console sign-ins (the failures are in the store).
    signin_failures: FailureDelay,
    /// Bounds the password checks of sign-in.
    password_checks: HashGate,
    /// The clock of every limit here.
    clock: Clock,
    in_flight: InFlight,
    /// Requests in flight per client address without a valid bearer.
    unauthenticated: KeyedInFlight<IpAddr>,
    feed: Arc<FeedNotifier>,
    long_polls: LongPolls,
    metrics: Metrics,
    /// The database's generation, read once (a restore means a new process).
    generation: std::sync::OnceLock<String>,
    shutdown: watch::Sender<bool>,
    last_seen: Mutex<HashMap<Uuid, Instant>>,
    /// Device lookups by secret hash, so the hot path skips the database.
    device_cache: Mutex<HashMap<String, (store::DeviceRecord, Instant)>>,
    /// The OpenID Connect client, with `[oidc]`.
    oidc: Option<OidcClient>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over `store` with limits taken from `config`.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        let (shutdown, _) = watch::channel(false);
        let per_minute = config.enroll_per_minute_per_ip.max(1);
        Self {
            inner: Arc::new(Inner {
                device_limits: KeyedBuckets::new(config.device_burst, config.device_per_second),
                enroll_limits: KeyedBuckets::new(per_minute, f64::from(per_minute) / 60.0),
                oidc_starts: KeyedBuckets::new(
                    oidc::STARTS_PER_MINUTE_PER_IP,
                    f64::from(oidc::STARTS_PER_MINUTE_PER_IP) / 60.0,
                ),
                signin_failures: FailureDelay::new(
                    config.signin_max_failures,
                    Duration::from_secs(config.signin_window_secs.max(1)),
                ),
                password_checks: HashGate::for_this_machine(),
                clock: Clock::default(),
                in_flight: InFlight::new(config.max_in_flight),
                unauthenticated: KeyedInFlight::new(config.max_unauthenticated_per_client),
                feed: Arc::default(),
                long_polls: LongPolls::default(),
                metrics: Metrics::new(),
                generation: std::sync::OnceLock::new(),
                shutdown,
                last_seen: Mutex::new(HashMap::new()),
                device_cache: Mutex::new(HashMap::new()),
                oidc: config.oidc.clone().map(OidcClient::new),
                store,
                config,
            }),
        }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// A device's daily quotas, from the config.
    pub fn quotas(&self) -> crate::service::intake::DailyQuotas {
        crate::service::intake::DailyQuotas::from_config(&self.inner.config)
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Starts shutdown: new requests answer 503, long-polls end at once.
    pub fn begin_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.inner.shutdown.borrow()
    }

    /// Completes once shutdown has begun.
    pub(crate) async fn shutdown_started(&self) {
        let mut rx = self.inner.shutdown.subscribe();
        // An error means the sender is gone, which cannot happen while
        // `self` holds it; either way there is nothing left to wait for.
        let _ = rx.wait_for(|down| *down).await;
    }

    /// A slot of `max_in_flight`, held until dropped; `None` when all are taken.
    pub(crate) fn try_acquire_slot(&self) -> Option<InFlightGuard<'_>> {
        self.inner.in_flight.try_acquire()
    }

    /// A slot of `max_unauthenticated_per_client` for a request from `ip`
    /// without a valid bearer, held until dropped; `None` when `ip` has them all.
    pub(crate) fn try_acquire_unauthenticated(
        &self,
        ip: IpAddr,
    ) -> Option<KeyedInFlightGuard<'_, IpAddr>> {
        self.inner.unauthenticated.try_acquire(ip)
    }

    /// Requests from `ip` in flight now without a valid bearer.
    pub fn unauthenticated_in_flight(&self, ip: IpAddr) -> usize {
        self.inner.unauthenticated.current(&ip)
    }

    /// The long-poll of each device (one each).
    pub fn long_polls(&self) -> &LongPolls {
        &self.inner.long_polls
    }

    /// Runs `f` over the store on the blocking pool (for store calls and
    /// service operations that hash passwords or write).
    pub(crate) async fn blocking<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, AppError> + Send + 'static,
    {
        let store = Arc::clone(&self.inner.store);
        crate::service::off_thread(move || f(store.as_ref())).await?
    }

    /// Runs a store call on the blocking pool.
    pub(crate) async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        self.blocking(move |s| f(s).map_err(AppError::from)).await
    }

    pub(crate) fn check_device_rate(&self, device: Uuid) -> Result<(), AppError> {
        within(&self.inner.device_limits, &device, self.inner.clock.now())
    }

    pub(crate) fn check_enroll_rate(&self, ip: IpAddr) -> Result<(), AppError> {
        within(&self.inner.enroll_limits, &ip, self.inner.clock.now())
    }

    pub(crate) fn check_oidc_start_rate(&self, ip: IpAddr) -> Result<(), AppError> {
        within(&self.inner.oidc_starts, &ip, self.inner.clock.now())
    }

    /// Records that the device was seen, writing at most once a minute.
    pub(crate) fn touch_device(&self, device: Uuid) {
        let now = Instant::now();
        {
            let mut seen = self
                .inner
                .last_seen
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if seen
                .get(&device)
                .is_some_and(|t| now.saturating_duration_since(*t) < TOUCH_EVERY)
            {
                return;
            }
            seen.insert(device, now);
        }
        let store = Arc::clone(&self.inner.store);
        tokio::task::spawn_blocking(move || {
            if let Err(e) = store.touch_device(device, store::now_utc()) {
                tracing::warn!(%device, error = %e, "could not record last_seen_at");
            }
        });
    }

    /// The device whose secret hashes to `secret_hash`, from the cache or
    /// the store.
    pub(crate) async fn device_by_secret_hash(
        &self,
        secret_hash: String,
    ) -> Result<Option<store::DeviceRecord>, AppError> {
        let now = Instant::now();
        {
            let cache = self
                .inner
                .device_cache
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some((device, at)) = cache.get(&secret_hash)
                && now.saturating_duration_since(*at) < DEVICE_CACHE_TTL
            {
                return Ok(Some(device.clone()));
            }
        }
        let key = secret_hash.clone();
        let found = self.db(move |s| s.device_by_secret_hash(&key)).await?;
        if let Some(device) = &found {
            let mut cache = self
                .inner
                .device_cache
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if cache.len() >= DEVICE_CACHE_MAX {
                cache.clear();
            }
            cache.insert(secret_hash, (device.clone(), now));
        }
        Ok(found)
    }

    /// Revokes `device` through the service and forgets its cached lookups, so its
    /// secret answers 403 on the very next request. The one way both the technician API
    /// and the console revoke a device.
    pub(crate) async fn revoke_device(&self, device: Uuid) -> Result<(), AppError> {
        crate::service::devices::revoke(self.store(), device, store::now_utc()).await?;
        self.forget_device(device);
        Ok(())
    }

    /// Forgets cached lookups of `device` (after a revocation).
    fn forget_device(&self, device: Uuid) {
        let mut cache = self
            .inner
            .device_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        cache.retain(|_, (d, _)| d.id != device);
    }

    /// What console sign-in needs: its failures by email and by address,
    /// the gate of password checks, the clock and the session length.
    pub fn sign_in_policy(&self) -> SignInPolicy<'_> {
        SignInPolicy {
            failures: &self.inner.signin_failures,
            hashing: &self.inner.password_checks,
            clock: &self.inner.clock,
            session_hours: self.inner.config.session_hours,
            passwords: self
                .inner
                .config
                .oidc
                .as_ref()
                .map_or(LocalPasswords::All, |o| o.local_passwords),
        }
    }

    /// The OpenID Connect client, when `[oidc]` is set.
    pub fn oidc(&self) -> Option<&OidcClient> {
        self.inner.oidc.as_ref()
    }

    /// How many passwords sign-in has checked (argon2 runs), for tests and
    /// metrics.
    pub fn password_checks_run(&self) -> u64 {
        self.inner.password_checks.checks_run()
    }

    /// The clock of the rate limits and the sign-in delay. Tests move it
    /// forward ([`Clock::advance`]) instead of sleeping.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    pub fn feed(&self) -> &FeedNotifier {
        &self.inner.feed
    }

    /// Starts this node's cluster notifier on the PostgreSQL database at `url`
    /// (`serve` does, when the database is PostgreSQL): changes written
    /// through other nodes wake this node's long-polls, and this node's wake
    /// theirs. It stops when dropped.
    pub fn start_cluster_notifier(
        &self,
        url: &str,
    ) -> Result<crate::service::cluster::ClusterNotifier, crate::service::cluster::ClusterError>
    {
        crate::service::cluster::start(url, self.feed_handle())
    }

    /// The feed notifier, for a task that outlives a borrow (the forwarding
    /// worker, the cluster notifier).
    pub fn feed_handle(&self) -> Arc<FeedNotifier> {
        Arc::clone(&self.inner.feed)
    }

    /// The database's generation (see `wire::UpdatesPage::generation`).
    pub async fn generation(&self) -> Result<String, AppError> {
        if let Some(g) = self.inner.generation.get() {
            return Ok(g.clone());
        }
        let g = self.db(|s| s.generation()).await?;
        Ok(self.inner.generation.get_or_init(|| g).clone())
    }

    /// What `/metrics` reports; requests are recorded as they are answered.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }
}

/// `RateLimited` when `key` is over its rate in `buckets` at `now`.
fn within<K: Eq + std::hash::Hash + Clone>(
    buckets: &KeyedBuckets<K>,
    key: &K,
    now: Instant,
) -> Result<(), AppError> {
    buckets
        .check(key, now)
        .map_err(|wait| AppError::RateLimited {
            retry_after_secs: limits::retry_after_secs(wait),
        })
}
