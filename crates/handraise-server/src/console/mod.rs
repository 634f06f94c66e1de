//! The technician web console: server-rendered HTML under `/console/`.
//!
//! Every change goes through [`crate::service`], the same operations the
//! technician API uses, so the console and the API cannot drift apart. Pages
//! work without JavaScript (plain forms, POST then 303 redirect); the one
//! script (`assets/console.js`) only refreshes the queue in place. Sessions
//! and CSRF are in [`session`], templates and their data in [`pages`], the
//! queue order, SLA badges and device facts in [`view`].

mod desk;
pub mod pages;
pub mod password;
pub mod session;
pub mod view;

use crate::api::ClientIp;
use crate::auth::{hash_secret, new_secret};
use crate::store::{NewUser, Role, SessionRecord, SlaPolicy, TicketDetail, now_utc};
use crate::{AppError, AppState, service};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use handraise_wire::{self as wire, Category, SelfHelpOutcome, TicketStatus};
use pages::*;
use serde::Deserialize;
use session::{Admin, SESSION_COOKIE, SIGN_IN_PATH, SIGNIN_COOKIE, Signed};
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

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
        .route("/", get(home))
        .route("/console", get(home))
        .route("/console/", get(home))
        .route(SIGN_IN_PATH, get(sign_in_page).post(sign_in))
        .route("/console/sign-out", post(sign_out))
        .route(QUEUE_PATH, get(queue))
        .route("/console/tickets/{number}", get(ticket_page))
        .route("/console/tickets/{number}/screenshot", get(screenshot))
        .route("/console/tickets/{number}/assign", post(assign))
        .route("/console/tickets/{number}/status", post(set_status))
        .route("/console/tickets/{number}/reply", post(reply))
        .route("/console/tickets/{number}/note", post(note))
        .route("/console/tickets/{number}/merge", post(merge))
        .route("/console/devices", get(devices))
        .route("/console/devices/{id}/revoke", post(revoke_device))
        .route("/console/admin/users", get(users).post(add_user))
        .route("/console/admin/users/{id}/disable", post(disable_user))
        .route("/console/admin/users/{id}/enable", post(enable_user))
        .route(
            "/console/admin/enroll-tokens",
            get(tokens).post(create_token),
        )
        .route(
            "/console/admin/enroll-tokens/{id}/revoke",
            post(revoke_token),
        )
        .route("/console/admin/sla", get(sla).post(set_sla))
        .route("/console/dashboard", get(desk::dashboard))
        .route("/console/dashboard/tickets.csv", get(desk::tickets_csv))
        .route("/console/kb", get(desk::kb_list).post(desk::kb_create))
        .route("/console/kb/new", get(desk::kb_new))
        .route("/console/kb/preview", post(desk::kb_preview))
        .route("/console/kb/{slug}", get(desk::kb_edit).post(desk::kb_save))
        .route("/console/kb/{slug}/publish", post(desk::kb_publish))
        .route("/console/kb/{slug}/unpublish", post(desk::kb_unpublish))
        .route(
            "/console/announcements",
            get(desk::announcements).post(desk::create_announcement),
        )
        .route("/console/announcements/{id}", get(desk::announcement_page))
        .route("/console/announcements/{id}/link", post(desk::link_tickets))
        .route(
            "/console/announcements/{id}/unlink",
            post(desk::unlink_ticket),
        )
        .route(
            "/console/announcements/{id}/end",
            post(desk::end_announcement),
        )
        .route(
            "/console/admin/retention",
            get(desk::retention).post(desk::set_retention),
        )
        .route("/console/admin/retention/purge", post(desk::purge_now))
        .route("/console/assets/{file}", get(asset))
        .layer(middleware::from_fn_with_state(
            state,
            session::console_layer,
        ))
}

type Page = Result<Response, ConsoleError>;

/// Parses a urlencoded form body (the CSRF field was checked by the layer).
fn form<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ConsoleError> {
    serde_urlencoded::from_bytes(body)
        .map_err(|e| ConsoleError(AppError::BadRequest(format!("the form is not valid: {e}"))))
}

