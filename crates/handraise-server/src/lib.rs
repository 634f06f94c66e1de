//! HandRaise district server: the agent API and the technician API of
//! `docs/protocol.md` over an embedded SQLite store, and the technician web
//! console (`console`, server-rendered HTML under `/console/`) built on the
//! same operations as the technician API (`service`).
//!
//! [`router`] builds the axum application from an [`AppState`]; [`serve`] runs
//! it on a listener until a shutdown future completes, then drains. The
//! `handraise-server` binary is a thin shell around these and [`open_data_dir`].

pub mod api;
pub mod auth;
pub mod config;
pub mod console;
pub mod error;
pub mod kb;
pub mod limits;
pub mod service;
pub mod stats;
pub mod store;

pub use config::Config;
pub use error::AppError;
pub use store::{SqliteStore, Store, StoreError};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use limits::{FailureWindow, InFlight, KeyedBuckets};
use service::FeedNotifier;
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use uuid::Uuid;

/// Creates `data_dir` if needed, writes the default `config.toml` if there is
/// none (never overwriting one), and opens the database, applying
/// migrations. Returns the store and whether a config file was written.
pub fn open_data_dir(data_dir: &std::path::Path) -> Result<(SqliteStore, bool), InitError> {
    std::fs::create_dir_all(data_dir).map_err(|source| InitError::CreateDir {
        path: data_dir.to_owned(),
        source,
    })?;
    let wrote_config = Config::write_default_if_missing(data_dir)?;
    let store = SqliteStore::open(&database_path(data_dir))?;
    Ok((store, wrote_config))
}

/// Path of the database inside `data_dir`.
pub fn database_path(data_dir: &std::path::Path) -> std::path::PathBuf {
    data_dir.join(config::DATABASE_FILE)
}

/// Errors preparing a data directory.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("cannot create {path}: {source}")]
    CreateDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Path of the long-poll endpoint; it does not count toward `max_in_flight`.
const UPDATES_PATH: &str = "/api/v1/updates";
/// `last_seen_at` is written at most this often per device.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

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
    /// Failed console sign-ins, keyed by `email:<address>` and `ip:<address>`.
    signin_failures: FailureWindow<String>,
    in_flight: InFlight,
    feed: FeedNotifier,
    shutdown: watch::Sender<bool>,
    last_seen: Mutex<HashMap<Uuid, Instant>>,
    /// Device lookups by secret hash, so the hot path skips the database.
    device_cache: Mutex<HashMap<String, (store::DeviceRecord, Instant)>>,
}

