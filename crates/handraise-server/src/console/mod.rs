//! The technician web console: server-rendered HTML under `/console/`.
//!
//! Every change goes through [`crate::service`], the same operations the
//! technician API and the command line use, so they cannot drift apart. Pages
//! work without JavaScript (plain forms, POST then 303 redirect); the one
//! script (`assets/console.js`) only refreshes the queue in place.
//!
//! Sessions and CSRF are in [`session`], templates and their data in
//! [`pages`], the queue order, SLA badges and device facts in [`view`]. The
//! handlers, by page: sign-in and sign-out in `signin` (with OpenID Connect
//! in `oidc`), the queue and ticket
//! pages in `desk`, the knowledge base in `kb`, announcements in
//! `announcements`, the dashboard in `dashboard`, technician API tokens in
//! `api_tokens`, enrollment tokens and re-enrollments in `enrollment`, and the
//! admin pages (devices, users, SLA, retention) in `admin`.

mod admin;
mod announcements;
mod api_tokens;
mod dashboard;
mod desk;
mod enrollment;
mod helpdesks;
mod kb;
mod oidc;
pub mod pages;
pub mod session;
mod signin;
pub mod view;

use crate::error::AppError;
use crate::secret::hash_secret;
use crate::state::AppState;
use crate::store::{SessionRecord, Technician};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use pages::{Chrome, ConsoleError};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use session::SIGN_IN_PATH;

const CSS: &str = include_str!("../../assets/console.css");
const JS: &str = include_str!("../../assets/console.js");
const QUEUE_PATH: &str = "/console/queue";

/// A short hash of the embedded assets, appended to their URLs so they can
/// be cached for long and still change with the binary.
pub fn asset_version() -> &'static str {
    static V: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    V.get_or_init(|| hash_secret(&format!("{CSS}{JS}"))[..12].to_owned())
}

/// The console's routes, with the session/CSRF layer.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(signin::home))
        .route("/console", get(signin::home))
        .route("/console/", get(signin::home))
        .route(SIGN_IN_PATH, get(signin::page).post(signin::sign_in))
        .route("/console/sign-out", post(signin::sign_out))
        .route(oidc::START_PATH, get(oidc::start))
        .route(crate::oidc::CALLBACK_PATH, get(oidc::callback))
        .route(QUEUE_PATH, get(desk::queue))
        .route("/console/tickets/{number}", get(desk::ticket_page))
        .route(
            "/console/tickets/{number}/screenshot",
            get(desk::screenshot),
        )
        .route("/console/tickets/{number}/{action}", post(desk::act))
        .route("/console/devices", get(admin::devices))
        .route("/console/devices/{id}/revoke", post(admin::revoke_device))
        .route(
            "/console/devices/{id}/allow-reenroll",
            post(enrollment::allow_reenroll),
        )
        .route(
            "/console/admin/users",
            get(admin::users).post(admin::add_user),
        )
        .route("/console/admin/users/{id}/{action}", post(admin::set_user))
        .route(
            "/console/admin/enroll-tokens",
            get(enrollment::tokens).post(enrollment::create_token),
        )
        .route(
            "/console/admin/enroll-tokens/{id}/revoke",
            post(enrollment::revoke_token),
        )
        .route(
            api_tokens::PATH,
            get(api_tokens::list).post(api_tokens::create),
        )
        .route("/console/api-tokens/{id}/revoke", post(api_tokens::revoke))
        .route("/console/admin/sla", get(admin::sla).post(admin::set_sla))
        .route("/console/dashboard", get(dashboard::dashboard))
        .route(
            "/console/dashboard/tickets.csv",
            get(dashboard::tickets_csv),
        )
        .route("/console/kb", get(kb::list).post(kb::save))
        .route("/console/kb/new", get(kb::new))
        .route("/console/kb/preview", post(kb::preview))
        .route("/console/kb/{slug}", get(kb::edit).post(kb::save))
        .route("/console/kb/{slug}/{action}", post(kb::publish))
        .route(
            "/console/announcements",
            get(announcements::list).post(announcements::create),
        )
        .route("/console/announcements/{id}", get(announcements::page))
        .route(
            "/console/announcements/{id}/{action}",
            post(announcements::act),
        )
        .route(
            "/console/admin/retention",
            get(admin::retention).post(admin::set_retention),
        )
        .route("/console/admin/retention/purge", post(admin::purge_now))
        .route(helpdesks::PATH, get(helpdesks::page))
        .route(
            "/console/admin/desks/{id}/{action}",
            post(helpdesks::set_desk),
        )
        .route(
            "/console/admin/desks/tickets/{number}/{action}",
            post(helpdesks::ticket_item),
        )
        .route(
            "/console/admin/desks/events/{id}/{action}",
            post(helpdesks::event_item),
        )
        .route("/console/assets/{file}", get(asset))
        .layer(middleware::from_fn_with_state(
            state,
            session::console_layer,
        ))
}

type Page = Result<Response, ConsoleError>;

