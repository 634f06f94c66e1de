//! The [`Agent`] handle: the API the CLI and the tray app call.

use handraise_wire::{
    Announcement, Article, Category, DeviceSnapshot, EnrollRequest, ImageType, NewMessage,
    NewTicket, Reachability, Reporter, Scope, SelfHelpAttempt, TextError, TextField, Urgency,
    check_optional_text, check_text,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::config::Config;
use crate::enrollment::Enrollment;
use crate::error::{AgentError, StoreError, SyncError};
use crate::facts::{self, ContactFacts, Depth};
use crate::lock::SyncLock;
use crate::store::{ContactInfo, ItemState, KbHit, QueueCounts, Store, TicketView};
use crate::sync::client::{Answer, ApiClient, http_client};
use crate::sync::plan::{self, BackoffState, Plan, PlanOptions, Step};

/// A snapshot older than this is refreshed in the background by the sync loop.
pub const SNAPSHOT_MAX_AGE: Duration = Duration::from_secs(10 * 60);
/// How long the scheduler long-polls the updates feed when idle.
pub const LONG_POLL_SECS: u64 = 25;
/// Reason shown while the queue is paused because the server refused the device.
pub const PAUSED_REASON: &str = "this computer needs to be reconnected to the help desk";

/// A screenshot the teacher chose to include.
#[derive(Clone, PartialEq, Eq)]
pub struct Screenshot {
    pub bytes: Vec<u8>,
    /// `image/png` or `image/jpeg`.
    pub content_type: String,
}

impl std::fmt::Debug for Screenshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Screenshot")
            .field("bytes", &self.bytes.len())
            .field("content_type", &self.content_type)
            .finish()
    }
}

/// What the teacher filled in on the report form.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportInput {
    pub category: Category,
    pub summary: String,
    pub details: Option<String>,
    pub urgency: Option<Urgency>,
    pub scope: Option<Scope>,
    pub room: Option<String>,
    /// Defaults to the OS user when `None`.
    pub reporter: Option<Reporter>,
    pub self_help: Vec<SelfHelpAttempt>,
    pub announcement_id: Option<i64>,
    pub screenshot: Option<Screenshot>,
    /// The snapshot the teacher reviewed (items unticked removed). `None` = the
    /// cached snapshot, or a quick one when none is cached.
    pub snapshot: Option<DeviceSnapshot>,
}

impl ReportInput {
    pub fn new(category: Category, summary: impl Into<String>) -> Self {
        ReportInput {
            category,
            summary: summary.into(),
            details: None,
            urgency: None,
            scope: None,
            room: None,
            reporter: None,
            self_help: Vec::new(),
            announcement_id: None,
            screenshot: None,
            snapshot: None,
        }
    }
}

/// Checks a report with the server's rules (`handraise_wire::check_text`, `ImageType`).
pub fn validate_report(input: &ReportInput) -> Result<(), AgentError> {
    let invalid = |e: TextError| AgentError::Invalid(e.to_string());
    check_text(TextField::Summary, &input.summary).map_err(invalid)?;
    check_optional_text(TextField::Details, input.details.as_deref()).map_err(invalid)?;
    check_optional_text(TextField::Room, input.room.as_deref()).map_err(invalid)?;
    if let Some(s) = &input.screenshot
        && !ImageType::matches(&s.content_type, &s.bytes)
    {
        return Err(AgentError::Invalid(
            "the screenshot must be a PNG or JPEG image".into(),
        ));
    }
    Ok(())
}

/// Checks a teacher message; returns it trimmed.
pub fn validate_message(body: &str) -> Result<String, AgentError> {
    match check_text(TextField::Message, body) {
        Ok(body) => Ok(body.unwrap_or_default().to_owned()),
        Err(e) => Err(AgentError::Invalid(e.to_string())),
    }
}

/// How a sync pass behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncOptions {
    pub plan: PlanOptions,
    /// A Retry-After up to this long is waited out within the pass (then retried).
    pub max_inline_retry_after: Duration,
    /// How long to wait for another process's sync lock.
    pub lock_wait: Duration,
}

impl SyncOptions {
    /// `handraise-agent sync`: go now, refresh everything, wait out short
    /// Retry-Afters, wait up to 30 s for the lock.
    pub fn one_shot() -> Self {
        SyncOptions {
            plan: PlanOptions {
                ignore_backoff: true,
                force_refresh: true,
                ..PlanOptions::default()
            },
            max_inline_retry_after: Duration::from_secs(5),
            lock_wait: Duration::from_secs(30),
        }
    }

