//! The IPC contract: every type a window sends or receives, and the conversions from the
//! agent core's views. `cargo xtask codegen` generates `ui/src/lib/bindings.ts` from them
//! (feature `ts`).

use super::facts::{FactKey, FactPhrase};
use crate::error::{AgentError, StoreError, SyncError};
use crate::store::{ItemState, KbHit, MessageView, TicketView};
use handraise_wire::{
    Announcement, AnnouncementKind, Article, Author, Category, Scope, SelfHelpAttempt,
    TicketStatus, Urgency,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[cfg(feature = "ts")]
use handraise_wire::typescript::union;
#[cfg(feature = "ts")]
use ts_rs::TS;

/// Error of every command, serialised as `{ "code", "message" }`. The UI branches on `code`:
/// `invalid`, `not_enrolled`, `not_found`, `storage`, `network`, `internal`, and the
/// enrollment refusals of `handraise_wire::EnrollRefusal` (`token_expired`, `machine_revoked`, …).
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
            AgentError::EnrollRefused(refusal) => refusal.code(),
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
    /// The OS account reports are filed as (from the process's user id).
    pub reporter_account: Option<String>,
    /// The email the help desk answers to: the district's (`account@email_domain`) or the
    /// teacher's from Setup; `null` when there is none.
    pub reporter_email: Option<String>,
    /// The district's policy sets the email, so Setup does not ask for one.
    pub email_from_policy: bool,
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

/// A cached knowledge-base article: the wire article, and its body as HTML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(TS), ts(rename = "Article"))]
pub struct ArticleView {
    #[serde(flatten)]
    #[cfg_attr(feature = "ts", ts(flatten))]
    pub article: Article,
    /// The body as safe HTML, by the renderer of the console's preview (`handraise-markdown`).
    pub html: String,
}

impl From<Article> for ArticleView {
    fn from(article: Article) -> Self {
        ArticleView {
            html: handraise_markdown::to_html(&article.body),
            article,
        }
    }
}

impl From<KbHit> for ArticleHit {
    fn from(h: KbHit) -> Self {
        ArticleHit {
            slug: h.slug,
            title: h.title,
            snippet: h.snippet,
            categories: h.categories,
        }
    }
}

/// One device fact, with the key the teacher can untick. The windows show the label
/// `fact.<key>` of their catalogues and the parts of the value, each in the teacher's
/// language, joined with "; ".
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(TS))]
pub struct FactItem {
    #[cfg_attr(feature = "ts", ts(type = "FactKey"))]
    pub key: FactKey,
    pub parts: Vec<FactPart>,
}

/// A part of a fact's value: the message `phrase` of the UI catalogues with its
/// `{placeholders}` filled from `args` (numbers are written in the teacher's language).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(TS))]
pub struct FactPart {
    #[cfg_attr(feature = "ts", ts(type = "FactPhrase"))]
    pub phrase: FactPhrase,
    #[cfg_attr(feature = "ts", ts(type = "Record<string, number | string>"))]
    pub args: BTreeMap<&'static str, FactArg>,
}

/// The value of a placeholder of a fact's phrase: a number or a name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FactArg {
    Number(f64),
    Text(String),
}

impl From<u32> for FactArg {
    fn from(n: u32) -> Self {
        FactArg::Number(f64::from(n))
    }
}

impl From<&str> for FactArg {
    fn from(s: &str) -> Self {
        FactArg::Text(s.to_owned())
    }
}

impl From<String> for FactArg {
    fn from(s: String) -> Self {
        FactArg::Text(s)
    }
}

/// The screenshot taken when the report form opened, for its preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(TS))]
pub struct ScreenshotPreview {
    pub png_base64: String,
    pub width: u32,
    pub height: u32,
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
    /// Self-help articles tried before filing, as the wire carries them.
    pub tried: Vec<SelfHelpAttempt>,
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

pub(super) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

pub(super) fn message_view(m: MessageView) -> LocalMessage {
    LocalMessage {
        id: m.id.to_string(),
        author: m.author,
        author_name: m.author_name,
        body: m.body,
        at: rfc3339(m.at),
        state: m.state,
    }
}

pub(super) fn local_ticket(t: TicketView, feedback: (Option<bool>, Option<u8>)) -> LocalTicket {
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

pub(super) fn announcement_view(a: Announcement) -> AnnouncementView {
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

/// TypeScript declarations of the IPC contract, for `cargo xtask codegen`.
#[cfg(feature = "ts")]
pub fn typescript_bindings() -> String {
    let cfg = ts_rs::Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated by `cargo xtask codegen` from crates/handraise-agent/src/app/ipc.rs and\n\
         // crates/handraise-wire (choices and limits).\n\
         // Do not edit by hand: a test fails when this file is stale.\n\n",
    );
    out.push_str(&handraise_wire::typescript::choices_and_limits());
    union(&mut out, "FactKey", FactKey::ALL, FactKey::as_str);
    union(&mut out, "FactPhrase", FactPhrase::ALL, FactPhrase::as_str);
    for decl in [
        IpcError::decl(&cfg),
        AnnouncementView::decl(&cfg),
        AppStatus::decl(&cfg),
        ArticleHit::decl(&cfg),
        ArticleView::decl(&cfg),
        FactItem::decl(&cfg),
        FactPart::decl(&cfg),
        ScreenshotPreview::decl(&cfg),
        SelfHelpAttempt::decl(&cfg),
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
