//! The pure half of the sync engine: what to do next, decided from a snapshot
//! of local state and the current time. No I/O here.

use rand::Rng;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// A queued ticket, as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedTicket {
    pub client_id: Uuid,
    pub created_at: OffsetDateTime,
}

/// A queued screenshot of a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedScreenshot {
    pub ticket_client_id: Uuid,
    /// Whether the ticket itself is already sent (otherwise it is queued).
    pub ticket_sent: bool,
}

/// A queued teacher message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    pub client_id: Uuid,
    pub ticket_client_id: Uuid,
    pub created_at: OffsetDateTime,
    /// Whether its ticket is already sent (otherwise it is queued).
    pub ticket_sent: bool,
}

/// A queued small event ("me too", "this fixed it").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEvent {
    pub client_id: Uuid,
    pub created_at: OffsetDateTime,
}

/// Saved retry state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackoffState {
    /// Failed passes in a row.
    pub attempt: u32,
    /// Do not contact the server before this time.
    pub next_attempt_at: Option<OffsetDateTime>,
}

/// Everything the planner needs to know, read from the store in one go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncState {
    pub enrolled: bool,
    /// Why the queue is paused (device revoked/unknown), if it is.
    pub paused: Option<String>,
    pub backoff: BackoffState,
    pub tickets: Vec<QueuedTicket>,
    pub screenshots: Vec<QueuedScreenshot>,
    pub messages: Vec<QueuedMessage>,
    pub events: Vec<QueuedEvent>,
    pub last_kb_refresh: Option<OffsetDateTime>,
    pub last_announcements_refresh: Option<OffsetDateTime>,
}

/// Knobs of one planning decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanOptions {
    /// Go now even if the saved backoff says wait ("sync now", a fresh submission).
    pub ignore_backoff: bool,
    /// Refresh the knowledge base and announcements regardless of their age.
    pub force_refresh: bool,
    pub kb_max_age: Duration,
    pub announcements_max_age: Duration,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            ignore_backoff: false,
            force_refresh: false,
            kb_max_age: Duration::from_secs(15 * 60),
            announcements_max_age: Duration::from_secs(5 * 60),
        }
    }
}

/// One request of a sync pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    SendTicket(Uuid),
    /// Upload the screenshot of this ticket (after the ticket itself).
    SendScreenshot(Uuid),
    SendMessage(Uuid),
    /// Post a queued event (after tickets and messages: none of them depend on it).
    SendEvent(Uuid),
    /// Drain the updates feed (no long-poll).
    PollUpdates,
    RefreshKb,
    RefreshAnnouncements,
}

/// What a sync pass should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Not enrolled: nothing can be sent.
    NotEnrolled,
    /// The device was refused (401/403); nothing is sent until re-enrolled.
    Paused { reason: String },
    /// Backing off; try again at `until`.
    Wait { until: OffsetDateTime },
    /// Run these steps in order.
    Run(Vec<Step>),
}