    /// A pass of the scheduler: respects the backoff unless woken; a woken pass ("sync
    /// now", a window opening, a report) also refreshes announcements and the knowledge base.
    pub fn background(woken: bool) -> Self {
        SyncOptions {
            plan: PlanOptions {
                ignore_backoff: woken,
                force_refresh: woken,
                ..PlanOptions::default()
            },
            max_inline_retry_after: Duration::from_secs(2),
            lock_wait: Duration::ZERO,
        }
    }
}

/// An item the server refused in a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// `ticket`, `message` or `screenshot`.
    pub kind: &'static str,
    pub client_id: Uuid,
    pub reason: String,
}

/// What one sync pass did.
#[derive(Debug, Default)]
pub struct SyncReport {
    /// Tickets sent in this pass, with their numbers.
    pub sent_tickets: Vec<(Uuid, i64)>,
    pub sent_messages: usize,
    pub sent_screenshots: usize,
    pub rejected: Vec<Rejection>,
    /// Screenshots the server would not take (too large); their tickets went without them.
    pub dropped_screenshots: Vec<Uuid>,
    pub updates_applied: usize,
    /// The queue is paused (device refused); why.
    pub paused: Option<String>,
    pub not_enrolled: bool,
    /// Backing off: nothing was tried before this time.
    pub waiting_until: Option<OffsetDateTime>,
    /// The transient failure that ended the pass early.
    pub failure: Option<SyncError>,
    /// What is still waiting to be sent after the pass.
    pub remaining: QueueCounts,
}

impl SyncReport {
    /// Nothing is left to send and the device is in good standing.
    pub fn is_complete(&self) -> bool {
        self.remaining.total() == 0 && self.paused.is_none() && !self.not_enrolled
    }
}

/// Overall state for the tray icon and `status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgentStatus {
    pub enrolled: bool,
    pub server_url: Option<String>,
    pub paused: Option<String>,
    pub queued: QueueCounts,
    pub contact: ContactInfo,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    pub tickets: Vec<TicketView>,
}

/// Wakes the scheduler ("sync now", "a ticket was submitted", "network is back").
#[derive(Debug, Clone)]
pub struct Waker(Arc<Notify>);

impl Waker {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

struct Inner {
    config: Config,
    store: Arc<Mutex<Store>>,
    http: reqwest::Client,
    wake: Arc<Notify>,
    rng: Mutex<StdRng>,
    refreshing: Arc<AtomicBool>,
    recovered_db: Option<PathBuf>,
    /// Bumped whenever local tickets or sync state may have changed.
    changes: tokio::sync::watch::Sender<u64>,
}

/// A handle to the agent core of one data directory. Cheap to clone; usable
/// from async code (database work runs on blocking threads).
#[derive(Clone)]
pub struct Agent {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

impl Agent {
    /// Opens the data directory (creating it and the database as needed). A
    /// damaged database is moved aside and a fresh one created; see
    /// [`Agent::recovered_database`].
    pub fn open(config: Config) -> Result<Agent, AgentError> {
        let dir = config.data_dir.clone();
        std::fs::create_dir_all(&dir).map_err(|source| AgentError::Io {
            path: dir.clone(),
            source,
        })?;
        let (store, recovered) = Store::open(&dir.join("agent.db"), now())?;
        Ok(Agent {
            inner: Arc::new(Inner {
                config,
                store: Arc::new(Mutex::new(store)),
                http: http_client()?,
                wake: Arc::new(Notify::new()),
                rng: Mutex::new(StdRng::from_os_rng()),
                refreshing: Arc::new(AtomicBool::new(false)),
                recovered_db: recovered,
                changes: tokio::sync::watch::Sender::new(0),
            }),
        })
    }

    /// The HTTP client every request of this agent goes through.
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.config.data_dir
    }

    /// Where a damaged database was moved when this handle opened, if it was.
    pub fn recovered_database(&self) -> Option<&Path> {
        self.inner.recovered_db.as_deref()
    }

