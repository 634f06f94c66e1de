//! Tickets, technician side: the queue, status changes, assignment,
//! replies, internal notes and merging duplicates. Each decides the change
//! (new status, message ids and texts, feed entries) and the store writes it
//! in one transaction with the tickets as they are then.

use super::text::{message_body, optional_text};
use super::{FeedNotifier, run};
use crate::error::AppError;
use crate::store::{
    FeedWrite, MessageKind, NewTechMessage, Store, StoreError, StoreResult, Technician,
    TicketChange, TicketDetail, TicketFacets, TicketQuery, TicketRecord,
};
use handraise_wire::TicketStatus;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// Longest technician name accepted for an assignment.
const MAX_ASSIGNEE_CHARS: usize = 100;

/// Tickets a list page shows unless asked otherwise.
pub const PAGE_SIZE: usize = 50;
/// The most tickets one list page shows.
pub const MAX_PAGE_SIZE: usize = 200;

/// The page size asked for: [`PAGE_SIZE`] when not given; 1 to
/// [`MAX_PAGE_SIZE`], else `BadRequest`.
pub fn page_size(asked: Option<usize>) -> Result<usize, AppError> {
    match asked {
        None => Ok(PAGE_SIZE),
        Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        Some(n) => Err(AppError::BadRequest(format!(
            "limit is {n}; a page has 1 to {MAX_PAGE_SIZE} tickets"
        ))),
    }
}

/// A page of tickets as `query` asks (its `limit` a [`page_size`]), without
/// their messages, and whether more follow.
pub async fn page(
    store: &Arc<dyn Store>,
    mut query: TicketQuery,
) -> Result<(Vec<TicketDetail>, bool), AppError> {
    let limit = query.limit.clamp(1, MAX_PAGE_SIZE);
    query.limit = limit + 1;
    let mut tickets = run(store, move |s| s.ticket_page(&query)).await?;
    let more = tickets.len() > limit;
    tickets.truncate(limit);
    Ok((tickets, more))
}

/// Tickets per status, and the schools and buildings that filed tickets.
pub async fn facets(store: &Arc<dyn Store>) -> Result<TicketFacets, AppError> {
    run(store, |s| s.ticket_facets()).await
}

/// One ticket with its messages; `NotFound` when unknown.
pub async fn get(store: &Arc<dyn Store>, number: i64) -> Result<TicketDetail, AppError> {
    run(store, move |s| s.ticket_detail(number))
        .await?
        .ok_or(AppError::NotFound)
}

/// Moves `ticket` to `status`: a real change sets it and tells the device
/// through a `status` feed entry; the same status changes nothing.
pub fn status_change(ticket: &TicketRecord, status: TicketStatus) -> TicketChange {
    let mut change = TicketChange::of(ticket.number);
    if ticket.status != status {
        change.status = Some(status);
        change.feed.push(FeedWrite::Status {
            status,
            assignee: ticket.assignee.clone(),
        });
    }
    change
}

/// A technician message on ticket `number`, with a new id; a reply (not a
/// note) also goes to the device's feed.
pub fn tech_message(number: i64, kind: MessageKind, author: &str, body: String) -> TicketChange {
    let id = Uuid::now_v7();
    let mut change = TicketChange::of(number);
    change.messages.push(NewTechMessage {
        id,
        kind,
        author: author.to_owned(),
        body,
    });
    if kind != MessageKind::Note {
        change.feed.push(FeedWrite::Reply { message_id: id });
    }
    change
}

/// Both changes of one ticket as one: `then`'s messages and feed entries
/// after `first`'s, and `then`'s status, assignee and merge where it sets them.
pub fn both(first: TicketChange, then: TicketChange) -> TicketChange {
    let mut out = first;
    out.status = then.status.or(out.status);
    out.assignee = then.assignee.or(out.assignee);
    out.merged_into = then.merged_into.or(out.merged_into);
    out.messages.extend(then.messages);
    out.feed.extend(then.feed);
    out
}

/// Reads the tickets `numbers`, lets `decide` say what changes and writes
/// it, in one transaction on the blocking pool.
async fn change<F>(
    store: &Arc<dyn Store>,
    numbers: Vec<i64>,
    now: OffsetDateTime,
    mut decide: F,
) -> Result<Vec<TicketDetail>, AppError>
where
    F: FnMut(&[TicketDetail]) -> StoreResult<Vec<TicketChange>> + Send + 'static,
{
    run(store, move |s| {
        super::forward::refuse_if_forwarded(s, &numbers)?;
        s.change_tickets(&numbers, now, &mut decide)
    })
    .await
}

/// As [`change`] for one ticket; returns it afterwards.
async fn change_one<F>(
    store: &Arc<dyn Store>,
    number: i64,
    now: OffsetDateTime,
    mut decide: F,
) -> Result<TicketDetail, AppError>
where
    F: FnMut(&TicketDetail) -> TicketChange + Send + 'static,
{
    change(store, vec![number], now, move |d| {
        Ok(d.iter().map(&mut decide).collect())
    })
    .await?
    .into_iter()
    .next()
    .ok_or(AppError::NotFound)
}