/// A urlencoded form body (the CSRF field was checked by the layer).
struct Form<T>(T);

/// The fields of a form, repeated keys kept (checkboxes).
type Fields = Vec<(String, String)>;

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ConsoleError> {
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|e| AppError::BadRequest(e.body_text()))?;
        serde_urlencoded::from_bytes(&body)
            .map(Form)
            .map_err(|e| ConsoleError(AppError::BadRequest(format!("the form is not valid: {e}"))))
    }
}

/// The number in a page's path (`/console/tickets/{number}`); anything else
/// is not found.
struct Number(i64);

impl<S: Send + Sync> FromRequestParts<S> for Number {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ConsoleError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound)?;
        number(&raw).map(Number)
    }
}

/// A form's address of the shape `.../{number}/{action}`: what to do to
/// which ticket or announcement.
struct Action(i64, String);

impl<S: Send + Sync> FromRequestParts<S> for Action {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ConsoleError> {
        let Path((raw, action)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound)?;
        Ok(Action(number(&raw)?, action))
    }
}

fn number(raw: &str) -> Result<i64, ConsoleError> {
    raw.parse().map_err(|_| ConsoleError(AppError::NotFound))
}

/// The first value of `key` in a form's fields; empty when missing.
fn get_field<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// The text a refused form shows above itself: the message of invalid input
/// or of a conflict, as a sentence. Any other error is passed on (an error
/// page).
fn refusal(e: AppError) -> Result<String, ConsoleError> {
    match e {
        AppError::Invalid(m) | AppError::Conflict(m) => Ok(format!("{m}.")),
        other => Err(other.into()),
    }
}

/// `text` with its first letter in upper case.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The technician a session acts as.
fn technician(s: &SessionRecord) -> Technician {
    Technician {
        id: s.user.technician_id,
        name: s.user.technician_name.clone(),
    }
}

/// "School · Building · Room", skipping what is missing.
fn place_of(school: Option<&str>, building: Option<&str>, room: Option<&str>) -> String {
    [school, building, room.map(str::trim)]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The confirmation shown after a redirect with `?done=CODE`.
fn flash(done: &str) -> Option<String> {
    let text = match done {
        "assigned" => "Assignment saved; the teacher sees it.",
        "status" => "Status changed; the teacher sees it.",
        "reply" => "Reply sent to the teacher.",
        "note" => "Internal note added (the teacher does not see it).",
        "merged" => "Merged as a duplicate and closed.",
        "revoked" => "Device revoked: its secret no longer works and its queue pauses.",
        "allowed" => "Its computer may enroll again; the enrollment is listed with the tokens.",
        "user" => "User saved.",
        "token" => "Enrollment token revoked.",
        "api-token" => "API token revoked: its next request is refused.",
        "sla" => "SLA policy saved.",
        "article" => "Article saved. Tray apps get the change at their next sync.",
        "published" => "Article published. Tray apps get it at their next sync.",
        "unpublished" => "Article unpublished. Tray apps drop it at their next sync.",
        "announcement" => "Announcement posted. Tray apps show it at their next sync.",
        "linked" => "Tickets linked to this announcement.",
        "unlinked" => "Ticket unlinked.",
        "ended" => "Announcement ended.",
        "ended-resolved" => {
            "Announcement ended. Its linked tickets are resolved and every teacher got your message."
        }
        "retention" => "Retention policy saved.",
        "desk-enable" => "Desk enabled: what waited for it is sent.",
        "desk-disable" => "Desk disabled: new tickets stay here; what waits for it stays queued.",
        "desk-retry" => "Queued for the desk again.",
        "desk-skip" => "Kept in HandRaise: it is worked here, not in the desk.",
        _ => return None,
    };
    Some(text.to_owned())
}

/// What a page shows besides its data: the status of the answer, the
/// message of a refused form, or the confirmation asked for by `?done=CODE`
/// (as an extractor, the last).
#[derive(Debug, Default)]
struct Notice {
    status: StatusCode,
    error: Option<String>,
    flash: Option<String>,
}

impl Notice {
    /// A form shown again with why it was refused.
    fn refused(error: String) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: Some(error),
            flash: None,
        }
    }

    /// The signed-in page frame, with the confirmation if any.
    fn chrome(
        &mut self,
        title: impl Into<String>,
        s: &SessionRecord,
        active: &'static str,
    ) -> Chrome {
        Chrome::signed(title, s, active).with_flash(self.flash.take())
    }
}

#[derive(Debug, Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Notice {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let done = Query::<DoneQuery>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|Query(q)| q.done);
        Ok(Notice {
            flash: done.as_deref().and_then(flash),
            ..Notice::default()
        })
    }
}

async fn asset(Path(file): Path<String>) -> Response {
    let (ctype, body) = match file.as_str() {
        "console.css" => ("text/css; charset=utf-8", CSS),
        "console.js" => ("text/javascript; charset=utf-8", JS),
        _ => return ConsoleError(AppError::NotFound).into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "public, max-age=604800, immutable"),
        ],
        body,
    )
        .into_response()
}
