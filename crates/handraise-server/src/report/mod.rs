//! The web report page under `/report/`: teachers on Chromebooks, phones or
//! any computer without the app sign in with their district account
//! (OpenID Connect, the console's configuration with the teachers' domain
//! rules) and report with the tray app's own Svelte components, built as a
//! web bundle (`ui/report.html`; `cargo xtask run|test|dist` build it).
//!
//! The server serves the bundle from `report_dir` (default: `report/` next
//! to the binary); without it `/report/` answers a page saying how to build
//! it. `/report/sign-in` begins a sign-in whose purpose (kept on the server)
//! makes the console's `/auth/callback` open a web session
//! ([`session`]) instead of a console one. The page's JSON calls are in
//! [`api`]. Each account is a device of its own
//! ([`crate::service::web`]), so every rule is the app's.

pub mod api;
mod bundle;
pub mod session;

use crate::auth::ClientIp;
use crate::cookies::Cookies;
use crate::oidc::{PENDING_TTL, Purpose};
use crate::state::AppState;
use crate::store::now_utc;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};

pub use crate::service::web::REPORT_PATH;
/// The page's updates long-poll (held like the agent's; see `lib.rs`).
pub const UPDATES_PATH: &str = "/report/api/updates";
/// The cookie binding a sign-in under way to its browser (the console's).
const OIDC_COOKIE: &str = "hr_oidc";

/// The report page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/report",
            get(|| async { Redirect::permanent(REPORT_PATH) }),
        )
        .route(REPORT_PATH, get(bundle::index))
        .route("/report/sign-in", get(sign_in))
        .route("/report/api/me", get(api::me))
        .route("/report/api/sign-out", post(api::sign_out))
        .route("/report/api/kb", get(api::browse))
        .route("/report/api/kb/search", get(api::search))
        .route("/report/api/kb/{slug}", get(api::article))
        .route("/report/api/kb/{slug}/fixed", post(api::fixed))
        .route(
            "/report/api/tickets",
            get(api::tickets).post(api::create_ticket),
        )
        .route("/report/api/tickets/{client_id}", get(api::ticket))
        .route(
            "/report/api/tickets/{client_id}/messages",
            post(api::message),
        )
        .route(
            "/report/api/tickets/{client_id}/screenshot",
            put(api::screenshot),
        )
        .route("/report/api/announcements/{id}/me-too", post(api::me_too))
        .route(UPDATES_PATH, get(api::updates))
        .route("/report/{*file}", get(bundle::file))
}

/// `/report/sign-in`: off to the district's provider; back at
/// `/auth/callback`, then at [`REPORT_PATH`] signed in.
async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    cookies: Cookies,
) -> Response {
    let Some(client) = state.oidc() else {
        return bundle::message_page(
            axum::http::StatusCode::NOT_FOUND,
            "No district sign-in here",
            "This server has no district sign-in (OpenID Connect) set up, so the web report \
             page cannot be used. Ask district IT to set up [oidc] in the server's config.toml.",
        );
    };
    if let Err(e) = state.check_oidc_start_rate(ip) {
        return e.into_response();
    }
    let begun = crate::service::oidc::begin(state.store(), client, Purpose::Report, now_utc());
    match begun.await {
        Ok(Ok(started)) => {
            let mut response = Redirect::to(&started.url).into_response();
            let cookie = cookies.set(OIDC_COOKIE, &started.browser, PENDING_TTL.as_secs());
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Err(e) => e.into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "web report sign-in could not start");
            bundle::message_page(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "The sign-in service cannot be reached",
                "The district's sign-in provider is not answering right now. Try again in a few \
                 minutes.",
            )
        }
    }
}
