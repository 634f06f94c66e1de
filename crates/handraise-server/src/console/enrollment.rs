//! Enrollment tokens and re-enrollments (admins only): the tokens with their age,
//! expiry, uses and bursts; the computers that enrolled again; allowing a revoked
//! computer back. The rules are in [`crate::service::enrollment`].

use super::pages::*;
use super::session::Admin;
use super::{Notice, Number, Page, capitalized, place_of, refusal, see_other, view};
use crate::error::AppError;
use crate::service::enrollment::{self, BURST_WINDOW, EnrollTokenInput, ReenrollTarget, TokenView};
use crate::state::AppState;
use crate::store::{SessionRecord, now_utc};
use crate::tz::Zone;
use axum::extract::{Path, State};
use handraise_wire::EnrollRefusal;
use serde::Deserialize;
use time::OffsetDateTime;

/// Re-enrollments the tokens page lists (the newest).
const REENROLLMENTS_SHOWN: usize = 50;

/// One token as its row shows it.
fn token_row(v: TokenView, zone: &Zone, now: OffsetDateTime) -> TokenRow {
    let t = v.token;
    let place = place_of(t.school.as_deref(), t.building.as_deref(), None);
    TokenRow {
        id: t.id,
        place: if place.is_empty() {
            "Any (as the device says)".into()
        } else {
            place
        },
        created: view::when(zone, t.created_at),
        age: view::span(now - t.created_at),
        expires: t
            .expires_at
            .map(|e| view::when(zone, e))
            .unwrap_or_else(|| "Never".into()),
        uses: match t.max_uses {
            Some(max) => format!("{} of {max}", t.uses),
            None => t.uses.to_string(),
        },
        last_used: t
            .last_used_at
            .map(|e| view::when(zone, e))
            .unwrap_or_else(|| "Never".into()),
        state: match v.refusal {
            None => "Active",
            Some(EnrollRefusal::TokenExpired) => "Expired",
            Some(EnrollRefusal::TokenUsedUp) => "Used up",
            Some(_) => "Revoked",
        },
        burst: v.busiest.filter(|b| b.is_burst()).map(|b| {
            format!(
                "Burst: {} computers enrolled with this token within {} minutes, from {}. \
                 If that was not a planned rollout, the token may have been shared: revoke it.",
                b.enrollments,
                BURST_WINDOW.whole_minutes(),
                view::when(zone, b.from)
            )
        }),
        label: t.label,
    }
}

/// The tokens page; `created` is (label, token) of a token just made, shown
/// once, on this answer only (no redirect, nothing stored in clear).
async fn tokens_page(
    state: &AppState,
    s: &SessionRecord,
    mut n: Notice,
    created: Option<(String, String)>,
) -> Page {
    let now = now_utc();
    let (list, again) = state
        .blocking(move |store| {
            Ok((
                enrollment::list_enroll_tokens(store, now)?,
                store.list_reenrollments(REENROLLMENTS_SHOWN)?,
            ))
        })
        .await?;
    let zone = &state.config().timezone;
    let tokens = list.into_iter().map(|v| token_row(v, zone, now)).collect();
    let reenrollments = again
        .into_iter()
        .map(|r| ReenrollmentRow {
            machine: r.machine_id.chars().take(12).collect(),
            previous: r.previous_hostname,
            previous_revoked: r.previous_revoked,
            device: r.hostname,
            when: view::when(zone, r.at),
            token: r.token_label.unwrap_or_default(),
        })
        .collect();
    let c = n.chrome("Enrollment tokens", s, "tokens");
    let page = TokensPage {
        c,
        tokens,
        created,
        error: n.error,
        reenrollments,
    };
    Ok(render(n.status, &page))
}

pub(super) async fn tokens(State(state): State<AppState>, Admin(s): Admin, n: Notice) -> Page {
    tokens_page(&state, &s, n, None).await
}

#[derive(Debug, Deserialize)]
pub(super) struct TokenForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    school: String,
    #[serde(default)]
    building: String,
    #[serde(default)]
    expires_days: String,
    #[serde(default)]
    max_uses: String,
}

/// A whole number typed into `what`; blank is none.
fn optional_number(what: &str, v: &str) -> Result<Option<u32>, AppError> {
    match v.trim() {
        "" => Ok(None),
        v => v
            .parse()
            .map(Some)
            .map_err(|_| AppError::Invalid(format!("{what} must be a whole number"))),
    }
}

pub(super) async fn create_token(
    State(state): State<AppState>,
    Admin(s): Admin,
    n: Notice,
    super::Form(f): super::Form<TokenForm>,
) -> Page {
    let created = state
        .blocking(move |store| {
            let input = EnrollTokenInput {
                label: &f.label,
                school: Some(&f.school),
                building: Some(&f.building),
                expires_days: optional_number("the days until it expires", &f.expires_days)?,
                expires_at: None,
                max_uses: optional_number("the most computers", &f.max_uses)?,
            };
            enrollment::create_enroll_token(store, &input, now_utc())
        })
        .await;
    match created {
        Ok(c) => tokens_page(&state, &s, n, Some((c.of.label, c.token))).await,
        Err(e) => {
            let refused = Notice::refused(capitalized(&refusal(e)?));
            tokens_page(&state, &s, refused, None).await
        }
    }
}

pub(super) async fn revoke_token(
    State(state): State<AppState>,
    _a: Admin,
    Number(id): Number,
) -> Page {
    state
        .blocking(move |store| enrollment::revoke_enroll_token(store, id, now_utc()))
        .await?;
    Ok(see_other("/console/admin/enroll-tokens?done=token"))
}

/// Allows the computer of a revoked device to enroll again.
pub(super) async fn allow_reenroll(
    State(state): State<AppState>,
    _a: Admin,
    Path(raw): Path<String>,
) -> Page {
    let id = uuid::Uuid::parse_str(&raw).map_err(|_| AppError::NotFound)?;
    state
        .blocking(move |store| {
            enrollment::allow_reenrollment(store, ReenrollTarget::Device(id), now_utc())
        })
        .await?;
    Ok(see_other("/console/devices?done=allowed"))
}
