//! Ticket and device operations shared by the technician API (`api::tech`)
//! and the console (`console`): validation, the store call on the blocking
//! pool, and waking the owning device's long-polls. Both front ends call
//! these, so a change made in the browser and one made over the API are the
//! same change.

use crate::api::{check_len, optional_text};
use crate::store::{MessageKind, Technician, TicketDetail, now_utc};
use crate::{AppError, AppState};
use handraise_wire as wire;
use uuid::Uuid;

/// Tickets in `status` (every status when `None`), newest first.
pub async fn tickets(
    state: &AppState,
    status: Option<wire::TicketStatus>,
) -> Result<Vec<TicketDetail>, AppError> {
    state.db(move |s| s.list_tickets(status)).await
}

/// One ticket with its messages; `NotFound` when unknown.
pub async fn ticket(state: &AppState, number: i64) -> Result<TicketDetail, AppError> {
    state
        .db(move |s| s.ticket_detail(number))
        .await?
        .ok_or(AppError::NotFound)
}

/// Wakes the long-polls of the ticket's device after a change to its feed.
fn notify(state: &AppState, detail: &TicketDetail) {
    state.feed().notify(detail.ticket.device_id);
}

/// Changes the status; the device's feed gets a `status` update.
pub async fn set_status(
    state: &AppState,
    number: i64,
    status: wire::TicketStatus,
) -> Result<TicketDetail, AppError> {
    let detail = state
        .db(move |s| s.set_status(number, status, now_utc()))
        .await?;
    notify(state, &detail);
    Ok(detail)
}

/// Assigns to the technician `assignee` (by name; blank unassigns). A `new`
/// ticket becomes `assigned`; the device's feed gets a `status` update.
pub async fn assign(
    state: &AppState,
    number: i64,
    assignee: Option<&str>,
) -> Result<TicketDetail, AppError> {
    let assignee = optional_text("assignee", assignee, 100)?;
    let detail = state
        .db(move |s| s.assign(number, assignee.as_deref(), now_utc()))
        .await?;
    notify(state, &detail);
    Ok(detail)
}

/// Checks a reply or note body: not blank, at most the wire limit.
fn message_body(body: &str) -> Result<String, AppError> {
    if body.trim().is_empty() {
        return Err(AppError::Invalid("the message must not be empty".into()));
    }
    check_len("the message", body, wire::MAX_MESSAGE_CHARS)?;
    Ok(body.to_owned())
}

/// A reply to the teacher: the device's feed gets a `reply` update.
pub async fn reply(
    state: &AppState,
    tech: &Technician,
    number: i64,
    body: &str,
) -> Result<TicketDetail, AppError> {
    let detail = add_message(state, tech, number, MessageKind::Technician, body).await?;
    notify(state, &detail);
    Ok(detail)
}

/// An internal note: never reaches the device.
pub async fn note(
    state: &AppState,
    tech: &Technician,
    number: i64,
    body: &str,
) -> Result<TicketDetail, AppError> {
    add_message(state, tech, number, MessageKind::Note, body).await
}

async fn add_message(
    state: &AppState,
    tech: &Technician,
    number: i64,
    kind: MessageKind,
    body: &str,
) -> Result<TicketDetail, AppError> {
    let body = message_body(body)?;
    let author = tech.name.clone();
    state
        .db(move |s| s.add_tech_message(number, kind, &author, &body, Uuid::now_v7(), now_utc()))
        .await
}

/// Merges the duplicate ticket into `into`; the duplicate is closed (its
/// device hears of it through the feed). Returns the duplicate.
pub async fn merge(
    state: &AppState,
    tech: &Technician,
    duplicate: i64,
    into: i64,
) -> Result<TicketDetail, AppError> {
    let author = tech.name.clone();
    let detail = state
        .db(move |s| s.merge_ticket(duplicate, into, &author, now_utc()))
        .await?;
    notify(state, &detail);
    Ok(detail)
}

/// Revokes a device: its secret answers 403 from now on, which pauses its
/// queue (DESIGN.md); `NotFound` when unknown.
pub async fn revoke_device(state: &AppState, device_id: Uuid) -> Result<(), AppError> {
    state
        .db(move |s| s.revoke_device(device_id, now_utc()))
        .await?;
    state.forget_device(device_id);
    tracing::info!(%device_id, "device revoked");
    Ok(())
}