/// Decides the next sync pass. Order: queued tickets oldest first (by
/// `created_at`, then client id), then screenshots, then teacher messages whose
/// ticket is sent or being sent in this pass, then the updates feed, then the
/// knowledge base and announcements when stale.
pub fn plan(state: &SyncState, now: OffsetDateTime, opts: &PlanOptions) -> Plan {
    if !state.enrolled {
        return Plan::NotEnrolled;
    }
    if let Some(reason) = &state.paused {
        return Plan::Paused {
            reason: reason.clone(),
        };
    }
    if !opts.ignore_backoff
        && let Some(until) = state.backoff.next_attempt_at
        && until > now
    {
        return Plan::Wait { until };
    }
    let mut steps = Vec::new();
    let mut tickets = state.tickets.clone();
    tickets.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then(a.client_id.cmp(&b.client_id))
    });
    let queued: std::collections::HashSet<Uuid> = tickets.iter().map(|t| t.client_id).collect();
    steps.extend(tickets.iter().map(|t| Step::SendTicket(t.client_id)));

    // Screenshots in the order of their tickets: already-sent ones first (their
    // tickets are older), then those of tickets sent in this pass.
    let order = |id: &Uuid| {
        tickets
            .iter()
            .position(|t| t.client_id == *id)
            .map_or(0, |p| p + 1)
    };
    let mut shots: Vec<&QueuedScreenshot> = state
        .screenshots
        .iter()
        .filter(|s| s.ticket_sent || queued.contains(&s.ticket_client_id))
        .collect();
    shots.sort_by_key(|s| (order(&s.ticket_client_id), s.ticket_client_id));
    steps.extend(
        shots
            .iter()
            .map(|s| Step::SendScreenshot(s.ticket_client_id)),
    );

    let mut messages: Vec<&QueuedMessage> = state
        .messages
        .iter()
        .filter(|m| m.ticket_sent || queued.contains(&m.ticket_client_id))
        .collect();
    messages.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then(a.client_id.cmp(&b.client_id))
    });
    steps.extend(messages.iter().map(|m| Step::SendMessage(m.client_id)));

    let mut events: Vec<&QueuedEvent> = state.events.iter().collect();
    events.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then(a.client_id.cmp(&b.client_id))
    });
    steps.extend(events.iter().map(|e| Step::SendEvent(e.client_id)));

    steps.push(Step::PollUpdates);
    let stale = |last: Option<OffsetDateTime>, max: Duration| match last {
        None => true,
        Some(t) => (now - t) >= max || t > now,
    };
    if opts.force_refresh || stale(state.last_kb_refresh, opts.kb_max_age) {
        steps.push(Step::RefreshKb);
    }
    if opts.force_refresh || stale(state.last_announcements_refresh, opts.announcements_max_age) {
        steps.push(Step::RefreshAnnouncements);
    }
    Plan::Run(steps)
}

/// Base delay of the exponential backoff.
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);

/// The longest Retry-After obeyed: a server asking for more is waited out
/// for this long, then tried again.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60 * 60);

/// Full-jitter exponential backoff: a uniformly random delay in
/// `[0, min(cap, base * 2^attempt)]`, but never shorter than the server's
/// Retry-After (the server's word wins, even beyond the cap, up to
/// [`MAX_RETRY_AFTER`]).
pub fn backoff_delay(
    attempt: u32,
    cap: Duration,
    retry_after: Option<Duration>,
    rng: &mut impl Rng,
) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX));
    let ceiling = exp.min(cap);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    let jittered = Duration::from_millis(rng.random_range(0..=millis));
    match retry_after {
        Some(ra) => jittered.max(ra.min(MAX_RETRY_AFTER)),
        None => jittered,
    }
}

/// The next backoff state after a failed pass at `now`.
pub fn after_failure(
    state: BackoffState,
    now: OffsetDateTime,
    cap: Duration,
    retry_after: Option<Duration>,
    rng: &mut impl Rng,
) -> BackoffState {
    let delay = backoff_delay(state.attempt, cap, retry_after, rng);
    // At the end of time's range the pass is simply retried at `now`.
    let next = time::Duration::try_from(delay)
        .ok()
        .and_then(|d| now.checked_add(d))
        .unwrap_or(now);
    BackoffState {
        attempt: state.attempt.saturating_add(1),
        next_attempt_at: Some(next),
    }
}

/// What a server answer means for the item it was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx (201 new, 200 repeat): mark sent.
    Sent,
    /// 408, 429, 5xx, no answer: keep queued, back off, retry later.
    RetryLater,
    /// 400, 404, 409, 413, 415, 422 …: mark this item rejected, go on with the rest.
    RejectItem,
    /// 401, 403: pause the whole queue until re-enrolled.
    PauseQueue,
}

