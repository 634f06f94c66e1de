//! The admin page of the help desks tickets are forwarded to (and webhooks):
//! each desk's kind, state, queue depth, oldest waiting item, sent and
//! failed counts, last success and last error in plain words; the items
//! waiting or refused, with "Retry" and "Skip (keep it in HandRaise)" (the
//! service functions `desk retry` and `desk skip` call); enable and disable.

use super::pages::{Chrome, render};
use super::session::Admin;
use super::{Action, Notice, Page, see_other, view};
use crate::error::AppError;
use crate::service::{desks, hooks};
use crate::state::AppState;
use crate::store::{DeskKind, ForwardState, now_utc};
use askama::Template;
use axum::extract::State;

pub(super) const PATH: &str = "/console/admin/desks";
/// Items listed per desk.
const ITEMS: usize = 50;

/// One item of a desk's outbox, as the page lists it.
pub struct ItemRow {
    /// Where the Retry and Skip forms post (`.../tickets/N` or `.../events/N`).
    pub action: String,
    pub what: String,
    /// A webhook's event (skipping drops it) rather than a ticket or message.
    pub event: bool,
    pub failed: bool,
    pub attempts: u32,
    pub next_try: String,
    pub error: String,
}

pub struct DeskRow {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub url: String,
    pub enabled: bool,
    pub is_default: bool,
    pub queued: i64,
    pub oldest: String,
    pub sent: i64,
    pub failed: i64,
    pub last_success: String,
    pub last_error: String,
    pub items: Vec<ItemRow>,
}

#[derive(Template)]
#[template(path = "helpdesks.html")]
pub struct DesksPage {
    pub c: Chrome,
    pub desks: Vec<DeskRow>,
}

/// A desk's error as an admin reads it: what it means, then the desk's words.
pub fn plain_error(e: &str) -> String {
    let status = |code: &str| e.contains(&format!("answered {code}"));
    let meaning = if e.contains("could not be reached") {
        "The desk could not be reached: check that it is running and that its address is right."
    } else if e.contains("did not answer") {
        "The desk did not answer in time; HandRaise tries again."
    } else if status("401") || status("403") {
        "The desk refused HandRaise's token or key: check the secret and its rights."
    } else if status("404") {
        "The desk does not know this address or queue: check the desk's settings."
    } else if status("429") {
        "The desk asked HandRaise to slow down; it waits as long as the desk asked."
    } else if ["500", "502", "503", "504"].iter().any(|c| status(c)) {
        "The desk had a problem of its own; HandRaise tries again."
    } else if ["400", "413", "422"].iter().any(|c| status(c)) {
        "The desk refused this item; retry it once the desk's settings are fixed, or keep it in HandRaise."
    } else {
        "The desk's answer could not be used; HandRaise tries again."
    };
    format!("{meaning} ({e})")
}

