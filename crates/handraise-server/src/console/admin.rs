//! The admin pages: devices (revoking is for admins), users, the SLA policy
//! and data retention (enrollment tokens are in `enrollment`). The rules are in
//! [`crate::service`]; these pages only show them.

use super::pages::*;
use super::session::{Admin, Signed};
use super::{
    Action, Fields, Form, Notice, Page, capitalized, get_field, place_of, refusal, see_other, view,
};
use crate::error::AppError;
use crate::service::accounts::{self, UserInput};
use crate::service::{self, settings};
use crate::state::AppState;
use crate::store::{Role, SessionRecord, SlaPolicy, now_utc};
use axum::extract::{Path, State};
use serde::Deserialize;

pub(super) async fn devices(
    State(state): State<AppState>,
    Signed(s): Signed,
    mut n: Notice,
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
                .map(|t| view::when(&state.config().timezone, t))
                .unwrap_or_else(|| "Never".into()),
            os: d.device.os.unwrap_or_default(),
            model: d.device.model.unwrap_or_default(),
            school: place_of(
                d.device.school.as_deref(),
                d.device.building.as_deref(),
                None,
            ),
            open_tickets: d.open_tickets,
            held_back: d.device.revoked
                && d.device.machine_id.is_some()
                && !d.device.reenroll_allowed,
            allowed_back: d.device.revoked && d.device.reenroll_allowed,
            revoked: d.device.revoked,
        })
        .collect();
    Ok(render(
        n.status,
        &DevicesPage {
            is_admin: s.user.role == Role::Admin,
            c: n.chrome("Devices", &s, "devices"),
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
    state.revoke_device(id).await?;
    Ok(see_other("/console/devices?done=revoked"))
}

// ---- users ------------------------------------------------------------------

pub(super) async fn users(State(state): State<AppState>, Admin(s): Admin, mut n: Notice) -> Page {
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
    let c = n.chrome("Users", &s, "users");
    Ok(render(
        n.status,
        &UsersPage {
            c,
            users,
            error: n.error,
        },
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct UserForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

pub(super) async fn add_user(
    State(state): State<AppState>,
    admin: Admin,
    Form(f): Form<UserForm>,
) -> Page {
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
    users(State(state), admin, Notice::refused(refused)).await
}

/// Disables (`disable`) or enables (`enable`) a user, as the last segment
/// of the form's address says.
pub(super) async fn set_user(
    State(state): State<AppState>,
    Admin(s): Admin,
    Action(id, action): Action,
) -> Page {
    let disabled = match action.as_str() {
        "disable" => true,
        "enable" => false,
        _ => return Err(AppError::NotFound.into()),
    };
    state
        .blocking(move |store| accounts::set_user_disabled(store, &s.user, id, disabled, now_utc()))
        .await?;
    Ok(see_other("/console/admin/users?done=user"))
}

// ---- SLA policy --------------------------------------------------------------------

pub(super) async fn sla(State(state): State<AppState>, Admin(s): Admin, mut n: Notice) -> Page {
    let policy = state.db(|s| s.sla_policy()).await?;
    let c = n.chrome("SLA policy", &s, "sla");
    Ok(render(
        n.status,
        &SlaPage {
            c,
            policy,
            error: n.error,
        },
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct SlaForm {
    class_stopping_hours: String,
    wide_hours: String,
    room_hours: String,
    individual_hours: String,
}

/// A whole number as typed; anything else becomes 0, which every range
/// check refuses with the same message as any other value out of range.
fn whole(v: &str) -> u32 {
    v.trim().parse().unwrap_or(0)
}

/// A refused admin setting, its message as a sentence.
fn refused_setting(e: AppError) -> Result<Notice, ConsoleError> {
    Ok(Notice::refused(capitalized(&refusal(e)?)))
}

pub(super) async fn set_sla(
    State(state): State<AppState>,
    admin: Admin,
    Form(f): Form<SlaForm>,
) -> Page {
    let policy = SlaPolicy {
        class_stopping_hours: whole(&f.class_stopping_hours),
        wide_hours: whole(&f.wide_hours),
        room_hours: whole(&f.room_hours),
        individual_hours: whole(&f.individual_hours),
    };
    let saved = state
        .blocking(move |store| settings::set_sla_policy(store, &policy))
        .await;
    match saved {
        Ok(()) => Ok(see_other("/console/admin/sla?done=sla")),
        Err(e) => sla(State(state), admin, refused_setting(e)?).await,
    }
}

// ---- data retention ------------------------------------------------------------------

/// The retention page; `purged` reports a purge just run from it.
async fn retention_page(
    state: &AppState,
    s: &SessionRecord,
    mut n: Notice,
    purged: Option<String>,
) -> Page {
    let days = state.db(|s| s.retention_days()).await?;
    let c = n.chrome("Data retention", s, "retention");
    let page = RetentionPage {
        c,
        days,
        error: n.error,
        purged,
    };
    Ok(render(n.status, &page))
}

pub(super) async fn retention(State(state): State<AppState>, Admin(s): Admin, n: Notice) -> Page {
    retention_page(&state, &s, n, None).await
}

pub(super) async fn set_retention(
    State(state): State<AppState>,
    Admin(s): Admin,
    Form(p): Form<Fields>,
) -> Page {
    let days = whole(get_field(&p, "days"));
    match service::retention::set_days(state.store(), days).await {
        Ok(()) => Ok(see_other("/console/admin/retention?done=retention")),
        Err(e) => retention_page(&state, &s, refused_setting(e)?, None).await,
    }
}

pub(super) async fn purge_now(State(state): State<AppState>, Admin(s): Admin) -> Page {
    let (_, report) = state.db(|s| service::purge(s, now_utc())).await?;
    tracing::info!(
        tickets = report.tickets.len(),
        "retention policy applied from the console"
    );
    let purged = format!(
        "Removed {} screenshot(s) and {} device snapshot(s) from {} ticket(s).",
        report.screenshots,
        report.snapshots,
        report.tickets.len()
    );
    retention_page(&state, &s, Notice::default(), Some(purged)).await
}
