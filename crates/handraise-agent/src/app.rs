//! What the tray app's windows need, in the shapes they need it.
//!
//! The Tauri shell's commands are one-line delegations to [`App`]; every behaviour behind
//! them lives here, testable without a GUI. The types below are the IPC contract: `cargo
//! xtask codegen` generates `ui/src/lib/bindings.ts` from them (feature `ts`).

use crate::agent::{Agent, ReportInput as CoreReport, Screenshot};
use crate::error::{AgentError, StoreError, SyncError};
use crate::store::{ItemState, MessageView, TicketView};
use handraise_wire::{
    Announcement, AnnouncementKind, Article, Author, Category, DeviceSnapshot, ImageType, Reporter,
    Scope, SelfHelpAttempt, SelfHelpOutcome, TicketStatus, Urgency,
};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

#[cfg(feature = "ts")]
use ts_rs::TS;

/// Error of every command, serialised as `{ "code", "message" }`. The UI branches on `code`:
/// `invalid`, `not_enrolled`, `not_found`, `storage`, `network`, `internal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "ts", derive(TS))]
#[error("{code}: {message}")]
pub struct IpcError {
    pub code: String,
    pub message: String,
}

impl IpcError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        IpcError {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl From<AgentError> for IpcError {
    fn from(e: AgentError) -> Self {
        let code = match &e {
            AgentError::Invalid(_) | AgentError::Config(_) => "invalid",
            AgentError::Store(StoreError::UnknownTicket(_)) => "not_found",
            AgentError::Store(_) | AgentError::Io { .. } => "storage",
            AgentError::Sync(SyncError::Unauthorized { .. }) => "not_enrolled",
            AgentError::Sync(SyncError::Store(_)) => "storage",
            AgentError::Sync(_) => "network",
            AgentError::Task(_) => "internal",
        };
        IpcError::new(code, e.to_string())
    }
}

pub type IpcResult<T> = Result<T, IpcError>;

/// An active announcement, as the report form's banner shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(TS), ts(rename = "Announcement"))]
pub struct AnnouncementView {
    pub id: i64,
    #[cfg_attr(feature = "ts", ts(type = "\"outage\" | \"notice\""))]
    pub kind: AnnouncementKind,
    pub title: String,
    pub message: String,
    pub school: Option<String>,
    pub building: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "Category | null"))]
    pub category: Option<Category>,
    pub starts_at: String,
    pub ends_at: Option<String>,
}

/// The header of every window and the tray's tooltip, from one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(TS))]
pub struct AppStatus {
    pub enrolled: bool,
    pub server_url: Option<String>,
    /// The last contact with the server succeeded.
    pub online: bool,
    /// When the server was last reached, while it is unreachable (RFC 3339).
    pub offline_since: Option<String>,
    /// Reports saved on this computer and not yet sent.
    pub queued_count: u32,
    /// Tickets with a reply or change the teacher has not seen.
    pub unread_count: u32,
    pub paused_reason: Option<String>,
    pub teacher_name: Option<String>,
    pub room: Option<String>,
    pub school: Option<String>,
    pub building: Option<String>,
    pub announcements: Vec<AnnouncementView>,
    /// Announcements this computer already said "me too" to.
    pub me_too: Vec<i64>,
    /// The language chosen in the app (`en`, `es`), or `null` to follow the system.
    pub locale: Option<String>,
}

/// A self-help article matching what the teacher typed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(TS))]
pub struct ArticleHit {
    pub slug: String,
    pub title: String,
    pub snippet: String,
    #[cfg_attr(feature = "ts", ts(type = "Category[]"))]
    pub categories: Vec<Category>,
}

/// A cached knowledge-base article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(TS), ts(rename = "Article"))]
pub struct ArticleView {
    pub slug: String,
    pub title: String,
    /// Markdown.
    pub body: String,
    /// The body as safe HTML, by the renderer of the console's preview (`handraise-markdown`).
    pub html: String,
    #[cfg_attr(feature = "ts", ts(type = "Category[]"))]
    pub categories: Vec<Category>,
    pub keywords: Vec<String>,
    pub published: bool,
    pub version: i64,
}

impl From<Article> for ArticleView {
    fn from(a: Article) -> Self {
        ArticleView {
            slug: a.slug,
            title: a.title,
            html: handraise_markdown::to_html(&a.body),
            body: a.body,
            categories: a.categories,
            keywords: a.keywords,
            published: a.published,
            version: a.version,
        }
    }
}

/// One device fact in plain words, with the key the teacher can untick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(TS))]
pub struct FactItem {
    pub key: String,
    pub label: String,
    pub value: String,
}