pub(super) async fn page(State(state): State<AppState>, Admin(s): Admin, mut n: Notice) -> Page {
    let zone = state.config().timezone.clone();
    let rows = state
        .blocking(move |store| {
            let when = |t| view::when(&zone, t);
            let mut rows = Vec::new();
            for d in desks::list(store)? {
                let desk = &d.desk;
                let (oldest, items) = if desk.kind == DeskKind::Webhook {
                    let c = hooks::counts(store, desk.id)?;
                    let items = hooks::failed(store, desk.id)?
                        .into_iter()
                        .map(|e| ItemRow {
                            action: format!("{PATH}/events/{}", e.id),
                            what: format!("Event {} ({})", e.key, e.kind),
                            event: true,
                            failed: true,
                            attempts: e.attempts,
                            next_try: String::new(),
                            error: e.last_error.as_deref().map(plain_error).unwrap_or_default(),
                        })
                        .collect();
                    (c.oldest_queued, items)
                } else {
                    let o = store.desk_outbox(desk.id, ITEMS)?;
                    let items = o
                        .items
                        .into_iter()
                        .map(|i| ItemRow {
                            action: format!("{PATH}/tickets/{}", i.ticket_number),
                            what: match i.message_id {
                                Some(_) => format!(
                                    "A teacher's message on ticket #{}: {}",
                                    i.ticket_number, i.summary
                                ),
                                None => format!("Ticket #{}: {}", i.ticket_number, i.summary),
                            },
                            event: false,
                            failed: i.state == ForwardState::Failed,
                            attempts: i.attempts,
                            next_try: if i.state == ForwardState::Queued {
                                when(i.next_at)
                            } else {
                                String::new()
                            },
                            error: i.last_error.as_deref().map(plain_error).unwrap_or_default(),
                        })
                        .collect();
                    (o.oldest_queued, items)
                };
                rows.push(DeskRow {
                    id: desk.id,
                    name: desk.name.clone(),
                    kind: desk.kind.as_str(),
                    url: desk.url.clone(),
                    enabled: desk.enabled,
                    is_default: d.is_default,
                    queued: d.queued,
                    oldest: oldest.map(when).unwrap_or_else(|| "Nothing waiting".into()),
                    sent: d.sent,
                    failed: d.failed,
                    last_success: desk
                        .last_success_at
                        .map(when)
                        .unwrap_or_else(|| "Never".into()),
                    last_error: desk
                        .last_error
                        .as_deref()
                        .map(|e| {
                            let at = desk.last_error_at.map(when).unwrap_or_default();
                            format!("{at}: {}", plain_error(e))
                        })
                        .unwrap_or_else(|| "None".into()),
                    items,
                });
            }
            Ok::<_, AppError>(rows)
        })
        .await?;
    let c = n.chrome("Help desks", &s, "desks");
    Ok(render(n.status, &DesksPage { c, desks: rows }))
}

/// Enables (`enable`) or disables (`disable`) a desk.
pub(super) async fn set_desk(
    State(state): State<AppState>,
    _a: Admin,
    Action(id, action): Action,
) -> Page {
    let enabled = match action.as_str() {
        "enable" => true,
        "disable" => false,
        _ => return Err(AppError::NotFound.into()),
    };
    state
        .blocking(move |store| desks::set_enabled(store, id, enabled))
        .await?;
    Ok(see_other(&format!("{PATH}?done=desk-{action}")))
}

/// Retries or skips what a desk has of ticket `number` (the ticket and its messages).
pub(super) async fn ticket_item(
    State(state): State<AppState>,
    _a: Admin,
    Action(number, action): Action,
) -> Page {
    match action.as_str() {
        "retry" => {
            state
                .blocking(move |store| desks::retry(store, number, now_utc()))
                .await?
        }
        "skip" => {
            state
                .blocking(move |store| desks::skip(store, number))
                .await?
        }
        _ => return Err(AppError::NotFound.into()),
    }
    Ok(see_other(&format!("{PATH}?done=desk-{action}")))
}

/// Retries or skips webhook event `id`.
pub(super) async fn event_item(
    State(state): State<AppState>,
    _a: Admin,
    Action(id, action): Action,
) -> Page {
    match action.as_str() {
        "retry" => {
            state
                .blocking(move |store| hooks::retry(store, id, now_utc()))
                .await?
        }
        "skip" => state.blocking(move |store| hooks::skip(store, id)).await?,
        _ => return Err(AppError::NotFound.into()),
    }
    Ok(see_other(&format!("{PATH}?done=desk-{action}")))
}

#[cfg(test)]
mod tests {
    use super::plain_error;

    #[test]
    fn errors_read_as_what_to_do() {
        let e = plain_error("the desk could not be reached: error sending request");
        assert!(e.starts_with("The desk could not be reached: check"), "{e}");
        assert!(
            e.contains("error sending request"),
            "the desk's words are kept: {e}"
        );
        assert!(plain_error("the desk answered 422: bad queue").contains("refused this item"));
        assert!(plain_error("the desk answered 401: no").contains("token or key"));
    }
}