/// As [`change_one`], then wakes the ticket's device.
async fn change_and_notify<F>(
    store: &Arc<dyn Store>,
    feed: &FeedNotifier,
    number: i64,
    now: OffsetDateTime,
    decide: F,
) -> Result<TicketDetail, AppError>
where
    F: FnMut(&TicketDetail) -> TicketChange + Send + 'static,
{
    let detail = change_one(store, number, now, decide).await?;
    notify(feed, std::slice::from_ref(&detail));
    Ok(detail)
}

/// Wakes the devices of `tickets`.
pub fn notify(feed: &FeedNotifier, tickets: &[TicketDetail]) {
    for d in tickets {
        feed.notify(d.ticket.device_id);
    }
}

/// Changes the status; the device's feed gets a `status` update.
pub async fn set_status(
    store: &Arc<dyn Store>,
    feed: &FeedNotifier,
    number: i64,
    status: TicketStatus,
    now: OffsetDateTime,
) -> Result<TicketDetail, AppError> {
    change_and_notify(store, feed, number, now, move |d| {
        status_change(&d.ticket, status)
    })
    .await
}

/// Assigns to the technician `assignee` (by name, created if missing; blank
/// unassigns). A `new` ticket becomes `assigned`; the device's feed gets a
/// `status` update naming the assignee.
pub async fn assign(
    store: &Arc<dyn Store>,
    feed: &FeedNotifier,
    number: i64,
    assignee: Option<&str>,
    now: OffsetDateTime,
) -> Result<TicketDetail, AppError> {
    let assignee = optional_text("assignee", assignee, MAX_ASSIGNEE_CHARS)?;
    change_and_notify(store, feed, number, now, move |d| {
        let status = match d.ticket.status {
            TicketStatus::New if assignee.is_some() => TicketStatus::Assigned,
            current => current,
        };
        TicketChange {
            status: Some(status),
            assignee: Some(assignee.clone()),
            feed: vec![FeedWrite::Status {
                status,
                assignee: assignee.clone(),
            }],
            ..TicketChange::of(d.ticket.number)
        }
    })
    .await
}

/// A reply to the teacher: the device's feed gets a `reply` update.
pub async fn reply(
    store: &Arc<dyn Store>,
    feed: &FeedNotifier,
    tech: &Technician,
    number: i64,
    body: &str,
    now: OffsetDateTime,
) -> Result<TicketDetail, AppError> {
    let detail = add_message(store, tech, number, MessageKind::Technician, body, now).await?;
    notify(feed, std::slice::from_ref(&detail));
    Ok(detail)
}

/// An internal note: never reaches the device.
pub async fn note(
    store: &Arc<dyn Store>,
    tech: &Technician,
    number: i64,
    body: &str,
    now: OffsetDateTime,
) -> Result<TicketDetail, AppError> {
    add_message(store, tech, number, MessageKind::Note, body, now).await
}

async fn add_message(
    store: &Arc<dyn Store>,
    tech: &Technician,
    number: i64,
    kind: MessageKind,
    body: &str,
    now: OffsetDateTime,
) -> Result<TicketDetail, AppError> {
    let body = message_body(body)?;
    let author = tech.name.clone();
    change_one(store, number, now, move |d| {
        tech_message(d.ticket.number, kind, &author, body.clone())
    })
    .await
}

/// Merges the `duplicate` ticket into `into`: the duplicate is closed (its
/// device hears of it through the feed) and both get an internal note by
/// `tech`. `Conflict` when merging a ticket into itself, into a ticket that
/// is itself merged, or twice. Returns the duplicate.
pub async fn merge(
    store: &Arc<dyn Store>,
    feed: &FeedNotifier,
    tech: &Technician,
    (duplicate, into): (i64, i64),
    now: OffsetDateTime,
) -> Result<TicketDetail, AppError> {
    if duplicate == into {
        return Err(AppError::Conflict(
            "a ticket cannot be merged into itself".into(),
        ));
    }
    let author = tech.name.clone();
    let changed = change(store, vec![duplicate, into], now, move |tickets| {
        let [dup, target] = tickets else {
            return Err(StoreError::NotFound);
        };
        if dup.merged_into.is_some() {
            return Err(StoreError::Conflict(format!(
                "ticket #{duplicate} is already merged"
            )));
        }
        if target.merged_into.is_some() {
            return Err(StoreError::Conflict(format!(
                "ticket #{into} is itself merged into another ticket"
            )));
        }
        let note = format!("Merged into #{into} as a duplicate.");
        let mut closing = both(
            tech_message(duplicate, MessageKind::Note, &author, note),
            status_change(&dup.ticket, TicketStatus::Closed),
        );
        closing.merged_into = Some(into);
        let note = format!("#{duplicate} was merged into this ticket as a duplicate.");
        Ok(vec![
            closing,
            tech_message(into, MessageKind::Note, &author, note),
        ])
    })
    .await?;
    let dup = changed.into_iter().next().ok_or(AppError::NotFound)?;
    notify(feed, std::slice::from_ref(&dup));
    Ok(dup)
}