/// The screenshot taken when the report form opened, for its preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(TS))]
pub struct ScreenshotPreview {
    pub png_base64: String,
    pub width: u32,
    pub height: u32,
}

/// A self-help article tried before filing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(TS), ts(rename = "SelfHelpAttempt"))]
pub struct TriedArticle {
    pub article_slug: String,
    #[cfg_attr(feature = "ts", ts(type = "\"still_broken\" | \"shown\""))]
    pub outcome: SelfHelpOutcome,
}

/// What the report form submits.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(TS))]
pub struct ReportInput {
    #[cfg_attr(feature = "ts", ts(type = "Category"))]
    pub category: Category,
    pub summary: String,
    pub details: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "Urgency"))]
    pub urgency: Urgency,
    #[cfg_attr(feature = "ts", ts(type = "Scope"))]
    pub scope: Scope,
    pub room: Option<String>,
    pub tried: Vec<TriedArticle>,
    /// Keys of [`FactItem`]s the teacher unticked.
    pub omit_facts: Vec<String>,
    pub include_screenshot: bool,
    pub announcement_id: Option<i64>,
}

/// A message on a ticket as the teacher sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(TS))]
pub struct LocalMessage {
    pub id: String,
    #[cfg_attr(feature = "ts", ts(type = "\"teacher\" | \"technician\""))]
    pub author: Author,
    pub author_name: Option<String>,
    pub body: String,
    pub at: String,
    #[cfg_attr(
        feature = "ts",
        ts(type = "\"queued\" | \"sent\" | \"rejected\" | \"received\"")
    )]
    pub state: ItemState,
}

/// A ticket as My tickets shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(TS))]
pub struct LocalTicket {
    pub client_id: String,
    #[cfg_attr(feature = "ts", ts(type = "\"queued\" | \"sent\" | \"rejected\""))]
    pub state: ItemState,
    pub number: Option<i64>,
    #[cfg_attr(feature = "ts", ts(type = "TicketStatus | null"))]
    pub status: Option<TicketStatus>,
    #[cfg_attr(feature = "ts", ts(type = "Category"))]
    pub category: Category,
    pub summary: String,
    pub details: Option<String>,
    pub created_at: String,
    pub assignee: Option<String>,
    pub unread: bool,
    pub reject_reason: Option<String>,
    pub messages: Vec<LocalMessage>,
    pub fixed: Option<bool>,
    pub rating: Option<u8>,
}

/// A native notification to show: a technician replied, or the ticket was resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub client_id: String,
    pub title: String,
    pub body: String,
}

fn ticket_name(t: &LocalTicket) -> String {
    match t.number {
        Some(n) => format!("ticket #{n}"),
        None => "your report".to_owned(),
    }
}