/// How long a cached device lookup is trusted. Revocations through the API
/// take effect at once; ones made by another process within this time.
const DEVICE_CACHE_TTL: Duration = Duration::from_secs(30);
/// The cache is cleared when it grows beyond this many devices.
const DEVICE_CACHE_MAX: usize = 100_000;

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
                signin_failures: FailureWindow::new(
                    config.signin_max_failures,
                    Duration::from_secs(config.signin_window_secs.max(1)),
                ),
                in_flight: InFlight::new(config.max_in_flight),
                feed: FeedNotifier::default(),
                shutdown,
                last_seen: Mutex::new(HashMap::new()),
                device_cache: Mutex::new(HashMap::new()),
                store,
                config,
            }),
        }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
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

    /// Runs a store call on the blocking pool.
    pub(crate) async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        service::run(&self.inner.store, f).await
    }

    pub(crate) fn check_device_rate(&self, device: Uuid) -> Result<(), AppError> {
        self.inner
            .device_limits
            .check(&device, Instant::now())
            .map_err(|wait| AppError::RateLimited {
                retry_after_secs: limits::retry_after_secs(wait),
            })
    }

    pub(crate) fn check_enroll_rate(&self, ip: IpAddr) -> Result<(), AppError> {
        self.inner
            .enroll_limits
            .check(&ip, Instant::now())
            .map_err(|wait| AppError::RateLimited {
                retry_after_secs: limits::retry_after_secs(wait),
            })
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

    /// Forgets cached lookups of `device` (after a revocation).
    pub(crate) fn forget_device(&self, device: Uuid) {
        let mut cache = self
            .inner
            .device_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        cache.retain(|_, (d, _)| d.id != device);
    }

    pub(crate) fn signin_failures(&self) -> &FailureWindow<String> {
        &self.inner.signin_failures
    }

    pub(crate) fn feed(&self) -> &FeedNotifier {
        &self.inner.feed
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let json_limit = state.config().json_body_limit_bytes;
    Router::new()
        .merge(console::routes(state.clone()))
        .route("/healthz", get(api::health))
        .route("/api/v1/enroll", post(api::agent::enroll))
        .route("/api/v1/tickets", post(api::agent::create_ticket))
        .route("/api/v1/tickets/{client_id}", get(api::agent::get_ticket))
        .route(
            "/api/v1/tickets/{client_id}/messages",
            post(api::agent::post_message),
        )
        .route(
            "/api/v1/tickets/{client_id}/screenshot",
            put(api::agent::put_screenshot),
        )
        .route(UPDATES_PATH, get(api::agent::updates))
        .route("/api/v1/kb", get(api::agent::kb))
        .route(
            "/api/v1/kb/{slug}/deflections",
            post(api::agent::deflection),
        )
        .route("/api/v1/announcements", get(api::agent::announcements))
        .route(
            "/api/v1/announcements/{id}/me-too",
            post(api::agent::me_too),
        )
        .route("/api/v1/tech/tickets", get(api::tech::list_tickets))
        .route("/api/v1/tech/tickets/{number}", get(api::tech::get_ticket))
        .route(
            "/api/v1/tech/tickets/{number}/status",
            post(api::tech::set_status),
        )
        .route(
            "/api/v1/tech/tickets/{number}/assign",
            post(api::tech::assign),
        )
        .route(
            "/api/v1/tech/tickets/{number}/reply",
            post(api::tech::reply),
        )
        .route("/api/v1/tech/tickets/{number}/note", post(api::tech::note))
        .route("/api/v1/tech/kb", post(api::tech::create_article))
        .route("/api/v1/tech/kb/{slug}", put(api::tech::put_article))
        .route(
            "/api/v1/tech/kb/{slug}/unpublish",
            post(api::tech::unpublish_article),
        )
        .route(
            "/api/v1/tech/announcements",
            post(api::tech::create_announcement),
        )
        .route(
            "/api/v1/tech/announcements/{id}",
            get(api::tech::get_announcement),
        )
        .route(
            "/api/v1/tech/announcements/{id}/end",
            post(api::tech::end_announcement),
        )
        .route(
            "/api/v1/tech/devices/{device_id}/revoke",
            post(api::tech::revoke_device),
        )
        .fallback(|uri: axum::http::Uri| async move {
            if uri.path().starts_with("/console") {
                console::pages::error_response(AppError::NotFound)
            } else {
                AppError::NotFound.into_response()
            }
        })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(json_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            refuse_oversized,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Bodies up to this size are read and discarded before a 413 goes out, so the client sees
/// the answer instead of a connection reset in the middle of its upload.
const DRAIN_CAP_BYTES: u64 = 64 * 1024 * 1024;

/// Answers 413 from `Content-Length` alone, before any handler runs. Without draining, a
/// client still sending gets its connection reset and never learns the body was refused, so
/// an agent would retry a hopeless ticket instead of marking it rejected.
async fn refuse_oversized(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let config = state.config();
    let limit = if request.uri().path().ends_with("/screenshot") {
        config.screenshot_limit_bytes
    } else {
        config.json_body_limit_bytes
    } as u64;
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let Some(len) = declared.filter(|len| *len > limit) else {
        return next.run(request).await;
    };
    let mut response =
        AppError::PayloadTooLarge(format!("the body is {len} bytes; the limit is {limit}"))
            .into_response();
    if len <= DRAIN_CAP_BYTES {
        use http_body_util::BodyExt;
        let mut body = request.into_body();
        while let Some(Ok(_)) = body.frame().await {}
    } else {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// Shutdown refusal, the in-flight limit and the request timeout.
async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.is_shutting_down() {
        return AppError::ShuttingDown.into_response();
    }
    let long_poll = request.uri().path() == UPDATES_PATH;
    let _slot = if long_poll {
        None
    } else {
        match state.inner.in_flight.try_acquire() {
            Some(slot) => Some(slot),
            None => {
                return AppError::RateLimited {
                    retry_after_secs: 1,
                }
                .into_response();
            }
        }
    };
    let timeout = Duration::from_secs(state.config().request_timeout_secs.max(1));
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => AppError::Timeout.into_response(),
    }
}

/// Serves `state` on `listener` until `shutdown` completes, then stops
/// accepting, ends long-polls and drains in-flight requests for at most
/// `shutdown_grace_secs`.
pub async fn serve<F>(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let (draining_tx, draining_rx) = tokio::sync::oneshot::channel::<()>();
    let signal_state = state.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: draining requests");
        signal_state.begin_shutdown();
        let _ = draining_tx.send(());
    });
    let grace = Duration::from_secs(state.config().shutdown_grace_secs);
    let deadline = async move {
        match draining_rx.await {
            Ok(()) => tokio::time::sleep(grace).await,
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        result = server.into_future() => {
            tracing::info!("server stopped");
            result
        }
        () = deadline => {
            tracing::warn!(grace_secs = grace.as_secs(), "drain took too long; stopping anyway");
            Ok(())
        }
    }
}
