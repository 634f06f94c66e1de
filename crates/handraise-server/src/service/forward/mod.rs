//! Forwarding tickets to the help desk a district already runs: the one
//! home of the forwarding rules.
//!
//! - **Routing**: a new ticket goes to the default desk when there is one
//!   and it is enabled; otherwise it stays in HandRaise. Tickets that
//!   arrived before stay where they are.
//! - **Outbox**: the forward is written in the same transaction as the
//!   ticket (and a teacher message's in the same transaction as the
//!   message), so nothing is lost to a crash; [`run_worker`] delivers them.
//! - **Exactly once**: before creating, a searchable desk (RT) is searched
//!   for the ticket's reference (its client id in the subject); before
//!   adding a teacher message, the ticket's correspondence is searched for
//!   the message's marker. A kill between the desk's create and recording
//!   its answer therefore never makes a second desk ticket or message.
//!   Create-only desks (email, osTicket; [`client`]) cannot be asked: a
//!   create whose outcome was lost is flagged on the forward, and mail
//!   carries a Message-ID made from the ids alone.
//! - **Replies back**: [`replies`] reads each delivered RT ticket's history;
//!   public correspondence not made by HandRaise (known by the transaction
//!   ids the desk returned) becomes a reply in the teacher's feed, status
//!   changes a status; comments never leave the desk. [`mailbox`] reads the
//!   IMAP mailbox of desks that answer by mail.

mod client;
mod compose;
mod mailbox;
mod replies;

pub use client::{Client, DEFAULT_FOLDER, mailbox_of};
pub use compose::{body, message_marker, priority, reference, subject};

