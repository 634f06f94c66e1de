//! `GET /metrics`: the Prometheus scrape. Never public by default: on the
//! main listener it needs the bearer token of `metrics_token_file` (and is
//! not found without one); on `metrics_listen` it is open.

use crate::auth::bearer;
use crate::error::AppError;
use crate::metrics::CONTENT_TYPE;
use crate::secret::{read_secret_file, same_secret};
use crate::service::backups;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use time::Duration;

/// Where the scrape is served.
pub const PATH: &str = "/metrics";

/// `/metrics` on the main listener: the token of `metrics_token_file`.
pub async fn behind_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(path) = state.config().metrics_token_file.clone() else {
        return AppError::NotFound.into_response();
    };
    let token = match tokio::task::spawn_blocking(move || read_secret_file(&path)).await {
        Ok(Ok(token)) => token,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "metrics_token_file cannot be used");
            return AppError::internal(e).into_response();
        }
        Err(e) => return AppError::internal(e).into_response(),
    };
    match bearer(&headers) {
        Some(given) if same_secret(given, &token) => scrape(&state).await,
        _ => AppError::Unauthorized.into_response(),
    }
}

/// `/metrics` on `metrics_listen`.
pub async fn open(State(state): State<AppState>) -> Response {
    scrape(&state).await
}

async fn scrape(state: &AppState) -> Response {
    let since = crate::store::now_utc() - Duration::days(1);
    let backup_dir = state.config().backup_dir.clone();
    let read = state
        .blocking(move |s| {
            let gauges = s.gauges(since)?;
            let age = match &backup_dir {
                Some(dir) => backups::newest_age(dir, std::time::SystemTime::now())
                    .map_err(AppError::internal)?,
                None => None,
            };
            Ok((gauges, age))
        })
        .await;
    let (gauges, age) = match read {
        Ok(read) => read,
        Err(e) => return e.into_response(),
    };
    let backup = state.config().backup_dir.as_deref().zip(age);
    match state.metrics().render(&gauges, backup) {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(e) => AppError::internal(e).into_response(),
    }
}