/// Classifies an HTTP status code.
pub fn classify(status: u16) -> Outcome {
    match status {
        200..=299 => Outcome::Sent,
        401 | 403 => Outcome::PauseQueue,
        408 | 425 | 429 => Outcome::RetryLater,
        400..=499 => Outcome::RejectItem,
        // 5xx, and anything unexpected (1xx, 3xx left after redirects): try again later.
        _ => Outcome::RetryLater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use time::macros::datetime;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }
    const T0: OffsetDateTime = datetime!(2025-03-01 09:00 UTC);

    fn enrolled() -> SyncState {
        SyncState {
            enrolled: true,
            last_kb_refresh: Some(T0),
            last_announcements_refresh: Some(T0),
            ..Default::default()
        }
    }

    /// Enrolled, with one ticket waiting.
    fn one_ticket_queued() -> SyncState {
        SyncState {
            tickets: vec![QueuedTicket {
                client_id: id(1),
                created_at: T0,
            }],
            ..enrolled()
        }
    }

    #[test]
    fn sends_oldest_first_then_screenshots_then_messages() {
        let mut s = enrolled();
        s.tickets = vec![
            QueuedTicket {
                client_id: id(3),
                created_at: T0 + Duration::from_secs(20),
            },
            QueuedTicket {
                client_id: id(2),
                created_at: T0,
            },
            QueuedTicket {
                client_id: id(1),
                created_at: T0,
            },
        ];
        s.screenshots = vec![
            QueuedScreenshot {
                ticket_client_id: id(3),
                ticket_sent: false,
            },
            QueuedScreenshot {
                ticket_client_id: id(9),
                ticket_sent: true,
            },
            // Its ticket is neither sent nor queued (rejected): not planned.
            QueuedScreenshot {
                ticket_client_id: id(8),
                ticket_sent: false,
            },
        ];
        s.messages = vec![
            QueuedMessage {
                client_id: id(21),
                ticket_client_id: id(9),
                created_at: T0 + Duration::from_secs(5),
                ticket_sent: true,
            },
            QueuedMessage {
                client_id: id(20),
                ticket_client_id: id(1),
                created_at: T0 + Duration::from_secs(1),
                ticket_sent: false,
            },
            QueuedMessage {
                client_id: id(22),
                ticket_client_id: id(8),
                created_at: T0,
                ticket_sent: false,
            },
        ];
        let p = plan(&s, T0 + Duration::from_secs(60), &PlanOptions::default());
        assert_eq!(
            p,
            Plan::Run(vec![
                Step::SendTicket(id(1)),
                Step::SendTicket(id(2)),
                Step::SendTicket(id(3)),
                Step::SendScreenshot(id(9)),
                Step::SendScreenshot(id(3)),
                Step::SendMessage(id(20)),
                Step::SendMessage(id(21)),
                Step::PollUpdates,
            ])
        );
    }

    #[test]
    fn refreshes_when_stale_or_forced() {
        let s = enrolled();
        let now = T0 + Duration::from_secs(6 * 60);
        assert_eq!(
            plan(&s, now, &PlanOptions::default()),
            Plan::Run(vec![Step::PollUpdates, Step::RefreshAnnouncements])
        );
        let forced = PlanOptions {
            force_refresh: true,
            ..Default::default()
        };
        assert_eq!(
            plan(&s, T0, &forced),
            Plan::Run(vec![
                Step::PollUpdates,
                Step::RefreshKb,
                Step::RefreshAnnouncements
            ])
        );
        let never = SyncState {
            enrolled: true,
            ..Default::default()
        };
        assert_eq!(
            plan(&never, T0, &PlanOptions::default()),
            Plan::Run(vec![
                Step::PollUpdates,
                Step::RefreshKb,
                Step::RefreshAnnouncements
            ])
        );
    }

    #[test]
    fn paused_and_not_enrolled_send_nothing() {
        let mut s = one_ticket_queued();
        s.paused = Some("revoked".into());
        let opts = PlanOptions {
            ignore_backoff: true,
            force_refresh: true,
            ..Default::default()
        };
        assert_eq!(
            plan(&s, T0, &opts),
            Plan::Paused {
                reason: "revoked".into()
            }
        );
        s.enrolled = false;
        assert_eq!(plan(&s, T0, &opts), Plan::NotEnrolled);
    }

    #[test]
    fn backoff_waits_unless_ignored_or_elapsed() {
        let mut s = one_ticket_queued();
        let until = T0 + Duration::from_secs(30);
        s.backoff = BackoffState {
            attempt: 3,
            next_attempt_at: Some(until),
        };
        assert_eq!(plan(&s, T0, &PlanOptions::default()), Plan::Wait { until });
        let go = PlanOptions {
            ignore_backoff: true,
            ..Default::default()
        };
        assert!(
            matches!(plan(&s, T0, &go), Plan::Run(steps) if steps[0] == Step::SendTicket(id(1)))
        );
        assert!(matches!(
            plan(&s, until, &PlanOptions::default()),
            Plan::Run(_)
        ));
    }

    #[test]
    fn retry_after_sets_next_attempt() {
        let mut rng = StdRng::seed_from_u64(7);
        let cap = Duration::from_secs(300);
        let next = after_failure(
            BackoffState::default(),
            T0,
            cap,
            Some(Duration::from_secs(42)),
            &mut rng,
        );
        assert_eq!(next.attempt, 1);
        // attempt 0 jitter is at most 1 s, so the Retry-After decides.
        assert_eq!(next.next_attempt_at, Some(T0 + Duration::from_secs(42)));
        let mut s = enrolled();
        s.backoff = next;
        assert!(matches!(
            plan(&s, T0 + Duration::from_secs(41), &PlanOptions::default()),
            Plan::Wait { .. }
        ));
        assert!(matches!(
            plan(&s, T0 + Duration::from_secs(42), &PlanOptions::default()),
            Plan::Run(_)
        ));
    }

    #[test]
    fn huge_retry_after_is_capped_and_never_overflows() {
        let mut rng = StdRng::seed_from_u64(7);
        let cap = Duration::from_secs(300);
        let huge = Some(Duration::from_secs(u64::MAX));
        let next = after_failure(BackoffState::default(), T0, cap, huge, &mut rng);
        assert_eq!(next.next_attempt_at, Some(T0 + MAX_RETRY_AFTER));
        let a_day = Some(Duration::from_secs(86_400));
        assert_eq!(backoff_delay(3, cap, a_day, &mut rng), MAX_RETRY_AFTER);
        // At the very end of time's range the pass is retried, not panicking.
        let end = time::PrimitiveDateTime::MAX.assume_utc();
        let next = after_failure(BackoffState::default(), end, cap, huge, &mut rng);
        assert_eq!(next.next_attempt_at, Some(end));
    }

    #[test]
    fn jitter_stays_within_bounds_and_varies() {
        let mut rng = StdRng::seed_from_u64(42);
        let cap = Duration::from_secs(300);
        for attempt in 0..40u32 {
            let ceiling = Duration::from_secs(1u64 << attempt.min(20)).min(cap);
            let mut seen = std::collections::HashSet::new();
            for _ in 0..200 {
                let d = backoff_delay(attempt, cap, None, &mut rng);
                assert!(d <= ceiling, "attempt {attempt}: {d:?} > {ceiling:?}");
                seen.insert(d);
            }
            assert!(seen.len() > 10, "attempt {attempt}: no jitter");
        }
        // Late attempts actually reach high values (full range used).
        let max = (0..500)
            .map(|_| backoff_delay(30, cap, None, &mut rng))
            .max()
            .expect("non-empty");
        assert!(max > Duration::from_secs(250), "{max:?}");
        // Same seed, same sequence: deterministic for tests.
        let a: Vec<_> = {
            let mut r = StdRng::seed_from_u64(1);
            (0..5)
                .map(|i| backoff_delay(i, cap, None, &mut r))
                .collect()
        };
        let b: Vec<_> = {
            let mut r = StdRng::seed_from_u64(1);
            (0..5)
                .map(|i| backoff_delay(i, cap, None, &mut r))
                .collect()
        };
        assert_eq!(a, b);
    }

    #[test]
    fn classification_table() {
        use Outcome::*;
        let table: &[(u16, Outcome)] = &[
            (200, Sent),
            (201, Sent),
            (204, Sent),
            (400, RejectItem),
            (401, PauseQueue),
            (403, PauseQueue),
            (404, RejectItem),
            (408, RetryLater),
            (409, RejectItem),
            (413, RejectItem),
            (415, RejectItem),
            (422, RejectItem),
            (429, RetryLater),
            (500, RetryLater),
            (502, RetryLater),
            (503, RetryLater),
            (504, RetryLater),
        ];
        for (status, want) in table {
            assert_eq!(classify(*status), *want, "status {status}");
        }
    }
}
