//! Webhooks: the one home of their rules (`docs/forwarding.md`).
//!
//! - A webhook is a **notifier**, not a system of record: tickets notified
//!   to it stay worked in HandRaise, so it is never a routing target nor the
//!   default desk (`desks::set_default`, `desks::add_route` refuse it).
//! - **Events**: a new ticket (`ticket.new`, or `ticket.urgent` when its
//!   urgency is "right now"), a teacher's message on a ticket
//!   (`ticket.teacher_reply`), and an outage's "me too" count reaching the
//!   webhook's threshold (`outage.me_too`, once per announcement).
//! - **Never lost, never twice**: events are made from what is committed
//!   (tickets, messages, "me too"s) after a cursor per webhook; the events
//!   and the cursor's move are one transaction, and an event's key is unique
//!   per webhook. A crash before that transaction only means the next pass
//!   makes the same events.
//! - **Delivery**: [`run_worker`] posts what is due, oldest first, signed
//!   (`desk::webhook`), with the forwarding backoff (`forward::next_try`)
//!   and `Retry-After`; only a refusal of the event itself (400, 413, 422)
//!   fails it; an admin retries or skips it (`retry`, `skip`).

use crate::desk::DeskError;
use crate::desk::webhook::{Event, Webhook};
use crate::error::AppError;
use crate::service::desks::{self, DeskInput};
use crate::service::forward::next_try;
use crate::store::{
    Attempt, DeskKind, DeskRecord, ForwardState, HookCounts, HookEventRecord, HookSources, NewDesk,
    NewHookEvent, Store, StoreError, TicketDetail, WebhookRecord, now_utc,
};
use handraise_wire::Urgency;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The "me too" count that makes an outage event when none is given.
pub const DEFAULT_ME_TOO_THRESHOLD: u32 = 5;
pub const ME_TOO_THRESHOLD_RANGE: std::ops::RangeInclusive<u32> = 1..=100_000;
/// Sources read and events posted per pass.
const BATCH: usize = 100;
/// How often the worker looks for new events when it has none.
const IDLE_TICK: Duration = Duration::from_secs(1);
/// The key prefix of an outage's event (followed by the announcement's id).
const ME_TOO_KEY: &str = "outage.me_too:";

fn invalid(msg: impl Into<String>) -> AppError {
    AppError::Invalid(msg.into())
}

/// The URL a webhook posts to: absolute http(s) (a query is kept: chat
/// bridges put their channel key there).
pub fn hook_url(url: &str) -> Result<String, AppError> {
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|e| invalid(format!("--url {url:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(invalid(format!(
            "--url {url:?} must be an http or https URL"
        )));
    }
    if parsed.fragment().is_some() || !parsed.username().is_empty() {
        return Err(invalid(format!(
            "--url {url:?} must not carry a fragment or a user"
        )));
    }
    Ok(parsed.to_string())
}

/// Checks `input` (kind `webhook`) and adds the webhook with its "me too"
/// threshold (default [`DEFAULT_ME_TOO_THRESHOLD`]); its id. What happened
/// before it was added is not announced.
pub fn add(
    store: &dyn Store,
    input: DeskInput<'_>,
    me_too_threshold: Option<u32>,
    now: OffsetDateTime,
) -> Result<i64, AppError> {
    if desks::kind(input.kind)? != DeskKind::Webhook {
        return Err(invalid("only a desk of kind webhook is added as a webhook"));
    }
    let name = desks::name(input.name)?;
    let threshold = me_too_threshold.unwrap_or(DEFAULT_ME_TOO_THRESHOLD);
    if !ME_TOO_THRESHOLD_RANGE.contains(&threshold) {
        return Err(invalid(format!(
            "--me-too-threshold must be {} to {}",
            ME_TOO_THRESHOLD_RANGE.start(),
            ME_TOO_THRESHOLD_RANGE.end()
        )));
    }
    if input.queue.is_some() || input.poll_secs.is_some() {
        return Err(invalid(
            "a webhook has no --queue or --poll-secs: it only notifies",
        ));
    }
    let desk = NewDesk {
        kind: DeskKind::Webhook,
        name,
        url: hook_url(input.url)?,
        secret: input.secret,
        queue: String::new(),
        poll_secs: desks::DEFAULT_POLL_SECS,
        options: Default::default(),
        mailbox_secret: None,
        created_at: now,
    };
    Ok(store.add_webhook(&desk, threshold)?)
}

/// A webhook's outbox counts and oldest waiting event.
pub fn counts(store: &dyn Store, desk_id: i64) -> Result<HookCounts, AppError> {
    Ok(store.hook_counts(desk_id)?)
}

/// A webhook's events the receiver refused, oldest first.
pub fn failed(store: &dyn Store, desk_id: i64) -> Result<Vec<HookEventRecord>, AppError> {
    Ok(store.hook_events(desk_id, ForwardState::Failed, 100)?)
}