/// What changed between two looks at a ticket that deserves a notification. Pure.
pub fn notices(before: Option<&LocalTicket>, after: &LocalTicket) -> Vec<Notice> {
    let Some(before) = before else {
        // First sight (app start): no notification for old news.
        return Vec::new();
    };
    let mut out = Vec::new();
    for m in &after.messages {
        let new = m.author == Author::Technician && !before.messages.iter().any(|b| b.id == m.id);
        if new {
            let who = m.author_name.as_deref().unwrap_or("The help desk");
            let mut body: String = m.body.chars().take(140).collect();
            if m.body.chars().count() > 140 {
                body.push('…');
            }
            out.push(Notice {
                client_id: after.client_id.clone(),
                title: format!("{who} replied on {}", ticket_name(after)),
                body,
            });
        }
    }
    let resolved = |t: &LocalTicket| t.status == Some(TicketStatus::Resolved);
    if resolved(after) && !resolved(before) {
        out.push(Notice {
            client_id: after.client_id.clone(),
            title: format!("{} is resolved", capitalise(&ticket_name(after))),
            body: after.summary.clone(),
        });
    }
    out
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// How the tray icon looks and what its tooltip says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrayState {
    pub unread: u32,
    pub offline: bool,
    pub tooltip: String,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn message_view(m: MessageView) -> LocalMessage {
    LocalMessage {
        id: m.id.to_string(),
        author: m.author,
        author_name: m.author_name,
        body: m.body,
        at: rfc3339(m.at),
        state: m.state,
    }
}

fn local_ticket(t: TicketView, feedback: (Option<bool>, Option<u8>)) -> LocalTicket {
    LocalTicket {
        client_id: t.client_id.to_string(),
        state: t.state,
        number: t.number,
        status: t.status,
        category: t.category,
        summary: t.summary,
        details: t.details,
        created_at: rfc3339(t.created_at),
        assignee: t.assignee,
        unread: t.unread,
        reject_reason: t.reject_reason,
        messages: t.messages.into_iter().map(message_view).collect(),
        fixed: feedback.0,
        rating: feedback.1,
    }
}

fn announcement_view(a: Announcement) -> AnnouncementView {
    AnnouncementView {
        id: a.id,
        kind: a.kind,
        title: a.title,
        message: a.message,
        school: a.school,
        building: a.building,
        category: a.category,
        starts_at: rfc3339(a.starts_at),
        ends_at: a.ends_at.map(rfc3339),
    }
}

const GB: f64 = 1024.0 * 1024.0 * 1024.0;

fn gb(bytes: u64) -> String {
    let v = bytes as f64 / GB;
    if v >= 10.0 {
        format!("{v:.0} GB")
    } else {
        format!("{v:.1} GB")
    }
}

/// The device facts in plain words, one line per item the teacher can untick.
pub fn fact_items(s: &DeviceSnapshot) -> Vec<FactItem> {
    let mut out = Vec::new();
    let mut add = |key: &str, label: &str, value: String| {
        if !value.trim().is_empty() {
            out.push(FactItem {
                key: key.to_owned(),
                label: label.to_owned(),
                value,
            });
        }
    };
    if let Some(h) = &s.hostname {
        add("computer", "Computer name", h.clone());
    }
    let os = [s.os_name.as_deref(), s.os_version.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    add("os", "System", os);
    let model = [s.manufacturer.as_deref(), s.model.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let serial = s
        .serial
        .as_deref()
        .map(|x| format!(" (serial {x})"))
        .unwrap_or_default();
    add(
        "model",
        "Model",
        format!("{model}{serial}").trim().to_owned(),
    );
    if let Some(c) = &s.cpu {
        let cores = c.cores.map(|n| format!(", {n} cores")).unwrap_or_default();
        add(
            "cpu",
            "Processor",
            format!("{}{cores}", c.model.as_deref().unwrap_or("unknown")),
        );
    }
    if let Some(m) = &s.memory {
        add(
            "memory",
            "Memory",
            format!("{} of {} used", gb(m.used_bytes), gb(m.total_bytes)),
        );
    }
    if !s.disks.is_empty() {
        let disks = s
            .disks
            .iter()
            .map(|d| {
                format!(
                    "{}: {} free of {}",
                    d.mount,
                    gb(d.free_bytes),
                    gb(d.total_bytes)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        add("disks", "Disk space", disks);
    }
    let addrs: Vec<String> = s
        .interfaces
        .iter()
        .filter(|i| i.name != "lo" && !i.addresses.is_empty())
        .map(|i| format!("{} {}", i.name, i.addresses.join(", ")))
        .collect();
    let mut net = addrs.join("; ");
    if let Some(g) = &s.default_gateway {
        net.push_str(&format!("; gateway {g}"));
    }
    if !s.dns_servers.is_empty() {
        net.push_str(&format!("; DNS {}", s.dns_servers.join(", ")));
    }
    add(
        "network",
        "Network",
        net.trim_start_matches("; ").to_owned(),
    );
    if let Some(r) = &s.server_reachability {
        let v = if r.reachable {
            match r.latency_ms {
                Some(ms) => format!("Reached the help desk in {ms} ms"),
                None => "Reached the help desk".to_owned(),
            }
        } else {
            "Could not reach the help desk".to_owned()
        };
        add("connection", "Help desk connection", v);
    }
    if let Some(b) = &s.battery {
        let charge = b
            .charge_percent
            .map(|c| format!("{c:.0}% charged"))
            .unwrap_or_default();
        let health = b
            .health_percent
            .map(|h| format!(", health {h:.0}%"))
            .unwrap_or_default();
        add("battery", "Battery", format!("{charge}{health}"));
    }
    if !s.displays.is_empty() {
        let d = s
            .displays
            .iter()
            .map(|d| format!("{}×{}", d.width, d.height))
            .collect::<Vec<_>>()
            .join(", ");
        add("displays", "Screens", d);
    }
    if !s.printers.is_empty() {
        add("printers", "Printers", s.printers.join(", "));
    }
    if !s.top_processes.is_empty() {
        let p = s
            .top_processes
            .iter()
            .map(|p| p.name.clone())
            .collect::<Vec<_>>()
            .join(", ");
        add("processes", "Busiest programs", p);
    }
    let mut time = s.time_zone.clone().unwrap_or_default();
    if let Some(skew) = s.clock_skew_secs
        && skew.abs() >= 60
    {
        time.push_str(&format!(
            " (clock {} min {})",
            skew.abs() / 60,
            if skew > 0 { "fast" } else { "slow" }
        ));
    }
    add("time", "Time zone", time.trim().to_owned());
    if let Some(up) = s.uptime_secs {
        let h = up / 3600;
        let v = if h >= 48 {
            format!("{} days", h / 24)
        } else {
            format!("{h} hours")
        };
        add("uptime", "Running for", v);
    }
    out
}

/// Removes the facts behind each unticked key.
pub fn omit_facts(s: &mut DeviceSnapshot, keys: &[String]) {
    for key in keys {
        match key.as_str() {
            "computer" => s.hostname = None,
            "os" => {
                s.os_name = None;
                s.os_version = None;
                s.kernel = None;
                s.arch = None;
            }
            "model" => {
                s.manufacturer = None;
                s.model = None;
                s.serial = None;
            }
            "cpu" => s.cpu = None,
            "memory" => s.memory = None,
            "disks" => s.disks.clear(),
            "network" => {
                s.interfaces.clear();
                s.default_gateway = None;
                s.dns_servers.clear();
            }
            "connection" => s.server_reachability = None,
            "battery" => s.battery = None,
            "displays" => s.displays.clear(),
            "printers" => s.printers.clear(),
            "processes" => s.top_processes.clear(),
            "time" => {
                s.time_zone = None;
                s.clock_skew_secs = None;
            }
            "uptime" => s.uptime_secs = None,
            _ => {}
        }
    }
}

/// Width and height from a PNG header.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || ImageType::sniff(bytes) != Some(ImageType::Png) {
        return None;
    }
    let w = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(bytes[20..24].try_into().ok()?);
    Some((w, h))
}

/// Takes a screenshot of the whole screen with the platform's own tool, if it has one.
/// Held in memory only.
fn capture_screen() -> Option<Vec<u8>> {
    #[cfg(target_os = "linux")]
    {
        std::env::var_os("DISPLAY")?;
        let out = std::process::Command::new("import")
            .args(["-silent", "-window", "root", "png:-"])
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        (out.status.success() && png_size(&out.stdout).is_some()).then_some(out.stdout)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// A screenshot being taken: `None` until the capture finishes, then its outcome.
type PendingShot = tokio::sync::watch::Receiver<Option<Option<Arc<Vec<u8>>>>>;
/// Where the outcome of the screenshot being taken is sent.
type ShotSender = tokio::sync::watch::Sender<Option<Option<Arc<Vec<u8>>>>>;

/// The tray app's core: an [`Agent`] plus what lives only while windows are open.
#[derive(Clone)]
pub struct App {
    agent: Agent,
    screenshot: Arc<Mutex<Option<PendingShot>>>,
    shot_sender: Arc<Mutex<Option<ShotSender>>>,
    opened: Arc<Mutex<Option<(String, SystemTime)>>>,
}

const PREF_NAME: &str = "teacher_name";
const PREF_ROOM: &str = "room";
const PREF_LOCALE: &str = "locale";
/// Languages the app speaks.
pub const LOCALES: &[&str] = &["en", "es"];

impl App {
    pub fn new(agent: Agent) -> Self {
        App {
            agent,
            screenshot: Arc::new(Mutex::new(None)),
            shot_sender: Arc::new(Mutex::new(None)),
            opened: Arc::new(Mutex::new(None)),
        }
    }

    pub fn agent(&self) -> &Agent {
        &self.agent
    }

    async fn pref(&self, key: &'static str) -> Result<Option<String>, AgentError> {
        self.agent.db(move |s| s.pref(key)).await
    }

    /// The status line of every window.
    pub async fn status(&self) -> IpcResult<AppStatus> {
        let st = self.agent.status().await?;
        let announcements = self.agent.announcements().await?;
        let teacher_name = match self.pref(PREF_NAME).await? {
            Some(n) => Some(n),
            None => {
                // Reads /etc/passwd: once per status, not once per field.
                let me = crate::facts::current_reporter();
                me.display_name.or(me.os_user)
            }
        };
        let room = self.pref(PREF_ROOM).await?;
        let locale = self.pref(PREF_LOCALE).await?;
        let me_too = self.agent.db(|s| s.me_too_ids()).await?;
        let online = st.enrolled
            && st.contact.last_contact_at.is_some()
            && match (st.contact.last_contact_at, st.contact.last_error_at) {
                (Some(ok), Some(err)) => ok >= err,
                _ => true,
            };
        let offline_since = if st.enrolled && !online {
            st.contact
                .last_contact_at
                .or(st.contact.last_error_at)
                .map(rfc3339)
        } else {
            None
        };
        let enrollment = self.agent.enrollment().ok().flatten();
        let config = self.agent.config();
        Ok(AppStatus {
            enrolled: st.enrolled,
            server_url: st.server_url,
            online,
            offline_since,
            queued_count: u32::try_from(st.queued.tickets).unwrap_or(u32::MAX),
            unread_count: st.tickets.iter().filter(|t| t.unread).count() as u32,
            paused_reason: st.paused,
            teacher_name,
            room,
            school: enrollment
                .as_ref()
                .and_then(|e| e.school.clone())
                .or_else(|| config.school.clone()),
            building: enrollment
                .as_ref()
                .and_then(|e| e.building.clone())
                .or_else(|| config.building.clone()),
            announcements: announcements.into_iter().map(announcement_view).collect(),
            me_too,
            locale,
        })
    }

    /// What the tray shows, derived from [`App::status`].
    pub async fn tray_state(&self) -> IpcResult<TrayState> {
        let s = self.status().await?;
        let offline = s.enrolled && !s.online;
        let mut tooltip = String::from("HandRaise");
        if !s.enrolled {
            tooltip.push_str(" — not set up yet");
        } else if let Some(reason) = &s.paused_reason {
            tooltip.push_str(&format!(" — {reason}"));
        } else if offline {
            let since = s
                .offline_since
                .as_deref()
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
                .map(|t| {
                    let mins = (OffsetDateTime::now_utc() - t).whole_minutes().max(0);
                    match mins {
                        0 => " for less than a minute".to_owned(),
                        1 => " for 1 minute".to_owned(),
                        m if m < 120 => format!(" for {m} minutes"),
                        m => format!(" for {} hours", m / 60),
                    }
                })
                .unwrap_or_default();
            tooltip.push_str(&format!(" — offline{since}"));
        } else {
            tooltip.push_str(" — connected to the help desk");
        }
        match s.queued_count {
            0 => {}
            1 => tooltip.push_str("; 1 report waiting to send"),
            n => tooltip.push_str(&format!("; {n} reports waiting to send")),
        }
        match s.unread_count {
            0 => {}
            1 => tooltip.push_str("; 1 ticket with news"),
            n => tooltip.push_str(&format!("; {n} tickets with news")),
        }
        if let Some(a) = s.announcements.first() {
            tooltip.push_str(&format!("; {}: {}", a.kind_label(), a.title));
        }
        Ok(TrayState {
            unread: s.unread_count,
            offline,
            tooltip,
        })
    }

    /// First-run setup: enrolls with the district server and remembers the teacher.
    pub async fn setup(
        &self,
        server_url: &str,
        enrollment_code: &str,
        teacher_name: &str,
        room: &str,
    ) -> IpcResult<AppStatus> {
        let config = self.agent.config();
        self.agent
            .enroll(
                server_url.trim(),
                enrollment_code.trim(),
                config.school.clone(),
                config.building.clone(),
            )
            .await?;
        let name = teacher_name.trim().to_owned();
        let room = room.trim().to_owned();
        self.agent
            .db(move |s| {
                s.set_pref(
                    PREF_NAME,
                    Some(&name).filter(|n| !n.is_empty()).map(|n| n.as_str()),
                )?;
                s.set_pref(
                    PREF_ROOM,
                    Some(&room).filter(|r| !r.is_empty()).map(|r| r.as_str()),
                )
            })
            .await?;
        self.agent.changed();
        self.status().await
    }

    pub async fn search_help(
        &self,
        query: &str,
        category: Option<Category>,
    ) -> IpcResult<Vec<ArticleHit>> {
        let hits = self.agent.search_kb(query, category, 5).await?;
        Ok(hits
            .into_iter()
            .map(|h| ArticleHit {
                slug: h.slug,
                title: h.title,
                snippet: h.snippet,
                categories: h.categories,
            })
            .collect())
    }

    pub async fn article(&self, slug: &str) -> IpcResult<ArticleView> {
        self.agent
            .kb_article(slug)
            .await?
            .map(ArticleView::from)
            .ok_or_else(|| IpcError::new("not_found", format!("no article called {slug}")))
    }

    pub async fn record_deflection(&self, slug: &str) -> IpcResult<()> {
        Ok(self.agent.record_deflection(slug).await?)
    }

    /// The Help articles list: every cached article, or those of one category.
    pub async fn list_articles(&self, category: Option<Category>) -> IpcResult<Vec<ArticleHit>> {
        let hits = self.agent.db(move |s| s.kb_browse(category)).await?;
        Ok(hits
            .into_iter()
            .map(|h| ArticleHit {
                slug: h.slug,
                title: h.title,
                snippet: h.snippet,
                categories: h.categories,
            })
            .collect())
    }

    /// "Me too — add my room" on an active announcement (queued like a ticket).
    pub async fn me_too(&self, announcement_id: i64, room: Option<String>) -> IpcResult<()> {
        let known = self
            .agent
            .announcements()
            .await?
            .iter()
            .any(|a| a.id == announcement_id);
        if !known {
            return Err(IpcError::new(
                "not_found",
                "that announcement is no longer active",
            ));
        }
        self.agent.me_too(announcement_id, room).await?;
        Ok(())
    }

    /// The language chosen in the app, if any.
    pub async fn locale(&self) -> IpcResult<Option<String>> {
        Ok(self.pref(PREF_LOCALE).await?)
    }

    /// Chooses the app's language (`None` follows the system).
    pub async fn set_locale(&self, locale: Option<String>) -> IpcResult<()> {
        let locale = locale
            .map(|l| l.trim().to_lowercase())
            .filter(|l| !l.is_empty());
        if let Some(l) = &locale
            && !LOCALES.contains(&l.as_str())
        {
            return Err(IpcError::new(
                "invalid",
                format!(
                    "'{l}' is not a language of this app ({})",
                    LOCALES.join(", ")
                ),
            ));
        }
        self.agent
            .db(move |s| s.set_pref(PREF_LOCALE, locale.as_deref()))
            .await?;
        self.agent.changed();
        Ok(())
    }

    /// The facts a report will carry, in plain words.
    pub async fn facts(&self) -> IpcResult<Vec<FactItem>> {
        let mut snapshot = self.agent.current_facts().await?;
        omit_facts(&mut snapshot, &self.agent.config().policy.hide_facts);
        Ok(fact_items(&snapshot))
    }

    /// Starts taking the screenshot for a report form about to open; the form asks for it
    /// with [`App::screenshot`]. Only one is kept, in memory.
    pub fn begin_screenshot(&self) {
        self.expect_screenshot();
        let app = self.clone();
        // A plain thread: callers may be on a GUI thread with no async runtime.
        std::thread::spawn(move || app.set_screenshot(capture_screen()));
    }

    /// A screenshot is on its way (taken here, or by the tray for a form in a window process
    /// of its own): until [`App::set_screenshot`] delivers it, asking for it waits (up to
    /// 3 s) instead of answering "none".
    pub fn expect_screenshot(&self) {
        let (tx, rx) = tokio::sync::watch::channel(None);
        if let Ok(mut slot) = self.screenshot.lock() {
            *slot = Some(rx);
        }
        if let Ok(mut sender) = self.shot_sender.lock() {
            *sender = Some(tx);
        }
    }

    /// Delivers the screenshot expected (or, if none was, keeps it); `None` when there is
    /// none.
    pub fn set_screenshot(&self, png: Option<Vec<u8>>) {
        let outcome = Some(png.map(Arc::new));
        let sender = self.shot_sender.lock().ok().and_then(|mut s| s.take());
        if let Some(tx) = sender {
            // Fails only when the form was discarded meanwhile: then nothing is kept.
            let _ = tx.send(outcome);
            return;
        }
        let (tx, rx) = tokio::sync::watch::channel(outcome);
        drop(tx);
        if let Ok(mut slot) = self.screenshot.lock() {
            *slot = Some(rx);
        }
    }

    /// Takes a screenshot now, on this thread (the tray process hands it to the window).
    pub fn capture_screenshot_now() -> Option<Vec<u8>> {
        capture_screen()
    }

    /// Tells every subscriber that tickets or the sync state may have changed (a window
    /// process closed, for instance).
    pub fn announce_change(&self) {
        self.agent.changed();
    }

    /// Drops the screenshot (the form closed).
    pub fn discard_screenshot(&self) {
        if let Ok(mut slot) = self.screenshot.lock() {
            *slot = None;
        }
        if let Ok(mut sender) = self.shot_sender.lock() {
            *sender = None;
        }
    }

    async fn screenshot_bytes(&self) -> Option<Arc<Vec<u8>>> {
        let mut rx = self.screenshot.lock().ok()?.clone()?;
        let done = rx.wait_for(|v| v.is_some());
        let shot = tokio::time::timeout(Duration::from_secs(3), done)
            .await
            .ok()?
            .ok()?
            .clone();
        shot.flatten()
    }

    pub async fn screenshot(&self) -> IpcResult<Option<ScreenshotPreview>> {
        use base64::Engine;
        let Some(bytes) = self.screenshot_bytes().await else {
            return Ok(None);
        };
        let Some((width, height)) = png_size(&bytes) else {
            return Ok(None);
        };
        Ok(Some(ScreenshotPreview {
            png_base64: base64::engine::general_purpose::STANDARD.encode(bytes.as_slice()),
            width,
            height,
        }))
    }

    /// Saves the report on this computer (one transaction) and returns it as My tickets
    /// shows it; the sync engine sends it.
    pub async fn submit(&self, input: ReportInput) -> IpcResult<LocalTicket> {
        let mut snapshot = self.agent.current_facts().await?;
        omit_facts(&mut snapshot, &input.omit_facts);
        omit_facts(&mut snapshot, &self.agent.config().policy.hide_facts);
        let screenshot = if input.include_screenshot {
            self.screenshot_bytes().await.map(|bytes| Screenshot {
                bytes: bytes.as_ref().clone(),
                content_type: "image/png".into(),
            })
        } else {
            None
        };
        let mut reporter: Reporter = crate::facts::current_reporter();
        if let Some(name) = self.pref(PREF_NAME).await? {
            reporter.display_name = Some(name);
        }
        let room = input
            .room
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        let core = CoreReport {
            category: input.category,
            summary: input.summary,
            details: input.details.filter(|d| !d.trim().is_empty()),
            urgency: Some(input.urgency),
            scope: Some(input.scope),
            room: room.clone(),
            reporter: Some(reporter),
            self_help: input
                .tried
                .into_iter()
                .map(|t| SelfHelpAttempt {
                    article_slug: t.article_slug,
                    outcome: t.outcome,
                })
                .collect(),
            announcement_id: input.announcement_id,
            screenshot,
            snapshot: Some(snapshot),
        };
        let id = self.agent.report(core).await?;
        if let Some(room) = room {
            // Remembered for the next report; a failure here must not undo the saved ticket.
            let _ = self
                .agent
                .db(move |s| s.set_pref(PREF_ROOM, Some(&room)))
                .await;
        }
        self.discard_screenshot();
        self.ticket(&id.to_string()).await
    }

    fn parse_id(client_id: &str) -> IpcResult<Uuid> {
        Uuid::parse_str(client_id)
            .map_err(|_| IpcError::new("invalid", format!("'{client_id}' is not a ticket id")))
    }

    pub async fn tickets(&self) -> IpcResult<Vec<LocalTicket>> {
        let tickets = self.agent.tickets().await?;
        let ids: Vec<Uuid> = tickets.iter().map(|t| t.client_id).collect();
        let feedback = self
            .agent
            .db(move |s| {
                ids.iter()
                    .map(|id| s.feedback(*id))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
        let mut out: Vec<LocalTicket> = tickets
            .into_iter()
            .zip(feedback)
            .map(|(t, f)| local_ticket(t, f))
            .collect();
        out.reverse(); // newest first
        Ok(out)
    }

    pub async fn ticket(&self, client_id: &str) -> IpcResult<LocalTicket> {
        let id = Self::parse_id(client_id)?;
        let tickets = self.agent.tickets().await?;
        let t = tickets
            .into_iter()
            .find(|t| t.client_id == id)
            .ok_or_else(|| IpcError::new("not_found", "that ticket is not on this computer"))?;
        let feedback = self.agent.db(move |s| s.feedback(id)).await?;
        Ok(local_ticket(t, feedback))
    }

    pub async fn send_message(&self, client_id: &str, body: &str) -> IpcResult<LocalMessage> {
        let ticket = Self::parse_id(client_id)?;
        let id = self.agent.send_message(ticket, body).await?;
        self.ticket(client_id)
            .await?
            .messages
            .into_iter()
            .find(|m| m.id == id.to_string())
            .ok_or_else(|| IpcError::new("internal", "the message was saved but not found"))
    }

    pub async fn mark_read(&self, client_id: &str) -> IpcResult<()> {
        Ok(self.agent.mark_read(Self::parse_id(client_id)?).await?)
    }

    /// "It's fixed" / "Still broken" on a resolved ticket: recorded here and told to the
    /// technician as a message.
    pub async fn confirm_fixed(&self, client_id: &str, fixed: bool) -> IpcResult<LocalTicket> {
        let id = Self::parse_id(client_id)?;
        self.agent
            .db(move |s| s.set_feedback(id, Some(fixed), None))
            .await?;
        let note = if fixed {
            "It's fixed — thank you!"
        } else {
            "It's still broken."
        };
        self.agent.send_message(id, note).await?;
        self.ticket(client_id).await
    }

    /// A one-tap rating (1–5) of how the ticket was handled, told to the technician.
    pub async fn rate(&self, client_id: &str, rating: u8) -> IpcResult<LocalTicket> {
        if !(1..=5).contains(&rating) {
            return Err(IpcError::new("invalid", "a rating is 1 to 5 stars"));
        }
        let id = Self::parse_id(client_id)?;
        self.agent
            .db(move |s| s.set_feedback(id, None, Some(rating)))
            .await?;
        self.agent
            .send_message(id, &format!("Rated the help {rating} out of 5."))
            .await?;
        self.ticket(client_id).await
    }

    pub fn sync_now(&self) {
        self.agent.wake();
    }

    /// "Check my connection": DNS, gateway, the district server and the internet, with
    /// targets from configuration. The only probes of other hosts, and only on request.
    pub async fn check_connection(&self) -> IpcResult<crate::netcheck::ConnectionReport> {
        let config = self.agent.config();
        let server = self
            .agent
            .enrollment()
            .ok()
            .flatten()
            .map(|e| e.server_url)
            .or_else(|| config.server_url.clone());
        let gateway = match config.gateway_check_address.clone() {
            Some(address) => Some(address),
            None => tokio::task::spawn_blocking(|| {
                std::fs::read_to_string("/proc/net/route")
                    .ok()
                    .and_then(|t| crate::facts::parse_default_gateway(&t))
            })
            .await
            .ok()
            .flatten(),
        };
        let targets = crate::netcheck::Targets {
            dns_name: config
                .dns_check_name
                .clone()
                .or_else(|| server.as_deref().and_then(crate::netcheck::url_host)),
            gateway,
            server_health_url: server.map(|s| format!("{}/healthz", s.trim_end_matches('/'))),
            internet_url: config.internet_check_url.clone(),
        };
        Ok(crate::netcheck::run(self.agent.http(), &targets).await)
    }

    /// Notes when a window was asked for, to measure trigger → interactive.
    pub fn window_requested(&self, view: &str) {
        self.window_requested_at(view, SystemTime::now());
    }

    /// Like [`App::window_requested`], with the time of the trigger (which may have happened
    /// in another process).
    pub fn window_requested_at(&self, view: &str, at: SystemTime) {
        if let Ok(mut o) = self.opened.lock() {
            *o = Some((view.to_owned(), at));
        }
    }

    /// The page says it is interactive; returns the time since it was asked for.
    pub fn ui_ready(&self, view: &str) -> Option<Duration> {
        let mut o = self.opened.lock().ok()?;
        match o.take() {
            Some((v, at)) if v == view => Some(at.elapsed().unwrap_or_default()),
            other => {
                *o = other;
                None
            }
        }
    }
}

impl AnnouncementView {
    fn kind_label(&self) -> &'static str {
        match self.kind {
            AnnouncementKind::Outage => "known problem",
            AnnouncementKind::Notice => "notice",
        }
    }
}

/// TypeScript declarations of the IPC contract, for `cargo xtask codegen`.
#[cfg(feature = "ts")]
pub fn typescript_bindings() -> String {
    let cfg = ts_rs::Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated by `cargo xtask codegen` from crates/handraise-agent/src/app.rs and\n\
         // crates/handraise-wire (choices and limits).\n\
         // Do not edit by hand: a test fails when this file is stale.\n\n",
    );
    out.push_str(&handraise_wire::typescript::choices_and_limits());
    for decl in [
        IpcError::decl(&cfg),
        AnnouncementView::decl(&cfg),
        AppStatus::decl(&cfg),
        ArticleHit::decl(&cfg),
        ArticleView::decl(&cfg),
        FactItem::decl(&cfg),
        ScreenshotPreview::decl(&cfg),
        TriedArticle::decl(&cfg),
        ReportInput::decl(&cfg),
        LocalMessage::decl(&cfg),
        LocalTicket::decl(&cfg),
        crate::netcheck::Check::decl(&cfg),
        crate::netcheck::Verdict::decl(&cfg),
        crate::netcheck::ConnectionReport::decl(&cfg),
    ] {
        out.push_str("\nexport ");
        out.push_str(&decl);
        out.push('\n');
    }
    out.push_str(
        "\n/** Event names and their payloads. */\nexport interface EventPayloads {\n  \
         \"tickets-changed\": null;\n  \"status-changed\": AppStatus;\n  \
         \"ticket-updated\": LocalTicket;\n}\n",
    );
    out
}

#[cfg(test)]
mod tests;
