//! The admin pages: devices (revoking is for admins), users, enrollment
//! tokens, the SLA policy and data retention. The rules are in
//! [`crate::service`]; these pages only show them.

use super::pages::*;
use super::session::{Admin, Signed};
use super::{Done, Page, capitalized, form, get_field, pairs, place_of, refusal, see_other, view};
use crate::error::AppError;
use crate::service::accounts::{self, UserInput};
use crate::service::{self, enrollment, settings};
use crate::state::AppState;
use crate::store::{Role, SessionRecord, SlaPolicy, now_utc};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

pub(super) async fn devices(State(state): State<AppState>, Signed(s): Signed, done: Done) -> Page {
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
            school: place_of(
                d.device.school.as_deref(),
                d.device.building.as_deref(),
                None,
            ),
            open_tickets: d.open_tickets,
            revoked: d.device.revoked,
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &DevicesPage {
            is_admin: s.user.role == Role::Admin,
            c: Chrome::signed("Devices", &s, "devices").with_flash(done.0),
            rows,
        },
    ))
}

pub(super) async fn revoke_device(
    State(state): State<AppState>,
    _a: Admin,
    Path(raw): Path<String>,
) -> Page {
    let id = uuid::Uuid::parse_str(&raw).map_err(|_| AppError::NotFound)?;
    service::revoke_device(&state, id).await?;
    Ok(see_other("/console/devices?done=revoked"))
}

// ---- users ------------------------------------------------------------------

async fn users_page(
    state: &AppState,
    s: &SessionRecord,
    status: StatusCode,
    error: Option<String>,
    flash: Option<String>,
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
    let c = Chrome::signed("Users", s, "users").with_flash(flash);
    Ok(render(status, &UsersPage { c, users, error }))
}