    /// Runs `f` on the store on a blocking thread.
    pub(crate) async fn db<T, F>(&self, f: F) -> Result<T, AgentError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.inner.store);
        tokio::task::spawn_blocking(move || {
            let guard = store
                .lock()
                .map_err(|_| AgentError::Task("database lock poisoned".into()))?;
            f(&guard).map_err(AgentError::from)
        })
        .await
        .map_err(|e| AgentError::Task(e.to_string()))?
    }

    /// A receiver that sees a new value whenever tickets or the sync state may have changed
    /// (a report, a message, a sync pass, applied updates). No polling needed.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    /// Until `stop` completes, checks every `every` whether another process (the CLI, or
    /// the tray while a window process is open) changed the data directory, and announces
    /// it through [`Agent::subscribe`]. Meant for while a window is open: it wakes up.
    pub async fn watch_other_processes<F: Future<Output = ()>>(&self, every: Duration, stop: F) {
        tokio::pin!(stop);
        let mut last = self.db(|s| s.data_version()).await.ok();
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(every) => {}
            }
            let now = self.db(|s| s.data_version()).await.ok();
            if now != last {
                last = now;
                self.changed();
            }
        }
    }

    pub(crate) fn changed(&self) {
        self.inner.changes.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// A handle that wakes the scheduler.
    pub fn waker(&self) -> Waker {
        Waker(Arc::clone(&self.inner.wake))
    }

    /// Wakes the scheduler now.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    // ---- enrollment -----------------------------------------------------

    /// The saved credentials of this data directory, if enrolled.
    pub fn enrollment(&self) -> Result<Option<Enrollment>, AgentError> {
        Ok(Enrollment::load(self.data_dir())?)
    }

    /// Enrolls this device with `server_url` and `token`, replacing any earlier
    /// credentials, and un-pauses the queue.
    pub async fn enroll(
        &self,
        server_url: &str,
        token: &str,
        school: Option<String>,
        building: Option<String>,
    ) -> Result<Enrollment, AgentError> {
        let server_url = crate::config::check_server_url(server_url)?;
        if token.trim().is_empty() {
            return Err(AgentError::Invalid("the enrollment token is empty".into()));
        }
        let (hostname, os, model) = tokio::task::spawn_blocking(|| {
            let host = sysinfo::System::host_name().unwrap_or_else(|_| "unknown".into());
            let os = sysinfo::System::long_os_version().ok();
            let model = std::fs::read_to_string("/sys/class/dmi/id/product_name")
                .ok()
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty());
            (host, os, model)
        })
        .await
        .map_err(|e| AgentError::Task(e.to_string()))?;
        let req = EnrollRequest {
            token: token.trim().to_owned(),
            hostname,
            school: school.clone(),
            building: building.clone(),
            os,
            model,
            agent_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        };
        let client = ApiClient::new(self.inner.http.clone(), &server_url, None);
        let answer = client.enroll(&req).await.map_err(|e| match e {
            SyncError::Unauthorized { message, .. } => AgentError::Invalid(format!(
                "the server refused the enrollment token: {message}"
            )),
            other => AgentError::Sync(other),
        })?;
        let enrollment = Enrollment {
            server_url,
            device_id: answer.value.device_id,
            device_secret: answer.value.device_secret.clone(),
            school,
            building,
            enrolled_at: now(),
        };
        let previous = self.enrollment().ok().flatten();
        enrollment.save(self.data_dir())?;
        let latency = answer.latency;
        let new_identity = previous.is_none_or(|p| p.device_id != enrollment.device_id);
        self.db(move |s| {
            if new_identity {
                s.reset_cursor()?;
            }
            s.set_paused(None)?;
            s.set_backoff(BackoffState::default())?;
            s.record_contact(now(), latency, None)
        })
        .await?;
        tracing::info!(device_id = %enrollment.device_id, server = %enrollment.server_url, "enrolled");
        self.wake();
        Ok(enrollment)
    }

    /// The saved credentials; enrolls first when none exist and the
    /// configuration names a server and an enrollment token (silent deployment).
    async fn ensure_enrolled(&self) -> Result<Option<Enrollment>, AgentError> {
        if let Some(e) = self.enrollment()? {
            return Ok(Some(e));
        }
        let c = &self.inner.config;
        match (&c.server_url, &c.enrollment_token) {
            (Some(url), Some(token)) => {
                tracing::info!(server = %url, "not enrolled yet; enrolling with the configured token");
                let e = self
                    .enroll(url, token.expose(), c.school.clone(), c.building.clone())
                    .await?;
                Ok(Some(e))
            }
            _ => Ok(None),
        }
    }

    // ---- outbox ---------------------------------------------------------

    /// Saves a ticket on this computer and returns its client id. Never touches
    /// the network; the sync engine sends it. Well under a second.
    pub async fn report(&self, input: ReportInput) -> Result<Uuid, AgentError> {
        validate_report(&input)?;
        let created_at = now();
        let client_id = Uuid::now_v7();
        let contact = self.db(|s| s.contact()).await?;
        let snapshot = match input.snapshot {
            Some(s) => s,
            None => self.cached_or_quick_snapshot(&contact).await?,
        };
        let reporter = input.reporter.unwrap_or_else(facts::current_reporter);
        let ticket = NewTicket {
            client_id,
            created_at,
            category: input.category,
            summary: input.summary.trim().to_owned(),
            details: input
                .details
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty()),
            urgency: input.urgency,
            scope: input.scope,
            room: input
                .room
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty()),
            reporter: Some(reporter),
            snapshot: Some(snapshot),
            self_help: input.self_help,
            offline_at_submit: contact.reachable().map(|ok| !ok),
            announcement_id: input.announcement_id,
        };
        let screenshot = input.screenshot;
        self.db(move |s| {
            s.insert_ticket(
                &ticket,
                screenshot
                    .as_ref()
                    .map(|sh| (sh.bytes.as_slice(), sh.content_type.as_str())),
                created_at,
            )
        })
        .await?;
        tracing::info!(%client_id, "ticket saved on this computer");
        self.wake();
        self.changed();
        Ok(client_id)
    }

    /// Queues a teacher message on a local ticket; returns the message's client id.
    pub async fn send_message(&self, ticket: Uuid, body: &str) -> Result<Uuid, AgentError> {
        let body = validate_message(body)?;
        let message = NewMessage {
            client_id: Uuid::now_v7(),
            created_at: now(),
            body,
        };
        let id = message.client_id;
        self.db(move |s| s.insert_message(ticket, &message)).await?;
        self.wake();
        self.changed();
        Ok(id)
    }

    /// Every local ticket, oldest first.
    pub async fn tickets(&self) -> Result<Vec<TicketView>, AgentError> {
        self.db(|s| s.tickets()).await
    }

    /// The whole picture: tickets, queue, pause, last contact.
    pub async fn status(&self) -> Result<AgentStatus, AgentError> {
        let enrollment = self.enrollment()?;
        let (tickets, queued, paused, contact, backoff) = self
            .db(|s| {
                Ok((
                    s.tickets()?,
                    s.queue_counts()?,
                    s.paused()?,
                    s.contact()?,
                    s.backoff()?,
                ))
            })
            .await?;
        Ok(AgentStatus {
            enrolled: enrollment.is_some(),
            server_url: enrollment.map(|e| e.server_url),
            paused,
            queued,
            contact,
            next_attempt_at: backoff.next_attempt_at,
            tickets,
        })
    }

    /// The teacher has seen the latest on a ticket.
    pub async fn mark_read(&self, ticket: Uuid) -> Result<(), AgentError> {
        self.db(move |s| s.mark_read(ticket)).await?;
        self.changed();
        Ok(())
    }

    // ---- self-help ------------------------------------------------------

    /// Searches the cached knowledge base (works offline).
    pub async fn search_kb(
        &self,
        query: &str,
        category: Option<Category>,
        limit: usize,
    ) -> Result<Vec<KbHit>, AgentError> {
        let q = query.to_owned();
        self.db(move |s| s.search_kb(&q, category, limit)).await
    }

    pub async fn kb_article(&self, slug: &str) -> Result<Option<Article>, AgentError> {
        let slug = slug.to_owned();
        self.db(move |s| s.kb_article(&slug)).await
    }

    /// "This fixed it" for an article.
    /// "This fixed it": recorded here and told to the server (which counts deflections per
    /// article) when the network allows.
    pub async fn record_deflection(&self, slug: &str) -> Result<(), AgentError> {
        let slug = slug.trim().to_owned();
        if slug.is_empty() || slug.contains(['/', '?', '#']) {
            return Err(AgentError::Invalid(format!("'{slug}' is not an article")));
        }
        let at = now();
        let id = Uuid::now_v7();
        let body = serde_json::json!({ "client_id": id, "created_at": at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default() });
        self.db(move |s| {
            s.record_deflection(&slug, at)?;
            s.insert_event(
                id,
                "deflection",
                &format!("/kb/{slug}/deflections"),
                &body,
                at,
            )
        })
        .await?;
        self.wake();
        self.changed();
        Ok(())
    }

    /// "Me too — add my room": counts this teacher against an announcement instead of
    /// filing a new ticket. Saved here first, sent when the network allows.
    pub async fn me_too(
        &self,
        announcement_id: i64,
        room: Option<String>,
    ) -> Result<Uuid, AgentError> {
        let at = now();
        let request = handraise_wire::MeTooRequest {
            client_id: Uuid::now_v7(),
            created_at: at,
            room: check_optional_text(TextField::Room, room.as_deref())
                .map_err(|e| AgentError::Invalid(e.to_string()))?
                .map(str::to_owned),
            reporter: Some(crate::facts::current_reporter()),
        };
        let id = request.client_id;
        let body = serde_json::to_value(&request).map_err(StoreError::from)?;
        self.db(move |s| {
            s.insert_event(
                id,
                "me_too",
                &format!("/announcements/{announcement_id}/me-too"),
                &body,
                at,
            )
        })
        .await?;
        self.wake();
        self.changed();
        Ok(id)
    }

    /// Cached active announcements.
    pub async fn announcements(&self) -> Result<Vec<Announcement>, AgentError> {
        self.db(|s| s.announcements(now())).await
    }

    // ---- device facts ---------------------------------------------------

    fn contact_facts(contact: &ContactInfo) -> ContactFacts {
        ContactFacts {
            reachability: contact.reachable().map(|ok| Reachability {
                reachable: ok,
                latency_ms: if ok { contact.last_latency_ms } else { None },
                error: if ok { None } else { contact.last_error.clone() },
            }),
            clock_skew_secs: contact.clock_skew_secs,
        }
    }

    /// A full, fresh snapshot (samples CPU; about a second). Cached for reports.
    pub async fn facts(&self) -> Result<DeviceSnapshot, AgentError> {
        let contact = self.db(|s| s.contact()).await?;
        let cf = Self::contact_facts(&contact);
        let at = now();
        let snap = tokio::task::spawn_blocking(move || facts::collect(Depth::Full, &cf, at))
            .await
            .map_err(|e| AgentError::Task(e.to_string()))?;
        let cached = snap.clone();
        self.db(move |s| s.store_snapshot(&cached, at, true))
            .await?;
        Ok(snap)
    }

    /// The snapshot a report would attach now: the cached one (with current
    /// reachability and skew), or a quick one when none is cached.
    pub async fn current_facts(&self) -> Result<DeviceSnapshot, AgentError> {
        let contact = self.db(|s| s.contact()).await?;
        self.cached_or_quick_snapshot(&contact).await
    }

    async fn cached_or_quick_snapshot(
        &self,
        contact: &ContactInfo,
    ) -> Result<DeviceSnapshot, AgentError> {
        let cf = Self::contact_facts(contact);
        if let Some(mut c) = self.db(|s| s.cached_snapshot()).await? {
            c.snapshot.server_reachability = cf.reachability;
            c.snapshot.clock_skew_secs = cf.clock_skew_secs;
            return Ok(c.snapshot);
        }
        let at = now();
        let snap = tokio::task::spawn_blocking(move || facts::collect(Depth::Quick, &cf, at))
            .await
            .map_err(|e| AgentError::Task(e.to_string()))?;
        let cached = snap.clone();
        self.db(move |s| s.store_snapshot(&cached, at, false))
            .await?;
        Ok(snap)
    }

    /// Starts a background full snapshot when the cached one is missing, quick or old.
    fn refresh_snapshot_if_stale(&self) {
        if self.inner.refreshing.swap(true, Ordering::SeqCst) {
            return;
        }
        let agent = self.clone();
        tokio::spawn(async move {
            let stale = match agent.db(|s| s.cached_snapshot()).await {
                Ok(Some(c)) => !c.full || now() - c.collected_at > SNAPSHOT_MAX_AGE,
                Ok(None) => true,
                Err(_) => false,
            };
            if stale && let Err(e) = agent.facts().await {
                tracing::warn!(error = %e, "device snapshot refresh failed");
            }
            agent.inner.refreshing.store(false, Ordering::SeqCst);
        });
    }

    // ---- sync -----------------------------------------------------------

    /// One pass as `handraise-agent sync` does it ([`SyncOptions::one_shot`]).
    pub async fn sync_once(&self) -> Result<SyncReport, AgentError> {
        self.sync_with(SyncOptions::one_shot()).await
    }

    /// One pass under the sync lock.
    pub async fn sync_with(&self, opts: SyncOptions) -> Result<SyncReport, AgentError> {
        let _lock = SyncLock::acquire(self.data_dir(), opts.lock_wait).await?;
        self.pass(&opts).await
    }

    async fn pass(&self, opts: &SyncOptions) -> Result<SyncReport, AgentError> {
        let mut report = SyncReport::default();
        let enrollment = match self.ensure_enrolled().await {
            Ok(e) => e,
            Err(AgentError::Sync(e)) if !e.is_permanent() => {
                report.failure = Some(e);
                None
            }
            Err(e) => return Err(e),
        };
        let enrolled = enrollment.is_some();
        let state = self.db(move |s| s.sync_state(enrolled)).await?;
        let started = now();
        match (plan::plan(&state, started, &opts.plan), enrollment) {
            (Plan::NotEnrolled, _) | (_, None) => report.not_enrolled = true,
            (Plan::Paused { reason }, _) => report.paused = Some(reason),
            (Plan::Wait { until }, _) => report.waiting_until = Some(until),
            (Plan::Run(steps), Some(enrollment)) => {
                let client = ApiClient::new(
                    self.inner.http.clone(),
                    &enrollment.server_url,
                    Some(enrollment.device_secret.clone()),
                );
                self.execute(&client, &steps, opts, &mut report).await?;
            }
        }
        report.remaining = self.db(|s| s.queue_counts()).await?;
        self.changed();
        Ok(report)
    }

    async fn execute(
        &self,
        client: &ApiClient,
        steps: &[Step],
        opts: &SyncOptions,
        report: &mut SyncReport,
    ) -> Result<(), AgentError> {
        'steps: for step in steps {
            let mut inline_waits = 0;
            loop {
                match self.exec_step(client, *step, report).await {
                    Ok(()) => break,
                    Err(SyncError::Unauthorized { status, message }) => {
                        tracing::warn!(status, %message, "the server refused this device; pausing the queue");
                        self.db(|s| s.set_paused(Some(PAUSED_REASON))).await?;
                        report.paused = Some(PAUSED_REASON.to_owned());
                        break 'steps;
                    }
                    Err(SyncError::Store(e)) => return Err(e.into()),
                    Err(e) => {
                        if let Some(ra) = e.retry_after()
                            && ra <= opts.max_inline_retry_after
                            && inline_waits < 3
                        {
                            inline_waits += 1;
                            tracing::info!(?ra, "server asked to retry shortly; waiting");
                            tokio::time::sleep(ra).await;
                            continue;
                        }
                        tracing::warn!(error = %e, "sync pass stopped; will retry later");
                        report.failure = Some(e);
                        break 'steps;
                    }
                }
            }
        }
        let at = now();
        match &report.failure {
            Some(e) => {
                let retry_after = e.retry_after();
                let cap = Duration::from_secs(self.inner.config.backoff_cap_secs);
                let next = {
                    let current = self.db(|s| s.backoff()).await?;
                    let mut rng = self
                        .inner
                        .rng
                        .lock()
                        .map_err(|_| AgentError::Task("rng lock poisoned".into()))?;
                    plan::after_failure(current, at, cap, retry_after, &mut *rng)
                };
                let msg = e.to_string();
                let transport = matches!(e, SyncError::Transport { .. });
                self.db(move |s| {
                    s.set_backoff(next)?;
                    if transport {
                        s.record_failure(at, &msg)?;
                    }
                    Ok(())
                })
                .await?;
            }
            None => {
                self.db(|s| s.set_backoff(BackoffState::default())).await?;
            }
        }
        Ok(())
    }

    /// Records a successful answer's latency and the clock skew from its Date header.
    async fn contacted<T>(&self, answer: &Answer<T>) -> Result<(), SyncError> {
        let at = now();
        let latency = answer.latency;
        let skew = answer.date.map(|d| (at - d).whole_seconds());
        self.db(move |s| s.record_contact(at, latency, skew))
            .await
            .map_err(into_sync)
    }

    async fn exec_step(
        &self,
        client: &ApiClient,
        step: Step,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        match step {
            Step::SendTicket(id) => {
                let payload = self
                    .db(move |s| s.ticket_payload(id))
                    .await
                    .map_err(into_sync)?;
                match client.post_ticket(&payload).await {
                    Ok(answer) => {
                        self.contacted(&answer).await?;
                        let receipt = answer.value;
                        let number = receipt.number;
                        self.db(move |s| s.mark_ticket_sent(&receipt, now()))
                            .await
                            .map_err(into_sync)?;
                        tracing::info!(client_id = %id, number, "ticket sent");
                        report.sent_tickets.push((id, number));
                        Ok(())
                    }
                    Err(SyncError::Rejected { message, .. }) => {
                        let reason = message.clone();
                        self.db(move |s| s.mark_ticket_rejected(id, &reason, now()))
                            .await
                            .map_err(into_sync)?;
                        tracing::warn!(client_id = %id, %message, "ticket refused by the server; kept on this computer");
                        report.rejected.push(Rejection {
                            kind: "ticket",
                            client_id: id,
                            reason: message,
                        });
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Step::SendScreenshot(ticket) => {
                let ready = self
                    .db(move |s| s.ticket_is_sent(ticket))
                    .await
                    .map_err(into_sync)?;
                if !ready {
                    return Ok(());
                }
                let (bytes, content_type) = self
                    .db(move |s| s.screenshot(ticket))
                    .await
                    .map_err(into_sync)?;
                match client.put_screenshot(ticket, bytes, &content_type).await {
                    Ok(answer) => {
                        self.contacted(&answer).await?;
                        self.db(move |s| s.mark_screenshot(ticket, ItemState::Sent, None))
                            .await
                            .map_err(into_sync)?;
                        report.sent_screenshots += 1;
                        Ok(())
                    }
                    Err(SyncError::Rejected {
                        status, message, ..
                    }) => {
                        let (state, reason) = if status == 413 {
                            report.dropped_screenshots.push(ticket);
                            (
                                ItemState::Dropped,
                                "the screenshot was too large; the ticket was sent without it"
                                    .to_owned(),
                            )
                        } else {
                            (ItemState::Rejected, message)
                        };
                        let r = reason.clone();
                        self.db(move |s| s.mark_screenshot(ticket, state, Some(&r)))
                            .await
                            .map_err(into_sync)?;
                        tracing::warn!(%ticket, %reason, "screenshot not accepted");
                        report.rejected.push(Rejection {
                            kind: "screenshot",
                            client_id: ticket,
                            reason,
                        });
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Step::SendMessage(id) => {
                let (ticket, message) = self
                    .db(move |s| s.message_payload(id))
                    .await
                    .map_err(into_sync)?;
                let ready = self
                    .db(move |s| s.ticket_is_sent(ticket))
                    .await
                    .map_err(into_sync)?;
                if !ready {
                    return Ok(());
                }
                match client.post_message(ticket, &message).await {
                    Ok(answer) => {
                        self.contacted(&answer).await?;
                        let receipt = answer.value;
                        self.db(move |s| s.mark_message_sent(&receipt))
                            .await
                            .map_err(into_sync)?;
                        report.sent_messages += 1;
                        Ok(())
                    }
                    Err(SyncError::Rejected { message, .. }) => {
                        let reason = message.clone();
                        self.db(move |s| s.mark_message_rejected(id, &reason))
                            .await
                            .map_err(into_sync)?;
                        report.rejected.push(Rejection {
                            kind: "message",
                            client_id: id,
                            reason: message,
                        });
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Step::SendEvent(id) => {
                let (path, body) = self
                    .db(move |s| s.event_payload(id))
                    .await
                    .map_err(into_sync)?;
                match client.post_event(&path, &body).await {
                    Ok(answer) => {
                        self.contacted(&answer).await?;
                        self.db(move |s| s.mark_event(id, ItemState::Sent, None))
                            .await
                            .map_err(into_sync)?;
                        Ok(())
                    }
                    Err(SyncError::Rejected { message, .. }) => {
                        let reason = message.clone();
                        self.db(move |s| s.mark_event(id, ItemState::Rejected, Some(&reason)))
                            .await
                            .map_err(into_sync)?;
                        report.rejected.push(Rejection {
                            kind: "event",
                            client_id: id,
                            reason: message,
                        });
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Step::PollUpdates => {
                for _ in 0..1000 {
                    let (applied, more) = self.poll_updates(client, 0).await?;
                    report.updates_applied += applied;
                    if !more {
                        break;
                    }
                }
                Ok(())
            }
            Step::RefreshKb => {
                let since = self.db(|s| s.kb_version()).await.map_err(into_sync)?;
                match client.kb(since).await {
                    Ok(answer) => {
                        self.contacted(&answer).await?;
                        let changes = answer.value;
                        self.db(move |s| s.apply_kb(&changes, now()))
                            .await
                            .map_err(into_sync)
                    }
                    Err(SyncError::Rejected { message, .. }) => {
                        tracing::warn!(%message, "knowledge-base refresh refused");
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Step::RefreshAnnouncements => match client.announcements().await {
                Ok(answer) => {
                    let at = now();
                    let latency = answer.latency;
                    // Server clock at the midpoint of the request.
                    let skew = (at - answer.value.server_time - latency / 2).whole_seconds();
                    let list = answer.value;
                    self.db(move |s| {
                        s.record_contact(at, latency, Some(skew))?;
                        s.replace_announcements(&list, at)
                    })
                    .await
                    .map_err(into_sync)
                }
                Err(SyncError::Rejected { message, .. }) => {
                    tracing::warn!(%message, "announcements refresh refused");
                    Ok(())
                }
                Err(e) => Err(e),
            },
        }
    }

    /// One page of the updates feed (long-polling up to `wait_secs`); returns
    /// (updates that changed something, more pages ready).
    async fn poll_updates(
        &self,
        client: &ApiClient,
        wait_secs: u64,
    ) -> Result<(usize, bool), SyncError> {
        let cursor = self.db(|s| s.cursor()).await.map_err(into_sync)?;
        match client.updates(cursor, wait_secs).await {
            Ok(answer) => {
                if wait_secs == 0 {
                    self.contacted(&answer).await?;
                }
                let page = answer.value;
                let more = page.more && !page.updates.is_empty();
                let applied = self
                    .db(move |s| s.apply_updates(&page, now()))
                    .await
                    .map_err(into_sync)?;
                if applied > 0 {
                    self.changed();
                }
                Ok((applied, more))
            }
            Err(SyncError::Rejected { message, .. }) => {
                tracing::warn!(%message, "updates feed refused");
                Ok((0, false))
            }
            Err(e) => Err(e),
        }
    }

    /// Runs the scheduler until `shutdown` completes: a pass every
    /// `sync_interval_secs` (or when the backoff allows), a pass at once when
    /// woken, long-polling the updates feed while idle, and a background
    /// refresh of the device snapshot.
    pub async fn run_sync_loop<F>(&self, shutdown: F) -> Result<(), AgentError>
    where
        F: Future<Output = ()>,
    {
        tokio::pin!(shutdown);
        let interval = Duration::from_secs(self.inner.config.sync_interval_secs.max(1));
        let mut woken = false;
        loop {
            let mut delay = interval;
            let mut client = None;
            match self.sync_with(SyncOptions::background(woken)).await {
                Ok(report) => {
                    let t = now();
                    if let Some(until) = report.waiting_until {
                        delay =
                            duration_until(t, until).min(interval.max(Duration::from_secs(1)) * 10);
                    } else if report.failure.is_some() {
                        let b = self.db(|s| s.backoff()).await?;
                        if let Some(until) = b.next_attempt_at {
                            delay = duration_until(t, until);
                        }
                    }
                    let idle = report.failure.is_none()
                        && report.paused.is_none()
                        && !report.not_enrolled
                        && report.waiting_until.is_none()
                        && report.remaining.total() == 0;
                    if idle && let Ok(Some(e)) = self.enrollment() {
                        client = Some(ApiClient::new(
                            self.inner.http.clone(),
                            &e.server_url,
                            Some(e.device_secret),
                        ));
                    }
                }
                Err(AgentError::Sync(SyncError::LockBusy)) => {
                    tracing::debug!("another process is syncing this data directory");
                }
                Err(e) => tracing::warn!(error = %e, "sync pass failed"),
            }
            woken = false;
            self.refresh_snapshot_if_stale();

            let sleep = tokio::time::sleep(delay.max(Duration::from_millis(100)));
            tokio::pin!(sleep);
            loop {
                let long_poll = async {
                    match &client {
                        Some(c) => {
                            let started = std::time::Instant::now();
                            let r = self.poll_updates(c, LONG_POLL_SECS).await;
                            (r, started.elapsed())
                        }
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = &mut shutdown => return Ok(()),
                    _ = self.inner.wake.notified() => { woken = true; break; }
                    _ = &mut sleep => break,
                    (r, took) = long_poll => match r {
                        Ok((_, _)) if took >= Duration::from_secs(1) => {}
                        Ok(_) => client = None, // answered at once: do not spin
                        Err(SyncError::Unauthorized { .. }) => {
                            self.db(|s| s.set_paused(Some(PAUSED_REASON))).await?;
                            client = None;
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "long-poll ended");
                            client = None;
                        }
                    },
                }
            }
        }
    }
}

fn duration_until(now: OffsetDateTime, until: OffsetDateTime) -> Duration {
    Duration::try_from(until - now).unwrap_or(Duration::ZERO)
}

fn into_sync(e: AgentError) -> SyncError {
    match e {
        AgentError::Store(s) => SyncError::Store(s),
        AgentError::Sync(s) => s,
        other => SyncError::Store(StoreError::Io {
            path: PathBuf::new(),
            source: std::io::Error::other(other.to_string()),
        }),
    }
}

#[cfg(test)]
mod tests;
