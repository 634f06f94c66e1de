//! The agent API and the technician API: HTTP handlers over [`crate::service`].

pub mod agent;
pub mod metrics;
pub mod tech;

use crate::error::AppError;
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use handraise_wire as wire;

/// `GET /healthz`. While shutting down the guard middleware answers 503
/// before this runs.
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    if state.is_shutting_down() {
        return AppError::ShuttingDown.into_response();
    }
    axum::Json(wire::Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
    .into_response()
}

// The validators and the conversions from storage rows to wire bodies live in
// the service layer, where the console finds them too.
pub use crate::auth::ClientIp;
pub(crate) use crate::service::convert::{
    announcement, article, device_ticket, receipt, tech_ticket, update,
};
