//! HandRaise district server: the agent API and the technician API of
//! `docs/protocol.md` over an embedded SQLite store, and the technician web
//! console (`console`, server-rendered HTML under `/console/`) built on the
//! same operations as the technician API (`service`).
//!
//! [`router`] builds the axum application from an [`AppState`]; [`serve`] runs
//! it on a listener (its own accept loop, TLS and connection limits are in
//! [`transport`]) until a shutdown future completes, then drains. The
//! `handraise-server` binary is a thin shell around these, [`open_data_dir`]
//! and [`init_data_dir`].
//!
//! # Layers
//!
//! Each module imports only modules of its own layer or below:
//!
//! 1. `handraise-wire` (another crate) and the leaves that import nothing of
//!    this crate: [`config`], [`limits`], [`secret`], [`kb`], [`tz`],
//!    [`logging`], [`desk`] (HTTP clients of the help desks tickets are
//!    forwarded to), and [`oidc`] (the OpenID Connect protocol: it uses
//!    [`secret`], and [`config`] holds its table).
//! 2. [`store`]: persistence only.
//! 3. [`error`] (`AppError`, made from store errors), [`stats`] (figures
//!    over store rows) and [`metrics`] (the Prometheus registry).
//! 4. [`service`]: every rule, split by domain (accounts and sessions,
//!    enrollment, settings, tickets, knowledge base, announcements,
//!    retention, desks and forwarding; the leases that run background jobs on one server
//!    node, and the cluster notifier that wakes long-polls across nodes), taking the store,
//!    the time and the limits it needs.
//! 5. [`state`] (`AppState`, what every handler shares), [`auth`] (the
//!    bearer and client-address extractors) and [`cookies`] (how cookies are
//!    named and flagged).
//! 6. [`api`] and [`console`]: thin HTTP callers of the service layer; neither
//!    imports the other. [`report`] (the web report page) sits on them: it
//!    uses the agent API's intake, long-poll and screenshot upload, as
//!    functions.
//! 7. This root: [`router`], [`open_data_dir`], and [`transport`] (the accept
//!    loop, TLS and connection limits of [`serve`]).
//! 8. The binary: `main` and `cli`, a command line over the service layer.

pub mod api;
pub mod auth;
pub mod config;
pub mod console;
pub mod cookies;
pub mod desk;
pub mod error;
pub mod kb;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod oidc;
pub mod report;
pub mod secret;
pub mod service;
pub mod state;
pub mod stats;
pub mod store;
pub mod transport;
pub mod tz;

pub use config::Config;
pub use error::AppError;
pub use state::AppState;
pub use store::{SqlStore, Store, StoreError};
pub use transport::{serve, serve_with};

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use std::time::Duration;

/// Creates `data_dir` if needed and opens its SQLite database, applying
/// migrations.
pub fn open_data_dir(data_dir: &std::path::Path) -> Result<SqlStore, InitError> {
    open_database(data_dir, &config::DatabaseUrl::Sqlite)
}

/// The one way a command opens its store: `database` (the configuration's
/// `database_url`, or `--database`) for `data_dir` (created when missing):
/// SQLite's file there, or a PostgreSQL database, migrations applied.
pub fn open_database(
    data_dir: &std::path::Path,
    database: &config::DatabaseUrl,
) -> Result<SqlStore, InitError> {
    create_data_dir(data_dir)?;
    Ok(store::open_database(&database_path(data_dir), database)?)
}

/// The store of `location`, by its configuration (`--database` winning).
pub fn open_location(location: &config::Location) -> Result<SqlStore, InitError> {
    let config = location.config()?;
    open_database(&location.data_dir, &config.database_url)
}

/// `init`: the configuration written where `location` says (the default
/// one unless a file is there, never overwriting one, with `--database`'s
/// choice: [`config::Location::write_default_config`]), then the store it
/// names opened, migrations applied. Returns the store and what was done to
/// the configuration file.
pub fn init_data_dir(
    location: &config::Location,
) -> Result<(SqlStore, config::ConfigWrite), InitError> {
    create_data_dir(&location.data_dir)?;
    let wrote_config = location.write_default_config()?;
    let store = open_location(location)?;
    Ok((store, wrote_config))
}

fn create_data_dir(data_dir: &std::path::Path) -> Result<(), InitError> {
    std::fs::create_dir_all(data_dir).map_err(|source| InitError::CreateDir {
        path: data_dir.to_owned(),
        source,
    })
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

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let json_limit = state.config().json_body_limit_bytes;
    Router::new()
        .merge(console::routes(state.clone()))
        .merge(report::routes())
        .route("/healthz", get(api::health))
        .route(api::metrics::PATH, get(api::metrics::behind_token))
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
        .layer(middleware::from_fn_with_state(state.clone(), measure))
        .layer(middleware::from_fn(with_request_id))
        .with_state(state)
}

/// Opens the `request` span with the request's id, which every line logged
/// while the request is handled carries, and answers the id in
/// `X-Request-Id`.
async fn with_request_id(request: Request, next: Next) -> Response {
    use tracing::Instrument;
    let given = request
        .headers()
        .get(logging::REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok());
    let id = logging::request_id(given);
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = next.run(request).instrument(span).await;
    if let Ok(value) = axum::http::HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(logging::REQUEST_ID_HEADER, value);
    }
    response
}

/// The application of `metrics_listen`: `/metrics` alone, without a token.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route(api::metrics::PATH, get(api::metrics::open))
        .with_state(state)
}

/// Records each request's latency by route pattern, method and status, and
/// counts the long-polls held.
async fn measure(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let method = request.method().as_str().to_owned();
    let _held = (route == UPDATES_PATH).then(|| state.metrics().long_poll());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    state
        .metrics()
        .observe(&route, &method, status, started.elapsed());
    response
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

/// Shutdown refusal, the in-flight limit, the cap on requests in flight per
/// client address without a valid bearer, and the request timeout.
async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.is_shutting_down() {
        return AppError::ShuttingDown.into_response();
    }
    let long_poll = matches!(request.uri().path(), UPDATES_PATH | report::UPDATES_PATH);
    let _slot = if long_poll {
        None
    } else {
        match state.try_acquire_slot() {
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
    let work = async {
        let (mut parts, body) = request.into_parts();
        let _client_slot = if auth::check_bearer(&mut parts, &state).await {
            None
        } else {
            let Ok(auth::ClientIp(ip)) =
                auth::ClientIp::from_request_parts(&mut parts, &state).await;
            match state.try_acquire_unauthenticated(ip) {
                Some(slot) => Some(slot),
                None => {
                    return AppError::RateLimited {
                        retry_after_secs: 1,
                    }
                    .into_response();
                }
            }
        };
        next.run(Request::from_parts(parts, body)).await
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(response) => response,
        Err(_) => AppError::Timeout.into_response(),
    }
}