fn number(raw: &str) -> Result<i64, ConsoleError> {
    raw.parse().map_err(|_| ConsoleError(AppError::NotFound))
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// The confirmation shown after a redirect with `?done=CODE`.
fn flash(done: Option<&str>) -> Option<String> {
    let text = match done? {
        "assigned" => "Assignment saved; the teacher sees it.",
        "status" => "Status changed; the teacher sees it.",
        "reply" => "Reply sent to the teacher.",
        "note" => "Internal note added (the teacher does not see it).",
        "merged" => "Merged as a duplicate and closed.",
        "revoked" => "Device revoked: its secret no longer works and its queue pauses.",
        "user" => "User saved.",
        "token" => "Enrollment token revoked.",
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
        _ => return None,
    };
    Some(text.to_owned())
}

#[derive(Debug, Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
}

// ---- sign-in -------------------------------------------------------------

async fn home(session: Option<Signed>) -> Response {
    match session {
        Some(_) => see_other(QUEUE_PATH),
        None => see_other(SIGN_IN_PATH),
    }
}

/// The sign-in page with its double-submit CSRF cookie (set when missing).
fn sign_in_response(
    status: StatusCode,
    headers: &HeaderMap,
    uri: &Uri,
    email: String,
    error: Option<String>,
) -> Response {
    let existing = session::cookie(headers, SIGNIN_COOKIE);
    let token = existing.clone().unwrap_or_else(new_secret);
    let mut c = Chrome::anonymous("Sign in");
    c.csrf = token.clone();
    let mut response = render(status, &SignInPage { c, email, error });
    if existing.is_none() {
        let cookie = session::set_cookie(
            SIGNIN_COOKIE,
            &token,
            SIGN_IN_PATH,
            3600,
            session::is_https(headers, uri),
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

async fn sign_in_page(session: Option<Signed>, headers: HeaderMap, uri: Uri) -> Response {
    if session.is_some() {
        return see_other(QUEUE_PATH);
    }
    sign_in_response(StatusCode::OK, &headers, &uri, String::new(), None)
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Page {
    let f: SignInForm = form(&body)?;
    let email = f.email.trim().to_owned();
    let email_key = format!("email:{}", email.to_lowercase());
    let ip_key = format!("ip:{ip}");
    let limiter = state.signin_failures();
    let too_many = |wait: std::time::Duration| {
        let secs = crate::limits::retry_after_secs(wait);
        let mut r = sign_in_response(
            StatusCode::TOO_MANY_REQUESTS,
            &headers,
            &uri,
            email.clone(),
            Some(format!(
                "Too many failed sign-ins. Please wait {} before trying again.",
                wait_text(secs)
            )),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        r
    };
    let now = Instant::now();
    if let Some(wait) = limiter
        .blocked(&email_key, now)
        .max(limiter.blocked(&ip_key, now))
    {
        return Ok(too_many(wait));
    }
    let lookup = email.clone();
    let found = state.db(move |s| s.user_by_email(&lookup)).await?;
    let password = f.password;
    let user = tokio::task::spawn_blocking(move || match found {
        Some((user, hash)) if !user.disabled => {
            password::verify_password(&password, &hash).then_some(user)
        }
        _ => {
            // Same work for an unknown email as for a wrong password.
            let _ = password::verify_password(&password, password::dummy_hash());
            None
        }
    })
    .await
    .map_err(AppError::internal)?;
    let Some(user) = user else {
        let now = Instant::now();
        limiter.record(&email_key, now);
        limiter.record(&ip_key, now);
        tracing::info!(%ip, "failed console sign-in");
        return Ok(sign_in_response(
            StatusCode::UNAUTHORIZED,
            &headers,
            &uri,
            email,
            Some(
                "That email and password do not match an account. Check them and try again.".into(),
            ),
        ));
    };
    limiter.clear(&email_key);
    let token = new_secret();
    let csrf = new_secret();
    let hours = state.config().session_hours.max(1);
    let now = now_utc();
    let expires = now + time::Duration::hours(i64::from(hours));
    let (hash, user_id) = (hash_secret(&token), user.id);
    state
        .db(move |s| s.create_session(&hash, user_id, &csrf, now, expires))
        .await?;
    tracing::info!(user = %user.email, "console sign-in");
    let secure = session::is_https(&headers, &uri);
    let mut response = see_other(QUEUE_PATH);
    for cookie in [
        session::set_cookie(SESSION_COOKIE, &token, "/", u64::from(hours) * 3600, secure),
        session::set_cookie(SIGNIN_COOKIE, "", SIGN_IN_PATH, 0, secure),
    ] {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

async fn sign_out(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Page {
    if let Some(token) = session::cookie(&headers, SESSION_COOKIE) {
        let hash = hash_secret(&token);
        state
            .db(move |s| s.delete_session(&hash, now_utc()))
            .await?;
    }
    let mut response = see_other(SIGN_IN_PATH);
    let cookie = session::set_cookie(
        SESSION_COOKIE,
        "",
        "/",
        0,
        session::is_https(&headers, &uri),
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

// ---- queue ---------------------------------------------------------------

#[derive(Debug, Deserialize, Default)]
struct QueueQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    school: String,
    #[serde(default)]
    building: String,
    /// A technician's name, `-` for unassigned, empty for anyone.
    #[serde(default)]
    assignee: String,
}

fn impact_class(urgency: wire::Urgency, scope: wire::Scope) -> &'static str {
    match view::impact(urgency, scope) {
        6.. => "high",
        3..=5 => "medium",
        _ => "low",
    }
}

fn impact_text(urgency: wire::Urgency, scope: wire::Scope) -> String {
    let u = match urgency {
        wire::Urgency::Now => "Class stopped",
        wire::Urgency::Soon => "Soon",
        wire::Urgency::Whenever => "When possible",
    };
    let s = match scope {
        wire::Scope::Me => "one person",
        wire::Scope::Room => "a room",
        wire::Scope::Building => "a building",
        wire::Scope::District => "everyone",
    };
    format!("{u} · {s}")
}

fn place(d: &TicketDetail) -> String {
    place_of(
        d.school.as_deref(),
        d.building.as_deref(),
        d.ticket.room.as_deref(),
    )
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

async fn queue(
    State(state): State<AppState>,
    Signed(s): Signed,
    Query(q): Query<QueueQuery>,
) -> Page {
    let all = service::tickets::list(state.store(), None).await?;
    let policy = state.db(|s| s.sla_policy()).await?;
    let techs = state.db(|s| s.technicians()).await?;
    let now = now_utc();
    let status_filter: Option<TicketStatus> = q.status.parse().ok();
    let category: Option<Category> = q.category.parse().ok();
    let counts = TicketStatus::ALL
        .iter()
        .map(|st| StatusCount {
            value: st.as_str(),
            label: st.label(),
            count: all.iter().filter(|d| d.ticket.status == *st).count(),
            current: status_filter == Some(*st),
        })
        .collect();
    let schools: BTreeSet<String> = all.iter().filter_map(|d| d.school.clone()).collect();
    let buildings: BTreeSet<String> = all.iter().filter_map(|d| d.building.clone()).collect();
    let mut shown: Vec<TicketDetail> = all
        .into_iter()
        .filter(|d| {
            let t = &d.ticket;
            let status_ok = match (q.status.as_str(), status_filter) {
                ("all", _) => true,
                (_, Some(st)) => t.status == st,
                _ => view::is_open(t.status),
            };
            status_ok
                && category.is_none_or(|c| t.category == c)
                && (q.school.is_empty() || d.school.as_deref() == Some(q.school.as_str()))
                && (q.building.is_empty() || d.building.as_deref() == Some(q.building.as_str()))
                && match q.assignee.as_str() {
                    "" => true,
                    "-" => t.assignee.is_none(),
                    name => t.assignee.as_deref() == Some(name),
                }
        })
        .collect();
    view::sort_queue(&mut shown);
    let rows = shown
        .iter()
        .map(|d| {
            let t = &d.ticket;
            QueueRow {
                number: t.number,
                summary: t.summary.clone(),
                category: t.category.label(),
                impact: impact_text(t.urgency, t.scope),
                impact_class: impact_class(t.urgency, t.scope),
                place: place(d),
                status: t.status.as_str(),
                status_label: t.status.label(),
                assignee: t.assignee.clone(),
                age: view::span(now - t.received_at),
                received_iso: view::iso(t.received_at),
                due: view::due_badge(t, &policy, now),
            }
        })
        .collect();
    let mut statuses = vec![
        Opt::new("", "Open (not resolved or closed)", &q.status),
        Opt::new("all", "All", &q.status),
    ];
    statuses.extend(
        TicketStatus::ALL
            .iter()
            .map(|st| Opt::new(st.as_str(), st.label(), &q.status)),
    );
    let mut categories = vec![Opt::new("", "Any category", &q.category)];
    categories.extend(
        Category::ALL
            .iter()
            .map(|c| Opt::new(c.as_str(), c.label(), &q.category)),
    );
    let mut school_opts = vec![Opt::new("", "Any school", &q.school)];
    school_opts.extend(
        schools
            .iter()
            .map(|v| Opt::new(v.clone(), v.clone(), &q.school)),
    );
    let mut building_opts = vec![Opt::new("", "Any building", &q.building)];
    building_opts.extend(
        buildings
            .iter()
            .map(|v| Opt::new(v.clone(), v.clone(), &q.building)),
    );
    let mut assignees = vec![
        Opt::new("", "Anyone", &q.assignee),
        Opt::new("-", "Unassigned", &q.assignee),
    ];
    assignees.extend(techs.iter().map(|t| {
        let label = if t.name == s.user.technician_name {
            format!("{} (me)", t.name)
        } else {
            t.name.clone()
        };
        Opt::new(t.name.clone(), label, &q.assignee)
    }));
    let filtered = !(q.status.is_empty()
        && q.category.is_empty()
        && q.school.is_empty()
        && q.building.is_empty()
        && q.assignee.is_empty());
    Ok(render(
        StatusCode::OK,
        &QueuePage {
            c: Chrome::signed("Queue", &s, "queue"),
            rows,
            counts,
            statuses,
            categories,
            schools: school_opts,
            buildings: building_opts,
            assignees,
            filtered,
            updated: view::when(now),
        },
    ))
}

// ---- ticket --------------------------------------------------------------

async fn ticket_page(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(raw): Path<String>,
    Query(done): Query<DoneQuery>,
) -> Page {
    let n = number(&raw)?;
    let detail = service::tickets::get(state.store(), n).await?;
    let policy = state.db(|s| s.sla_policy()).await?;
    let techs = state.db(|s| s.technicians()).await?;
    let (_, articles) = state.db(|s| s.kb_changes(0)).await?;
    let titles: HashMap<String, String> = articles.into_iter().map(|a| (a.slug, a.title)).collect();
    // The same conversion the technician API answers with.
    let w = crate::api::tech_ticket(&detail);
    let now = now_utc();
    let snapshot = w
        .snapshot
        .as_ref()
        .map(|snap| view::snapshot_view(snap, w.offline_at_submit));
    let mut warnings = snapshot
        .as_ref()
        .map(|v| v.warnings.clone())
        .unwrap_or_default();
    if snapshot.is_none() && w.offline_at_submit {
        warnings.push("The computer was offline when the teacher submitted the ticket".into());
    }
    let reporter = w.reporter.clone().unwrap_or_default();
    let t = TicketView {
        number: w.number,
        summary: w.summary.clone(),
        details: w.details.clone(),
        status: w.status.as_str(),
        status_label: w.status.label(),
        category: w.category.label(),
        urgency: w.urgency.label(),
        scope: w.scope.label(),
        impact_class: impact_class(w.urgency, w.scope),
        reporter: reporter.display_name.clone(),
        reporter_email: reporter.email.clone(),
        os_user: reporter.os_user.clone(),
        room: w.room.clone(),
        school: w.school.clone(),
        building: w.building.clone(),
        device: w.device_hostname.clone(),
        assignee: w.assignee.clone(),
        created: view::when(w.created_at),
        received: view::when(w.received_at),
        due: view::due_badge(&detail.ticket, &policy, now),
        has_screenshot: w.has_screenshot,
        merged_into: detail.merged_into,
    };
    let messages = w
        .messages
        .iter()
        .map(|m| {
            let (kind, kind_label) = match m.kind.as_str() {
                "teacher" => ("teacher", "Teacher"),
                "technician" => ("technician", "Reply to teacher"),
                _ => ("note", "Internal note"),
            };
            let author = m.author.clone().unwrap_or_else(|| match kind {
                "teacher" => reporter
                    .display_name
                    .clone()
                    .unwrap_or_else(|| "Teacher".into()),
                _ => "Technician".into(),
            });
            MessageView {
                kind,
                kind_label,
                author,
                body: m.body.clone(),
                at: view::when(m.at),
                iso: view::iso(m.at),
            }
        })
        .collect();
    let self_help = w
        .self_help
        .iter()
        .map(|a| SelfHelpView {
            title: titles
                .get(&a.article_slug)
                .cloned()
                .unwrap_or_else(|| a.article_slug.clone()),
            slug: a.article_slug.clone(),
            outcome: match a.outcome {
                SelfHelpOutcome::StillBroken => "Tried it; still broken",
                SelfHelpOutcome::Shown => "Shown, not marked as tried",
            },
        })
        .collect();
    let status_now = w.status.as_str();
    let statuses = TicketStatus::ALL
        .iter()
        .map(|st| Opt::new(st.as_str(), st.label(), status_now))
        .collect();
    let assignee_now = w.assignee.clone().unwrap_or_default();
    let mut technicians = vec![Opt::new("", "Nobody (unassign)", &assignee_now)];
    technicians.extend(
        techs
            .iter()
            .map(|t| Opt::new(t.name.clone(), t.name.clone(), &assignee_now)),
    );
    let me = s.user.technician_name.clone();
    Ok(render(
        StatusCode::OK,
        &TicketPage {
            c: Chrome::signed(format!("#{} {}", w.number, w.summary), &s, "queue")
                .with_flash(flash(done.done.as_deref())),
            assigned_to_me: w.assignee.as_deref() == Some(me.as_str()),
            t,
            snapshot,
            warnings,
            self_help,
            messages,
            statuses,
            technicians,
            me,
        },
    ))
}

async fn screenshot(State(state): State<AppState>, _s: Signed, Path(raw): Path<String>) -> Page {
    let n = number(&raw)?;
    let (ctype, bytes) = state
        .db(move |s| s.screenshot(n))
        .await?
        .ok_or(AppError::NotFound)?;
    // Only PNG and JPEG are stored (checked against magic bytes on upload).
    let ctype = if ctype == "image/jpeg" {
        "image/jpeg"
    } else {
        "image/png"
    };
    Ok((
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        bytes,
    )
        .into_response())
}

fn back_to(n: i64, done: &str) -> Response {
    see_other(&format!("/console/tickets/{n}?done={done}"))
}

#[derive(Debug, Deserialize)]
struct AssignForm {
    #[serde(default)]
    assignee: String,
}

async fn assign(
    State(state): State<AppState>,
    _s: Signed,
    Path(raw): Path<String>,
    body: Bytes,
) -> Page {
    let n = number(&raw)?;
    let f: AssignForm = form(&body)?;
    service::tickets::assign(state.store(), state.feed(), n, Some(&f.assignee), now_utc()).await?;
    Ok(back_to(n, "assigned"))
}

#[derive(Debug, Deserialize)]
struct StatusForm {
    status: String,
}

async fn set_status(
    State(state): State<AppState>,
    _s: Signed,
    Path(raw): Path<String>,
    body: Bytes,
) -> Page {
    let n = number(&raw)?;
    let f: StatusForm = form(&body)?;
    let status: TicketStatus = f
        .status
        .parse()
        .map_err(|e: wire::ParseChoiceError| AppError::Invalid(e.to_string()))?;
    service::tickets::set_status(state.store(), state.feed(), n, status, now_utc()).await?;
    Ok(back_to(n, "status"))
}

#[derive(Debug, Deserialize)]
struct MessageForm {
    #[serde(default)]
    body: String,
}

fn technician(s: &SessionRecord) -> crate::store::Technician {
    crate::store::Technician {
        id: s.user.technician_id,
        name: s.user.technician_name.clone(),
    }
}

async fn reply(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(raw): Path<String>,
    body: Bytes,
) -> Page {
    let n = number(&raw)?;
    let f: MessageForm = form(&body)?;
    service::tickets::reply(
        state.store(),
        state.feed(),
        &technician(&s),
        n,
        &f.body,
        now_utc(),
    )
    .await?;
    Ok(back_to(n, "reply"))
}

async fn note(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(raw): Path<String>,
    body: Bytes,
) -> Page {
    let n = number(&raw)?;
    let f: MessageForm = form(&body)?;
    service::tickets::note(state.store(), &technician(&s), n, &f.body, now_utc()).await?;
    Ok(back_to(n, "note"))
}

#[derive(Debug, Deserialize)]
struct MergeForm {
    #[serde(default)]
    into: String,
}

async fn merge(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(raw): Path<String>,
    body: Bytes,
) -> Page {
    let n = number(&raw)?;
    let f: MergeForm = form(&body)?;
    let into: i64 = f.into.trim().trim_start_matches('#').parse().map_err(|_| {
        AppError::Invalid("enter the number of the ticket to merge into, like 42".into())
    })?;
    service::tickets::merge(
        state.store(),
        state.feed(),
        &technician(&s),
        (n, into),
        now_utc(),
    )
    .await?;
    Ok(back_to(n, "merged"))
}

// ---- devices -------------------------------------------------------------

async fn devices(
    State(state): State<AppState>,
    Signed(s): Signed,
    Query(done): Query<DoneQuery>,
) -> Page {
    let list = state.db(|s| s.list_devices()).await?;
    let rows = list
        .into_iter()
        .map(|d| DeviceRow {
            id: d.device.id.to_string(),
            hostname: d.device.hostname,
            last_seen: d
                .device
                .last_seen_at
                .map(view::when)
                .unwrap_or_else(|| "Never".into()),
            os: d.device.os.unwrap_or_default(),
            model: d.device.model.unwrap_or_default(),
            school: [d.device.school, d.device.building]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
            open_tickets: d.open_tickets,
            revoked: d.device.revoked,
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &DevicesPage {
            is_admin: s.user.role == Role::Admin,
            c: Chrome::signed("Devices", &s, "devices").with_flash(flash(done.done.as_deref())),
            rows,
        },
    ))
}

async fn revoke_device(State(state): State<AppState>, _a: Admin, Path(raw): Path<String>) -> Page {
    let id = uuid::Uuid::parse_str(&raw).map_err(|_| AppError::NotFound)?;
    service::devices::revoke(state.store(), id, now_utc()).await?;
    state.forget_device(id);
    Ok(see_other("/console/devices?done=revoked"))
}

// ---- admin: users ----------------------------------------------------------

async fn users_page(
    state: &AppState,
    s: &SessionRecord,
    status: StatusCode,
    error: Option<String>,
    done: Option<&str>,
) -> Page {
    let list = state.db(|s| s.list_users()).await?;
    let users = list
        .into_iter()
        .map(|u| UserRow {
            is_me: u.id == s.user.id,
            id: u.id,
            email: u.email,
            name: u.technician_name,
            role: u.role.as_str(),
            disabled: u.disabled,
        })
        .collect();
    Ok(render(
        status,
        &UsersPage {
            c: Chrome::signed("Users", s, "users").with_flash(flash(done)),
            users,
            error,
        },
    ))
}

async fn users(
    State(state): State<AppState>,
    Admin(s): Admin,
    Query(done): Query<DoneQuery>,
) -> Page {
    users_page(&state, &s, StatusCode::OK, None, done.done.as_deref()).await
}

#[derive(Debug, Deserialize)]
struct UserForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

/// Checks and creates a user (shared by the CLI and the admin page).
pub async fn create_user(
    state: &AppState,
    email: &str,
    name: Option<&str>,
    role: Role,
    password: String,
) -> Result<crate::store::UserRecord, AppError> {
    let user = new_user(email, name, role, password).await?;
    state.db(move |s| s.create_user(&user, now_utc())).await
}

/// Validates and hashes; the technician name defaults to the email.
pub async fn new_user(
    email: &str,
    name: Option<&str>,
    role: Role,
    password: String,
) -> Result<NewUser, AppError> {
    let email = email.trim().to_owned();
    if email.len() > 254 || !email.contains('@') || email.chars().any(char::is_whitespace) {
        return Err(AppError::Invalid("enter a valid email address".into()));
    }
    let technician_name =
        service::text::optional_text("name", name, 100)?.unwrap_or_else(|| email.clone());
    let password_hash = tokio::task::spawn_blocking(move || password::hash_password(&password))
        .await
        .map_err(AppError::internal)?
        .map_err(|e| match e {
            password::PasswordError::Hash(m) => AppError::internal(m),
            other => AppError::Invalid(other.to_string()),
        })?;
    Ok(NewUser {
        email,
        role,
        password_hash,
        technician_name,
    })
}

async fn add_user(State(state): State<AppState>, Admin(s): Admin, body: Bytes) -> Page {
    let f: UserForm = form(&body)?;
    let Some(role) = Role::parse(&f.role) else {
        return users_page(
            &state,
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Choose a role.".into()),
            None,
        )
        .await;
    };
    match create_user(&state, &f.email, Some(&f.name), role, f.password).await {
        Ok(_) => Ok(see_other("/console/admin/users?done=user")),
        Err(AppError::Invalid(m) | AppError::Conflict(m)) => {
            users_page(
                &state,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(format!("{m}.")),
                None,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn set_disabled(state: &AppState, s: &SessionRecord, raw: &str, disabled: bool) -> Page {
    let id: i64 = raw.parse().map_err(|_| AppError::NotFound)?;
    if id == s.user.id && disabled {
        return Err(AppError::Invalid("you cannot disable your own account".into()).into());
    }
    state
        .db(move |s| s.set_user_disabled(id, disabled, now_utc()))
        .await?;
    Ok(see_other("/console/admin/users?done=user"))
}

async fn disable_user(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(raw): Path<String>,
) -> Page {
    set_disabled(&state, &s, &raw, true).await
}

async fn enable_user(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(raw): Path<String>,
) -> Page {
    set_disabled(&state, &s, &raw, false).await
}

// ---- admin: enrollment tokens ------------------------------------------------

async fn tokens_page(
    state: &AppState,
    s: &SessionRecord,
    created: Option<(String, String)>,
    done: Option<&str>,
) -> Page {
    let list = state.db(|s| s.list_enroll_tokens()).await?;
    let tokens = list
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            label: t.label,
            created: view::when(t.created_at),
            revoked: t.revoked,
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &TokensPage {
            c: Chrome::signed("Enrollment tokens", s, "tokens").with_flash(flash(done)),
            tokens,
            created,
        },
    ))
}

async fn tokens(
    State(state): State<AppState>,
    Admin(s): Admin,
    Query(done): Query<DoneQuery>,
) -> Page {
    tokens_page(&state, &s, None, done.done.as_deref()).await
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    #[serde(default)]
    label: String,
}

async fn create_token(State(state): State<AppState>, Admin(s): Admin, body: Bytes) -> Page {
    let f: TokenForm = form(&body)?;
    let label = service::text::required_text("the label", &f.label, 200)?;
    let token = new_secret();
    let (hash, l) = (hash_secret(&token), label.clone());
    state
        .db(move |s| s.create_enroll_token(&hash, &l, now_utc()))
        .await?;
    // Shown once, on this answer only (no redirect, nothing stored in clear).
    tokens_page(&state, &s, Some((label, token)), None).await
}

async fn revoke_token(State(state): State<AppState>, _a: Admin, Path(raw): Path<String>) -> Page {
    let id: i64 = raw.parse().map_err(|_| AppError::NotFound)?;
    state
        .db(move |s| s.revoke_enroll_token(id, now_utc()))
        .await?;
    Ok(see_other("/console/admin/enroll-tokens?done=token"))
}

// ---- admin: SLA ------------------------------------------------------------

async fn sla(
    State(state): State<AppState>,
    Admin(s): Admin,
    Query(done): Query<DoneQuery>,
) -> Page {
    let policy = state.db(|s| s.sla_policy()).await?;
    Ok(render(
        StatusCode::OK,
        &SlaPage {
            c: Chrome::signed("SLA policy", &s, "sla").with_flash(flash(done.done.as_deref())),
            policy,
            error: None,
        },
    ))
}

#[derive(Debug, Deserialize)]
struct SlaForm {
    class_stopping_hours: String,
    wide_hours: String,
    room_hours: String,
    individual_hours: String,
}

async fn set_sla(State(state): State<AppState>, Admin(s): Admin, body: Bytes) -> Page {
    let f: SlaForm = form(&body)?;
    let parse = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|h| (1..=720).contains(h))
    };
    let policy = match (
        parse(&f.class_stopping_hours),
        parse(&f.wide_hours),
        parse(&f.room_hours),
        parse(&f.individual_hours),
    ) {
        (Some(a), Some(b), Some(c), Some(d)) => SlaPolicy {
            class_stopping_hours: a,
            wide_hours: b,
            room_hours: c,
            individual_hours: d,
        },
        _ => {
            let policy = state.db(|s| s.sla_policy()).await?;
            return Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &SlaPage {
                    c: Chrome::signed("SLA policy", &s, "sla"),
                    policy,
                    error: Some("Each value must be a whole number of hours from 1 to 720.".into()),
                },
            ));
        }
    };
    state.db(move |s| s.set_sla_policy(&policy)).await?;
    Ok(see_other("/console/admin/sla?done=sla"))
}

// ---- assets ----------------------------------------------------------------

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
