//! Replies and status changes made in the desk, read back into HandRaise:
//! RT's history per ticket here, a mailbox per desk in `mailbox`.

use super::{Client, Clients, db};
use crate::desk::rt::RtTransaction;
use crate::error::AppError;
use crate::service::tickets::{both, status_change, tech_message};
use crate::store::{ForwardRecord, MessageKind, TicketChange, TicketRecord};
use crate::store::{Store, StoreError};
use handraise_wire::{MAX_MESSAGE_CHARS, TicketStatus};
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// Tickets polled per desk per pass.
const POLL_BATCH: usize = 20;

/// HandRaise's status for an RT status; `None` for one it has no
/// counterpart for (a custom lifecycle's).
pub fn status_of_rt(status: &str) -> Option<TicketStatus> {
    match status {
        "new" => Some(TicketStatus::New),
        "open" => Some(TicketStatus::InProgress),
        "stalled" => Some(TicketStatus::WaitingOnTeacher),
        "resolved" => Some(TicketStatus::Resolved),
        "rejected" | "deleted" => Some(TicketStatus::Closed),
        _ => None,
    }
}

/// What the desk's `history` changes in `ticket`: each public reply not in
/// `own` (the desk's ids of what HandRaise added) becomes a reply with the
/// text `texts` gives, each known status change a status. Comments never
/// reach here (the history asked for holds correspondence and status only).
pub fn change_from_history(
    ticket: &TicketRecord,
    history: &[RtTransaction],
    own: &[String],
    texts: &[(i64, String)],
) -> TicketChange {
    let mut change = TicketChange::of(ticket.number);
    let mut current = ticket.clone();
    for t in history {
        match t.kind.as_str() {
            "Correspond" if !own.contains(&t.id.to_string()) => {
                let Some((_, text)) = texts.iter().find(|(id, _)| *id == t.id) else {
                    continue;
                };
                let body: String = text.chars().take(MAX_MESSAGE_CHARS).collect();
                if body.trim().is_empty() {
                    continue;
                }
                let author = if t.creator.is_empty() {
                    "Help desk"
                } else {
                    &t.creator
                };
                change = both(
                    change,
                    tech_message(ticket.number, MessageKind::Technician, author, body),
                );
            }
            "Status" => {
                if let Some(status) = status_of_rt(&t.new_value) {
                    let step = status_change(&current, status);
                    current.status = status;
                    change = both(change, step);
                }
            }
            _ => {}
        }
    }
    change
}

/// Polls each enabled desk's delivered tickets that are due.
pub(super) async fn poll_due(
    store: &Arc<dyn Store>,
    clients: &mut Clients,
    notify: &(dyn Fn(Uuid) + Send + Sync),
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let desks = db(store, |s| s.desks()).await?;
    for desk in desks.into_iter().filter(|d| d.enabled) {
        let id = desk.id;
        let client = match clients.of(&desk) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(desk = id, error = %e, "forwarding: no client for the desk");
                continue;
            }
        };
        let Client::Rt(rt) = client.as_ref() else {
            if let Some(mailbox) = client.mailbox()
                && clients.mailbox_due(&desk)
                && let Err(e) = super::mailbox::read(store, &desk, mailbox, notify, now).await
            {
                tracing::warn!(desk = id, error = %e, "forwarding: reading the mailbox failed");
                let message = format!("reading the mailbox: {e}");
                db(store, move |s| s.note_desk_result(id, Some(&message), now)).await?;
            }
            continue;
        };
        let due = db(store, move |s| s.forwards_to_poll(id, now, POLL_BATCH)).await?;
        if due.is_empty() {
            continue;
        }
        for forward in due {
            if let Err(e) = poll_one(store, rt, &forward, notify, now).await {
                tracing::warn!(
                    desk = id,
                    ticket = forward.ticket_number,
                    error = %e,
                    "forwarding: reading replies failed"
                );
                let message = e.to_string();
                db(store, move |s| s.note_desk_result(id, Some(&message), now)).await?;
                break;
            }
        }
    }
    Ok(())
}

/// Why reading replies back failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum PollError {
    #[error(transparent)]
    Desk(#[from] crate::desk::DeskError),
    #[error(transparent)]
    App(#[from] AppError),
}

async fn poll_one(
    store: &Arc<dyn Store>,
    rt: &crate::desk::rt::Rt,
    forward: &ForwardRecord,
    notify: &(dyn Fn(Uuid) + Send + Sync),
    now: OffsetDateTime,
) -> Result<(), PollError> {
    let Some(external) = forward.external_id.clone() else {
        return Ok(());
    };
    let number = forward.ticket_number;
    let history = rt.history(&external, forward.last_seen).await?;
    let seen = history
        .iter()
        .map(|t| t.id)
        .max()
        .unwrap_or(forward.last_seen);
    let own = db(store, move |s| s.own_desk_entries(number)).await?;
    let mut texts = Vec::new();
    for t in history
        .iter()
        .filter(|t| t.kind == "Correspond" && !own.contains(&t.id.to_string()))
    {
        texts.push((t.id, rt.message_text(t.id).await?));
    }
    let device = db(store, move |s| {
        let detail = s.ticket_detail(number)?.ok_or(StoreError::NotFound)?;
        let change = change_from_history(&detail.ticket, &history, &own, &texts);
        let wakes = !change.feed.is_empty();
        s.apply_desk_history(number, &change, seen, now)?;
        Ok(wakes.then_some(detail.ticket.device_id))
    })
    .await?;
    if let Some(device) = device {
        notify(device);
    }
    Ok(())
}
