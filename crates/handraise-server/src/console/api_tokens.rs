//! The API tokens page: every user sees, makes and revokes their own
//! technician API tokens; an admin sees and revokes everyone's. The rules
//! are in [`crate::service::enrollment`].

use super::pages::{ApiTokenRow, ApiTokensPage, render};
use super::session::Signed;
use super::{Fields, Form, Notice, Number, Page, get_field, refusal, see_other, view};
use crate::service::enrollment::{self, DEFAULT_TECH_TOKEN_DAYS, TokenOwner};
use crate::state::AppState;
use crate::store::{Role, SessionRecord, now_utc};
use axum::extract::State;

/// Where the page lives.
pub(super) const PATH: &str = "/console/api-tokens";

/// The page; `created` is (expiry, token) of a token just made, shown once,
/// on this answer only.
async fn page(
    state: &AppState,
    s: &SessionRecord,
    mut n: Notice,
    created: Option<(String, String)>,
) -> Page {
    let actor = s.user.clone();
    let list = state
        .blocking(move |store| enrollment::list_tech_tokens(store, Some(&actor)))
        .await?;
    let tz = &state.config().timezone;
    let now = now_utc();
    let tokens = list
        .into_iter()
        .map(|t| ApiTokenRow {
            id: t.id,
            created: view::when(tz, t.created_at),
            last_used: t
                .last_used_at
                .map(|at| view::when(tz, at))
                .unwrap_or_else(|| "Never".into()),
            expires: t
                .expires_at
                .map(|at| view::when(tz, at))
                .unwrap_or_else(|| "Never".into()),
            state: if t.revoked {
                "Revoked"
            } else if t.expires_at.is_some_and(|at| at <= now) {
                "Expired"
            } else {
                "Active"
            },
            user_email: t.user_email,
        })
        .collect();
    let c = n.chrome("API tokens", s, "api-tokens");
    Ok(render(
        n.status,
        &ApiTokensPage {
            c,
            all: s.user.role == Role::Admin,
            tokens,
            created,
            error: n.error.take(),
            default_days: DEFAULT_TECH_TOKEN_DAYS,
        },
    ))
}

pub(super) async fn list(State(state): State<AppState>, Signed(s): Signed, n: Notice) -> Page {
    page(&state, &s, n, None).await
}

/// Makes a token of the signed-in user (with their role).
pub(super) async fn create(
    State(state): State<AppState>,
    Signed(s): Signed,
    n: Notice,
    Form(f): Form<Fields>,
) -> Page {
    let Ok(days) = get_field(&f, "days").trim().parse::<u32>() else {
        let n = Notice::refused("Enter the number of days the token lasts.".into());
        return page(&state, &s, n, None).await;
    };
    let email = s.user.email.clone();
    let made = state
        .blocking(move |store| {
            enrollment::create_tech_token(store, TokenOwner::Email(&email), Some(days), now_utc())
        })
        .await;
    match made {
        Ok(made) => {
            let expires = view::when(&state.config().timezone, made.of.expires_at);
            page(&state, &s, n, Some((expires, made.token))).await
        }
        Err(e) => page(&state, &s, Notice::refused(refusal(e)?), None).await,
    }
}

/// Revokes a token: the user's own, or anyone's for an admin.
pub(super) async fn revoke(
    State(state): State<AppState>,
    Signed(s): Signed,
    Number(id): Number,
) -> Page {
    let actor = s.user;
    state
        .blocking(move |store| enrollment::revoke_tech_token(store, Some(&actor), id, now_utc()))
        .await?;
    Ok(see_other(&format!("{PATH}?done=api-token")))
}