use crate::desk::DeskError;
use crate::error::AppError;
use crate::store::Quota;
use crate::store::{
    Attempt, DeskRecord, Inserted, MessageRecord, NewTeacherMessage, NewTicketRecord, RouteRecord,
    Store, StoreError, StoreResult, TicketRecord, now_utc,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// Items delivered per pass, of each kind.
const BATCH: usize = 50;
/// How often the worker looks for due work when it has none.
const IDLE_TICK: Duration = Duration::from_secs(1);
/// First retry after this, doubling per attempt up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long a request that may have created something in the desk, and got no
/// answer, is given to finish there before the desk is searched for it again:
/// the item is held this long before such a request goes out (so a kill
/// keeps it too), and after it fails unanswered.
pub const IN_DOUBT: Duration = crate::desk::REQUEST_TIMEOUT;
/// A `Retry-After` longer than this is cut to it.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// How long a new ticket waits before it is forwarded: the agent uploads
/// its screenshot right after the ticket, and the desk ticket should carry it.
pub const SCREENSHOT_GRACE: Duration = Duration::from_secs(3);

/// The desk a new ticket goes to: the first routing rule matching its
/// device's school and building and its category, else the default desk.
/// `None` (a rule to "none", no default, or a disabled desk) keeps it in
/// HandRaise.
pub fn route(s: &dyn Store, record: &NewTicketRecord) -> StoreResult<Option<DeskRecord>> {
    let routes = s.routes()?;
    let device = if routes.is_empty() {
        None
    } else {
        s.device(record.device_id)?
    };
    let (school, building) = device.map(|d| (d.school, d.building)).unwrap_or_default();
    let rule = routes
        .iter()
        .find(|r| matches(r, school.as_deref(), building.as_deref(), record.category));
    let desk = match rule {
        Some(r) => match r.desk_id {
            Some(id) => s.desk(id)?,
            None => None,
        },
        None => s.default_desk()?,
    };
    Ok(desk.filter(|d| d.enabled))
}

/// Whether rule `r` takes a ticket of `category` from `school`/`building`
/// (names compared without case; a condition left out matches anything).
fn matches(
    r: &RouteRecord,
    school: Option<&str>,
    building: Option<&str>,
    category: handraise_wire::Category,
) -> bool {
    let same = |want: &Option<String>, have: Option<&str>| {
        want.as_deref()
            .is_none_or(|w| have.is_some_and(|h| h.trim().eq_ignore_ascii_case(w.trim())))
    };
    same(&r.school, school)
        && same(&r.building, building)
        && r.category.is_none_or(|c| c == category)
}

/// Files a checked ticket, queueing its forward to the desk [`route`] picks
/// in the same transaction.
/// The ticket counts against the device's `quota`.
pub fn file_ticket(
    s: &dyn Store,
    record: &NewTicketRecord,
    quota: &Quota<'_>,
) -> StoreResult<Inserted<TicketRecord>> {
    let forward = route(s, record)?.map(|d| (d.id, record.received_at + SCREENSHOT_GRACE));
    s.insert_ticket_forwarded(record, forward, quota)
}

/// Stores a teacher message, queueing it for the desk in the same
/// transaction when its ticket was forwarded.
pub fn file_message(
    s: &dyn Store,
    device_id: Uuid,
    ticket_client_id: Uuid,
    message: &NewTeacherMessage,
    quota: &Quota<'_>,
) -> StoreResult<Inserted<MessageRecord>> {
    s.insert_teacher_message_forwarded(device_id, ticket_client_id, message, quota)
}

/// `Conflict` when one of the tickets `numbers` was forwarded: a forwarded
/// ticket is worked in its desk (one system of record), not by technicians
/// here.
pub fn refuse_if_forwarded(s: &dyn Store, numbers: &[i64]) -> StoreResult<()> {
    for &n in numbers {
        if s.forward_of(n)?.is_some() {
            return Err(StoreError::Conflict(format!(
                "ticket #{n} was forwarded to a help desk and is worked there"
            )));
        }
    }
    Ok(())
}

/// When to try again after `attempts` failed tries (this one included):
/// doubling from 1 s up to [`MAX_BACKOFF`], or what the desk asked for.
pub fn next_try(
    attempts: u32,
    retry_after: Option<Duration>,
    now: OffsetDateTime,
) -> OffsetDateTime {
    let doubling = FIRST_BACKOFF
        .saturating_mul(1 << attempts.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    let wait = retry_after
        .map(|r| r.min(MAX_RETRY_AFTER))
        .unwrap_or(doubling);
    now + wait
}

/// Desks that failed in this pass with a transient error: not asked again
/// until the next pass, their other items rescheduled alike.
#[derive(Default)]
struct Down(HashMap<i64, (String, Option<Duration>)>);

impl Down {
    /// The attempt to record without asking the desk, when it is down.
    fn skip(&self, desk: i64, attempts: u32, now: OffsetDateTime) -> Option<Attempt> {
        self.0
            .get(&desk)
            .map(|(error, retry_after)| Attempt::Retry {
                error: error.clone(),
                next_at: next_try(attempts + 1, *retry_after, now),
            })
    }

    /// The attempt to record for what the desk did with an item tried
    /// `attempts` times before.
    fn outcome(
        &mut self,
        desk: i64,
        attempts: u32,
        now: OffsetDateTime,
        result: Result<String, DeskError>,
    ) -> Attempt {
        match result {
            Ok(external_id) => Attempt::Sent { external_id },
            Err(e) if e.is_transient() => {
                self.0.insert(desk, (e.to_string(), e.retry_after()));
                let mut next_at = next_try(attempts + 1, e.retry_after(), now);
                if e.in_doubt() {
                    next_at = next_at.max(current(now) + IN_DOUBT);
                }
                Attempt::Retry {
                    error: e.to_string(),
                    next_at,
                }
            }
            Err(e) => Attempt::Failed {
                error: e.to_string(),
            },
        }
    }
}

/// The clients of the desks, made once per desk, and when each desk's
/// mailbox was last read.
#[derive(Default)]
struct Clients {
    clients: HashMap<i64, Arc<Client>>,
    mailbox_read: HashMap<i64, std::time::Instant>,
}

impl Clients {
    fn of(&mut self, desk: &DeskRecord) -> Result<Arc<Client>, DeskError> {
        if let Some(c) = self.clients.get(&desk.id) {
            return Ok(Arc::clone(c));
        }
        let c = Arc::new(Client::of(desk)?);
        self.clients.insert(desk.id, Arc::clone(&c));
        Ok(c)
    }

    /// Whether desk `desk`'s mailbox is due a read (every `poll_secs`),
    /// noting that it is read now when it is.
    fn mailbox_due(&mut self, desk: &DeskRecord) -> bool {
        let now = std::time::Instant::now();
        let every = Duration::from_secs(u64::from(desk.poll_secs));
        let due = self
            .mailbox_read
            .get(&desk.id)
            .is_none_or(|last| now.duration_since(*last) >= every);
        if due {
            self.mailbox_read.insert(desk.id, now);
        }
        due
    }
}

/// Runs `f` on the store on the blocking pool.
async fn db<T, F>(store: &Arc<dyn Store>, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
{
    super::run(store, f).await
}

/// The time to reckon with now: the pass's `now`, or the clock when the pass
/// has been running longer.
fn current(now: OffsetDateTime) -> OffsetDateTime {
    now.max(now_utc())
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
}

impl Pass {
    fn count(&mut self, a: &Attempt) {
        match a {
            Attempt::Sent { .. } => self.delivered += 1,
            Attempt::Retry { .. } => self.retried += 1,
            Attempt::Failed { .. } => self.failed += 1,
        }
    }
}

/// Delivers what is due at `now`: tickets first, then teacher messages of
/// delivered tickets. A desk that fails is not tried again in this pass.
async fn deliver_due(
    store: &Arc<dyn Store>,
    clients: &mut Clients,
    now: OffsetDateTime,
) -> Result<Pass, AppError> {
    let mut pass = Pass::default();
    let mut down = Down::default();
    let desks: HashMap<i64, DeskRecord> = db(store, |s| s.desks())
        .await?
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    let jobs = db(store, move |s| s.due_forwards(now, BATCH)).await?;
    for job in jobs {
        let Some(desk) = desks.get(&job.forward.desk_id) else {
            continue;
        };
        let attempt = match down.skip(desk.id, job.forward.attempts, now) {
            Some(skipped) => skipped,
            None => {
                let number = job.detail.ticket.number;
                let shot = if job.detail.has_screenshot {
                    db(store, move |s| s.screenshot(number)).await?
                } else {
                    None
                };
                let hold = db(store, move |s| {
                    s.hold_forward(number, current(now) + IN_DOUBT)
                });
                let result = match clients.of(desk) {
                    Ok(client) => {
                        if !client.searchable() && job.forward.in_flight {
                            // A create went out and its outcome was never
                            // recorded (a kill): the desk may hold it.
                            db(store, move |s| s.flag_receipt_lost(number)).await?;
                        }
                        let result = client.deliver_ticket(desk, &job, shot, hold).await?;
                        if !client.searchable() && result.as_ref().is_err_and(DeskError::in_doubt) {
                            db(store, move |s| s.flag_receipt_lost(number)).await?;
                        }
                        result
                    }
                    Err(e) => Err(e),
                };
                down.outcome(desk.id, job.forward.attempts, now, result)
            }
        };
        pass.count(&attempt);
        note(store, desk.id, &attempt, now).await?;
        let number = job.detail.ticket.number;
        db(store, move |s| {
            s.record_forward_attempt(number, &attempt, now)
        })
        .await?;
    }
    let jobs = db(store, move |s| s.due_message_forwards(now, BATCH)).await?;
    for job in jobs {
        let (Some(desk), Some(ticket)) = (desks.get(&job.desk_id), job.ticket_external_id.clone())
        else {
            continue;
        };
        let attempt = match down.skip(desk.id, job.forward.attempts, now) {
            Some(skipped) => skipped,
            None => {
                let id = job.message.id;
                let hold = db(store, move |s| {
                    s.hold_message_forward(id, current(now) + IN_DOUBT)
                });
                let result = match clients.of(desk) {
                    Ok(client) => client.deliver_message(&ticket, &job, hold).await?,
                    Err(e) => Err(e),
                };
                down.outcome(desk.id, job.forward.attempts, now, result)
            }
        };
        pass.count(&attempt);
        note(store, desk.id, &attempt, now).await?;
        let id = job.message.id;
        db(store, move |s| {
            s.record_message_forward_attempt(id, &attempt, now)
        })
        .await?;
    }
    Ok(pass)
}

/// Records on the desk its last success or error.
async fn note(
    store: &Arc<dyn Store>,
    desk: i64,
    attempt: &Attempt,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let error = match attempt {
        Attempt::Sent { .. } => None,
        Attempt::Retry { error, .. } | Attempt::Failed { error } => Some(error.clone()),
    };
    db(store, move |s| {
        s.note_desk_result(desk, error.as_deref(), now)
    })
    .await
}

/// One pass: delivers what is due, then reads replies of the tickets due a
/// poll. `notify` wakes a device whose feed gained entries.
pub async fn pass(
    store: &Arc<dyn Store>,
    notify: &(dyn Fn(Uuid) + Send + Sync),
    now: OffsetDateTime,
) -> Result<Pass, AppError> {
    let mut clients = Clients::default();
    let p = deliver_due(store, &mut clients, now).await?;
    replies::poll_due(store, &mut clients, notify, now).await?;
    Ok(p)
}

/// The forwarding worker: runs passes until stopped, one a second while idle
/// and straight away again while work was done. `serve` runs it on the one
/// server node holding the `forwarding` lease (`super::leases`).
pub async fn run_worker(store: Arc<dyn Store>, notify: impl Fn(Uuid) + Send + Sync + 'static) {
    let mut clients = Clients::default();
    loop {
        let now = now_utc();
        let busy = match deliver_due(&store, &mut clients, now).await {
            Ok(p) => p.delivered > 0,
            Err(e) => {
                tracing::error!(error = %e, "forwarding: delivery pass failed");
                false
            }
        };
        if let Err(e) = replies::poll_due(&store, &mut clients, &notify, now).await {
            tracing::error!(error = %e, "forwarding: reply poll failed");
        }
        if !busy {
            tokio::time::sleep(IDLE_TICK).await;
        }
    }
}

#[cfg(test)]
mod tests;