pub(super) async fn users(State(state): State<AppState>, Admin(s): Admin, done: Done) -> Page {
    users_page(&state, &s, StatusCode::OK, None, done.0).await
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

pub(super) async fn add_user(State(state): State<AppState>, Admin(s): Admin, body: Bytes) -> Page {
    let f: UserForm = form(&body)?;
    let refused = match Role::parse(&f.role) {
        None => "Choose a role.".to_owned(),
        Some(role) => {
            let created = state
                .blocking(move |store| {
                    let input = UserInput {
                        email: &f.email,
                        name: Some(&f.name),
                        role,
                        password: &f.password,
                    };
                    accounts::create_user(store, &input, now_utc())
                })
                .await;
            match created {
                Ok(_) => return Ok(see_other("/console/admin/users?done=user")),
                Err(e) => refusal(e)?,
            }
        }
    };
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    users_page(&state, &s, status, Some(refused), None).await
}

async fn set_disabled(state: &AppState, s: SessionRecord, raw: &str, disabled: bool) -> Page {
    let id: i64 = raw.parse().map_err(|_| AppError::NotFound)?;
    state
        .blocking(move |store| accounts::set_user_disabled(store, &s.user, id, disabled, now_utc()))
        .await?;
    Ok(see_other("/console/admin/users?done=user"))
}

pub(super) async fn disable_user(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(raw): Path<String>,
) -> Page {
    set_disabled(&state, s, &raw, true).await
}

pub(super) async fn enable_user(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(raw): Path<String>,
) -> Page {
    set_disabled(&state, s, &raw, false).await
}

// ---- enrollment tokens ----------------------------------------------------------

async fn tokens_page(
    state: &AppState,
    s: &SessionRecord,
    created: Option<(String, String)>,
    flash: Option<String>,
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
    let c = Chrome::signed("Enrollment tokens", s, "tokens").with_flash(flash);
    let page = TokensPage { c, tokens, created };
    Ok(render(StatusCode::OK, &page))
}

pub(super) async fn tokens(State(state): State<AppState>, Admin(s): Admin, done: Done) -> Page {
    tokens_page(&state, &s, None, done.0).await
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    #[serde(default)]
    label: String,
}

pub(super) async fn create_token(
    State(state): State<AppState>,
    Admin(s): Admin,
    body: Bytes,
) -> Page {
    let f: TokenForm = form(&body)?;
    let created = state
        .blocking(move |store| enrollment::create_enroll_token(store, &f.label, now_utc()))
        .await?;
    // Shown once, on this answer only (no redirect, nothing stored in clear).
    tokens_page(&state, &s, Some((created.of, created.token)), None).await
}

pub(super) async fn revoke_token(
    State(state): State<AppState>,
    _a: Admin,
    Path(raw): Path<String>,
) -> Page {
    let id: i64 = raw.parse().map_err(|_| AppError::NotFound)?;
    state
        .blocking(move |store| enrollment::revoke_enroll_token(store, id, now_utc()))
        .await?;
    Ok(see_other("/console/admin/enroll-tokens?done=token"))
}

// ---- SLA policy --------------------------------------------------------------------

async fn sla_page(
    state: &AppState,
    s: &SessionRecord,
    status: StatusCode,
    error: Option<String>,
    flash: Option<String>,
) -> Page {
    let policy = state.db(|s| s.sla_policy()).await?;
    let c = Chrome::signed("SLA policy", s, "sla").with_flash(flash);
    Ok(render(status, &SlaPage { c, policy, error }))
}

pub(super) async fn sla(State(state): State<AppState>, Admin(s): Admin, done: Done) -> Page {
    sla_page(&state, &s, StatusCode::OK, None, done.0).await
}

#[derive(Debug, Deserialize)]
struct SlaForm {
    class_stopping_hours: String,
    wide_hours: String,
    room_hours: String,
    individual_hours: String,
}

/// Hours as typed; what is not a whole number becomes 0, which the policy
/// check refuses with the same message as any other value out of range.
fn hours(v: &str) -> u32 {
    v.trim().parse().unwrap_or(0)
}

pub(super) async fn set_sla(State(state): State<AppState>, Admin(s): Admin, body: Bytes) -> Page {
    let f: SlaForm = form(&body)?;
    let policy = SlaPolicy {
        class_stopping_hours: hours(&f.class_stopping_hours),
        wide_hours: hours(&f.wide_hours),
        room_hours: hours(&f.room_hours),
        individual_hours: hours(&f.individual_hours),
    };
    match state
        .blocking(move |store| settings::set_sla_policy(store, &policy))
        .await
    {
        Ok(()) => Ok(see_other("/console/admin/sla?done=sla")),
        Err(e) => {
            let error = Some(capitalized(&refusal(e)?));
            sla_page(&state, &s, StatusCode::UNPROCESSABLE_ENTITY, error, None).await
        }
    }
}

// ---- data retention ------------------------------------------------------------------

async fn retention_page(
    state: &AppState,
    s: &SessionRecord,
    status: StatusCode,
    error: Option<String>,
    flash: Option<String>,
) -> Page {
    let days = state.db(|s| s.retention_days()).await?;
    let c = Chrome::signed("Data retention", s, "retention").with_flash(flash);
    let purged = None;
    Ok(render(
        status,
        &RetentionPage {
            c,
            days,
            error,
            purged,
        },
    ))
}

pub(super) async fn retention(State(state): State<AppState>, Admin(s): Admin, done: Done) -> Page {
    retention_page(&state, &s, StatusCode::OK, None, done.0).await
}

pub(super) async fn set_retention(
    State(state): State<AppState>,
    Admin(s): Admin,
    body: Bytes,
) -> Page {
    let p = pairs(&body)?;
    // What is not a whole number becomes 0, refused as out of range.
    let days = get_field(&p, "days").trim().parse::<u32>().unwrap_or(0);
    match service::set_retention_days(&state, days).await {
        Ok(()) => Ok(see_other("/console/admin/retention?done=retention")),
        Err(e) => {
            let error = Some(capitalized(&refusal(e)?));
            retention_page(&state, &s, StatusCode::UNPROCESSABLE_ENTITY, error, None).await
        }
    }
}

pub(super) async fn purge_now(State(state): State<AppState>, Admin(s): Admin) -> Page {
    let (days, report) = state.db(|s| service::purge(s, now_utc())).await?;
    tracing::info!(
        tickets = report.tickets.len(),
        "retention policy applied from the console"
    );
    let purged = Some(format!(
        "Removed {} screenshot(s) and {} device snapshot(s) from {} ticket(s).",
        report.screenshots,
        report.snapshots,
        report.tickets.len()
    ));
    let c = Chrome::signed("Data retention", &s, "retention");
    let error = None;
    Ok(render(
        StatusCode::OK,
        &RetentionPage {
            c,
            days,
            error,
            purged,
        },
    ))
}