/// Posts failed event `id` again.
pub fn retry(store: &dyn Store, id: i64, now: OffsetDateTime) -> Result<(), AppError> {
    store.retry_hook_event(id, now).map_err(not_found)
}

/// Drops event `id` (queued or failed) for good.
pub fn skip(store: &dyn Store, id: i64) -> Result<(), AppError> {
    store.skip_hook_event(id).map_err(not_found)
}

fn not_found(e: StoreError) -> AppError {
    match e {
        StoreError::NotFound => AppError::NotFound,
        e => e.into(),
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The ticket as an event carries it.
fn ticket_json(d: &TicketDetail) -> Value {
    let t = &d.ticket;
    let reporter: Value = t
        .reporter_json
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or(Value::Null);
    json!({
        "number": t.number,
        "client_id": t.client_id,
        "summary": t.summary,
        "details": t.details,
        "category": t.category,
        "urgency": t.urgency,
        "scope": t.scope,
        "status": t.status,
        "room": t.room,
        "school": d.school,
        "building": d.building,
        "computer": d.device_hostname,
        "reporter": reporter,
        "received_at": rfc3339(t.received_at),
    })
}

/// Who and where, in words: "Ana Smith, room B-12, Lincoln".
fn who_where(d: &TicketDetail) -> String {
    let reporter: Option<handraise_wire::Reporter> = d
        .ticket
        .reporter_json
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok());
    let name = reporter
        .and_then(|r| r.display_name.or(r.os_user))
        .unwrap_or_else(|| "someone".into());
    let mut parts = vec![name];
    if let Some(room) = &d.ticket.room {
        parts.push(format!("room {room}"));
    }
    parts.extend(d.school.clone());
    parts.join(", ")
}

/// The events of what happened after `hook`'s cursors, and the cursors after them.
pub fn events(
    hook: &WebhookRecord,
    sources: &HookSources,
    now: OffsetDateTime,
) -> (Vec<NewHookEvent>, i64, i64) {
    let mut out = Vec::new();
    let mut event = |key: String, kind: &str, text: String, extra: (&str, Value)| {
        let mut body = json!({
            "id": key,
            "type": kind,
            "occurred_at": rfc3339(now),
            "text": text,
        });
        body[extra.0] = extra.1;
        out.push(NewHookEvent {
            key,
            kind: kind.to_owned(),
            body: body.to_string(),
            created_at: now,
        });
    };
    let mut ticket_cursor = hook.ticket_cursor;
    for d in &sources.tickets {
        let t = &d.ticket;
        let urgent = t.urgency == Urgency::Now;
        let kind = if urgent {
            "ticket.urgent"
        } else {
            "ticket.new"
        };
        let text = format!(
            "{}HandRaise #{}: {} ({}, {})",
            if urgent { "Urgent: " } else { "New: " },
            t.number,
            t.summary,
            t.category.label(),
            who_where(d)
        );
        event(
            format!("{kind}:{}", t.client_id),
            kind,
            text,
            ("ticket", ticket_json(d)),
        );
        ticket_cursor = ticket_cursor.max(t.number);
    }
    let mut message_cursor = hook.message_cursor;
    for (rowid, m, d) in &sources.messages {
        let kind = "ticket.teacher_reply";
        let text = format!(
            "Teacher's reply on HandRaise #{} ({}): {}",
            d.ticket.number,
            who_where(d),
            m.body.chars().take(500).collect::<String>()
        );
        let mut ticket = ticket_json(d);
        ticket["message"] = json!({"id": m.id, "body": m.body, "at": rfc3339(m.at)});
        event(format!("{kind}:{}", m.id), kind, text, ("ticket", ticket));
        message_cursor = message_cursor.max(*rowid);
    }
    for (a, count) in &sources.me_too {
        let kind = "outage.me_too";
        let text = format!(
            "{count} teachers say \"me too\" to: {}{}",
            a.title,
            a.school
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        );
        event(
            format!("{ME_TOO_KEY}{}", a.id),
            kind,
            text,
            (
                "announcement",
                json!({
                    "id": a.id,
                    "title": a.title,
                    "message": a.message,
                    "school": a.school,
                    "building": a.building,
                    "category": a.category,
                    "me_too_count": count,
                    "threshold": hook.me_too_threshold,
                }),
            ),
        );
    }
    (out, ticket_cursor, message_cursor)
}

async fn db<T, F>(store: &Arc<dyn Store>, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
{
    super::run(store, f).await
}

/// Makes the events of every enabled webhook from what happened since its
/// cursors; how many.
pub async fn make_events(store: &Arc<dyn Store>, now: OffsetDateTime) -> Result<usize, AppError> {
    let hooks = db(store, |s| s.webhooks()).await?;
    let mut made = 0;
    for hook in hooks {
        let h = hook.clone();
        let sources = db(store, move |s| s.hook_sources(&h, ME_TOO_KEY, now, BATCH)).await?;
        let (events, tickets, messages) = events(&hook, &sources, now);
        if events.is_empty() && tickets == hook.ticket_cursor && messages == hook.message_cursor {
            continue;
        }
        made += events.len();
        db(store, move |s| {
            s.append_hook_events(hook.desk_id, &events, tickets, messages)
        })
        .await?;
    }
    Ok(made)
}

/// What one delivery pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Posts the events due at `now`; a webhook that fails is not asked again
/// in this pass (its other events wait for their next try).
pub async fn deliver_due(store: &Arc<dyn Store>, now: OffsetDateTime) -> Result<Pass, AppError> {
    let mut pass = Pass::default();
    let due = db(store, move |s| s.due_hook_events(now, BATCH)).await?;
    if due.is_empty() {
        return Ok(pass);
    }
    let desks: HashMap<i64, DeskRecord> = db(store, |s| s.desks())
        .await?
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    let mut clients: HashMap<i64, Webhook> = HashMap::new();
    let mut down: HashMap<i64, (String, Option<Duration>)> = HashMap::new();
    for e in due {
        let Some(desk) = desks.get(&e.desk_id) else {
            continue;
        };
        let attempt = if let Some((error, retry_after)) = down.get(&desk.id) {
            Attempt::Retry {
                error: error.clone(),
                next_at: next_try(e.attempts + 1, *retry_after, now),
            }
        } else {
            let client = match clients.get(&desk.id) {
                Some(c) => Ok(c.clone()),
                None => Webhook::new(&desk.url, &desk.secret.0).inspect(|c| {
                    clients.insert(desk.id, c.clone());
                }),
            };
            let result = match client {
                Ok(c) => {
                    let event = Event {
                        id: &e.key,
                        kind: &e.kind,
                        body: &e.body,
                    };
                    c.post(event, now_utc().unix_timestamp()).await
                }
                Err(err) => Err(err),
            };
            outcome(&mut down, desk.id, e.attempts, now, result)
        };
        match &attempt {
            Attempt::Sent { .. } => pass.delivered += 1,
            Attempt::Retry { .. } => pass.retried += 1,
            Attempt::Failed { .. } => pass.failed += 1,
        }
        let error = match &attempt {
            Attempt::Sent { .. } => None,
            Attempt::Retry { error, .. } | Attempt::Failed { error } => Some(error.clone()),
        };
        let (id, desk_id) = (e.id, desk.id);
        db(store, move |s| {
            s.record_hook_attempt(id, &attempt, now)?;
            s.note_desk_result(desk_id, error.as_deref(), now)
        })
        .await?;
    }
    Ok(pass)
}

/// The attempt to record for what the receiver did with an event tried
/// `attempts` times before.
fn outcome(
    down: &mut HashMap<i64, (String, Option<Duration>)>,
    desk: i64,
    attempts: u32,
    now: OffsetDateTime,
    result: Result<(), DeskError>,
) -> Attempt {
    match result {
        Ok(()) => Attempt::Sent {
            external_id: String::new(),
        },
        Err(e) if e.is_transient() => {
            down.insert(desk, (e.to_string(), e.retry_after()));
            Attempt::Retry {
                error: e.to_string(),
                next_at: next_try(attempts + 1, e.retry_after(), now),
            }
        }
        Err(e) => Attempt::Failed {
            error: e.to_string(),
        },
    }
}

/// One pass: makes the new events, then posts what is due.
pub async fn pass(store: &Arc<dyn Store>, now: OffsetDateTime) -> Result<Pass, AppError> {
    make_events(store, now).await?;
    deliver_due(store, now).await
}

/// The webhook worker: a pass a second while idle, straight away again
/// while events went out. `serve` runs it on the one server node holding the
/// `webhooks` lease (`super::leases`).
pub async fn run_worker(store: Arc<dyn Store>) {
    loop {
        let busy = match pass(&store, now_utc()).await {
            Ok(p) => p.delivered > 0,
            Err(e) => {
                tracing::error!(error = %e, "webhooks: pass failed");
                false
            }
        };
        if !busy {
            tokio::time::sleep(IDLE_TICK).await;
        }
    }
}

/// Posts a `ping` event (nothing is created anywhere): the URL answers and
/// takes the signature.
pub async fn test(desk: &DeskRecord) -> Result<(), DeskError> {
    let body = json!({
        "id": format!("ping:{}", now_utc().unix_timestamp()),
        "type": "ping",
        "occurred_at": rfc3339(now_utc()),
        "text": "HandRaise webhook test",
    })
    .to_string();
    let id = format!("ping:{}", now_utc().unix_timestamp());
    Webhook::new(&desk.url, &desk.secret.0)?
        .post(
            Event {
                id: &id,
                kind: "ping",
                body: &body,
            },
            now_utc().unix_timestamp(),
        )
        .await
}

#[cfg(test)]
mod tests;
