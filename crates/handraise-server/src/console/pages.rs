//! The askama templates (`templates/*.html`) and what they are given. Every
//! value is HTML-escaped by askama; the one `|safe` is the article preview,
//! made by `kb::render_markdown`, which escapes every piece of text itself.

use super::view::{Due, SnapshotView};
use crate::error::AppError;
use crate::store::{Role, SessionRecord, SlaPolicy};
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use handraise_wire::Category;

/// The page frame: title, navigation and the signed-in user.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub title: String,
    pub user: Option<ChromeUser>,
    /// The session's CSRF token, put in a hidden field of every form.
    pub csrf: String,
    /// Which navigation entry is current.
    pub active: &'static str,
    pub asset_v: &'static str,
    /// A one-line confirmation after a change.
    pub flash: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ChromeUser {
    pub email: String,
    pub name: String,
    pub is_admin: bool,
}

impl Chrome {
    pub fn anonymous(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            user: None,
            csrf: String::new(),
            active: "",
            asset_v: super::asset_version(),
            flash: None,
        }
    }

    pub fn signed(title: impl Into<String>, s: &SessionRecord, active: &'static str) -> Self {
        Self {
            user: Some(ChromeUser {
                email: s.user.email.clone(),
                name: s.user.technician_name.clone(),
                is_admin: s.user.role == Role::Admin,
            }),
            csrf: s.csrf_token.clone(),
            active,
            ..Self::anonymous(title)
        }
    }

    pub fn with_flash(mut self, flash: Option<String>) -> Self {
        self.flash = flash;
        self
    }
}

/// An `<option>`.
#[derive(Debug, Clone)]
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Opt {
    pub fn new(value: impl Into<String>, label: impl Into<String>, current: &str) -> Self {
        let value = value.into();
        Self {
            selected: value == current,
            label: label.into(),
            value,
        }
    }

    /// A `<select>`'s options: `first` then `rest`, as (value, label), the
    /// one whose value is `current` selected.
    pub fn list<V: Into<String>, L: Into<String>>(
        current: &str,
        first: &[(&str, &str)],
        rest: impl IntoIterator<Item = (V, L)>,
    ) -> Vec<Self> {
        let first = first.iter().map(|(v, l)| Opt::new(*v, *l, current));
        first
            .chain(rest.into_iter().map(|(v, l)| Opt::new(v, l, current)))
            .collect()
    }

    /// Every category after a first option of value "" labelled `none`.
    pub fn categories(none: &str, current: &str) -> Vec<Self> {
        let all = Category::ALL.iter().map(|c| (c.as_str(), c.label()));
        Opt::list(current, &[("", none)], all)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub c: Chrome,
    pub heading: String,
    pub message: String,
}

impl ErrorPage {
    pub fn new(heading: &str, message: &str) -> Self {
        Self {
            c: Chrome::anonymous(heading),
            heading: heading.into(),
            message: message.into(),
        }
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
pub struct SignInPage {
    pub c: Chrome,
    pub email: String,
    pub error: Option<String>,
    /// With `[oidc]`: the provider's name on the sign-in button.
    pub provider: Option<&'static str>,
    /// Whether the password form is shown (`[oidc] local_passwords`).
    pub passwords: bool,
}

/// One status with its number of tickets, linking to the filtered queue.
#[derive(Debug, Clone)]
pub struct StatusCount {
    pub value: &'static str,
    pub label: &'static str,
    pub count: usize,
    pub current: bool,
}

#[derive(Debug, Clone)]
pub struct QueueRow {
    pub number: i64,
    pub summary: String,
    pub category: &'static str,
    pub impact: String,
    /// `high`, `medium` or `low`: the CSS class of the impact cell.
    pub impact_class: &'static str,
    pub place: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub assignee: Option<String>,
    pub age: String,
    pub received_iso: String,
    pub due: Option<Due>,
}

#[derive(Template)]
#[template(path = "queue.html")]
pub struct QueuePage {
    pub c: Chrome,
    pub rows: Vec<QueueRow>,
    pub counts: Vec<StatusCount>,
    pub statuses: Vec<Opt>,
    pub categories: Vec<Opt>,
    pub schools: Vec<Opt>,
    pub buildings: Vec<Opt>,
    pub assignees: Vec<Opt>,
    pub filtered: bool,
    pub pages: Pages,
    pub updated: String,
}

/// Where a paged list is, and the links to the pages beside it.
#[derive(Debug, Clone)]
pub struct Pages {
    /// From 1.
    pub page: usize,
    /// The position of the page's first row in the whole list, from 1.
    pub first_row: usize,
    pub previous: Option<String>,
    pub next: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MessageView {
    /// `teacher`, `technician` or `note`: the CSS class.
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub author: String,
    pub body: String,
    pub at: String,
    pub iso: String,
}

#[derive(Debug, Clone)]
pub struct SelfHelpView {
    pub title: String,
    pub slug: String,
    pub outcome: &'static str,
}

/// Where a forwarded ticket is worked.
#[derive(Debug, Clone)]
pub struct ForwardedView {
    pub desk: String,
    /// "Waiting to be sent", "Sent", "Refused by the desk".
    pub state: &'static str,
    pub external_id: Option<String>,
    pub link: Option<String>,
    pub last_error: Option<String>,
    /// A create-only desk's receipt was lost: it may hold a duplicate.
    pub receipt_lost: bool,
}

/// The ticket page's header facts.
#[derive(Debug, Clone)]
pub struct TicketView {
    pub number: i64,
    pub summary: String,
    pub details: Option<String>,
    pub status: &'static str,
    pub status_label: &'static str,
    pub category: &'static str,
    pub urgency: &'static str,
    pub scope: &'static str,
    pub impact_class: &'static str,
    pub reporter: Option<String>,
    pub reporter_email: Option<String>,
    pub os_user: Option<String>,
    pub room: Option<String>,
    pub school: Option<String>,
    pub building: Option<String>,
    pub device: Option<String>,
    pub assignee: Option<String>,
    pub created: String,
    pub received: String,
    pub due: Option<Due>,
    pub has_screenshot: bool,
    pub merged_into: Option<i64>,
}

#[derive(Template)]
#[template(path = "ticket.html")]
pub struct TicketPage {
    pub c: Chrome,
    pub t: TicketView,
    /// Set when the ticket was forwarded to a help desk: it is worked
    /// there, and shown here read-only.
    pub forwarded: Option<ForwardedView>,
    pub snapshot: Option<SnapshotView>,
    pub warnings: Vec<String>,
    pub self_help: Vec<SelfHelpView>,
    pub messages: Vec<MessageView>,
    pub statuses: Vec<Opt>,
    pub technicians: Vec<Opt>,
    pub me: String,
    pub assigned_to_me: bool,
}

#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub id: String,
    pub hostname: String,
    pub last_seen: String,
    pub os: String,
    pub model: String,
    pub school: String,
    pub open_tickets: i64,
    pub revoked: bool,
    /// Revoked, with a machine id, and not yet allowed back: an admin may allow it.
    pub held_back: bool,
    /// Revoked, and an admin allowed its computer to enroll again.
    pub allowed_back: bool,
}

#[derive(Template)]
#[template(path = "devices.html")]
pub struct DevicesPage {
    pub c: Chrome,
    pub rows: Vec<DeviceRow>,
    pub is_admin: bool,
}

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: &'static str,
    pub disabled: bool,
    pub is_me: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
pub struct UsersPage {
    pub c: Chrome,
    pub users: Vec<UserRow>,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: i64,
    pub label: String,
    /// The school and building it binds devices to, or that it binds none.
    pub place: String,
    pub created: String,
    /// How long ago it was created ("3 d").
    pub age: String,
    pub expires: String,
    /// "4 of 30", or "4" without a limit.
    pub uses: String,
    pub last_used: String,
    /// "Active", "Revoked", "Expired" or "Used up".
    pub state: &'static str,
    /// In plain words, when it enrolled more than 20 computers within 10 minutes.
    pub burst: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ReenrollmentRow {
    /// The start of the machine id (enough to tell computers apart).
    pub machine: String,
    pub previous: String,
    pub previous_revoked: bool,
    pub device: String,
    pub when: String,
    pub token: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
pub struct TokensPage {
    pub c: Chrome,
    pub tokens: Vec<TokenRow>,
    /// (label, token) of a token just created: shown once.
    pub created: Option<(String, String)>,
    pub error: Option<String>,
    pub reenrollments: Vec<ReenrollmentRow>,
}

#[derive(Debug, Clone)]
pub struct ApiTokenRow {
    pub id: i64,
    pub user_email: String,
    pub created: String,
    pub last_used: String,
    pub expires: String,
    pub state: &'static str,
}

#[derive(Template)]
#[template(path = "api_tokens.html")]
pub struct ApiTokensPage {
    pub c: Chrome,
    /// Everyone's tokens (an admin), not only the user's own.
    pub all: bool,
    pub tokens: Vec<ApiTokenRow>,
    /// (expiry, token) of a token just created: shown once.
    pub created: Option<(String, String)>,
    pub error: Option<String>,
    pub default_days: u32,
}

#[derive(Template)]
#[template(path = "sla.html")]
pub struct SlaPage {
    pub c: Chrome,
    pub policy: SlaPolicy,
    pub error: Option<String>,
}

/// A checkbox of a set (categories of an article).
#[derive(Debug, Clone)]
pub struct Check {
    pub value: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

#[derive(Debug, Clone)]
pub struct ArticleRow {
    pub slug: String,
    pub title: String,
    pub categories: String,
    pub published: bool,
    pub shown: u64,
    pub fixed: u64,
    pub filed_after: u64,
    pub still_broken: u64,
}

#[derive(Template)]
#[template(path = "kb_list.html")]
pub struct KbListPage {
    pub c: Chrome,
    pub rows: Vec<ArticleRow>,
    pub categories: Vec<Opt>,
    pub filtered: bool,
    pub total: usize,
}

/// The article form's values.
#[derive(Debug, Clone, Default)]
pub struct ArticleForm {
    pub slug: String,
    pub title: String,
    pub body: String,
    pub keywords: String,
    pub published: bool,
}

#[derive(Template)]
#[template(path = "kb_edit.html")]
pub struct KbEditPage {
    pub c: Chrome,
    /// `None` for a new article.
    pub existing: Option<String>,
    pub f: ArticleForm,
    pub categories: Vec<Check>,
    /// The body rendered by `kb::render_markdown` (which escapes every piece
    /// of text itself): the one value a template shows with `|safe`.
    pub preview: String,
    pub stats: Option<crate::stats::ArticleStats>,
    pub version: Option<i64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AnnouncementRow {
    pub id: i64,
    pub kind: &'static str,
    pub title: String,
    pub scope: String,
    pub category: Option<&'static str>,
    pub state: &'static str,
    pub state_class: &'static str,
    pub starts: String,
    pub ends: Option<String>,
    pub me_too: i64,
    pub linked: i64,
}

/// The announcement form's values (kept when it is refused).
#[derive(Debug, Clone, Default)]
pub struct AnnouncementFormView {
    pub kind: String,
    pub category: String,
    pub title: String,
    pub message: String,
    pub school: String,
    pub building: String,
    pub starts_at: String,
    pub ends_at: String,
}

#[derive(Template)]
#[template(path = "announcements.html")]
pub struct AnnouncementsPage {
    pub c: Chrome,
    pub rows: Vec<AnnouncementRow>,
    pub kinds: Vec<Opt>,
    pub categories: Vec<Opt>,
    pub schools: Vec<Opt>,
    pub f: AnnouncementFormView,
    pub error: Option<String>,
    /// The district's time zone, in which the start and end are read.
    pub zone: String,
}

#[derive(Debug, Clone)]
pub struct MeTooRow {
    pub school: String,
    pub room: String,
    pub reports: i64,
    pub last: String,
}

#[derive(Debug, Clone)]
pub struct LinkedRow {
    pub number: i64,
    pub summary: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub place: String,
}

#[derive(Template)]
#[template(path = "announcement.html")]
pub struct AnnouncementPage {
    pub c: Chrome,
    pub a: AnnouncementRow,
    pub message: String,
    pub me_too: Vec<MeTooRow>,
    pub linked: Vec<LinkedRow>,
    pub open_linked: usize,
    pub ended: bool,
}

#[derive(Debug, Clone)]
pub struct CountRow {
    pub label: String,
    pub count: usize,
    /// A queue link showing these tickets.
    pub href: String,
}

#[derive(Debug, Clone)]
pub struct WindowView {
    pub days: i64,
    pub received: usize,
    pub first_response: String,
    pub responded: usize,
    pub resolution: String,
    pub resolved: usize,
    pub sla_breaches: usize,
    pub deflections: usize,
    pub deflection_percent: String,
}

#[derive(Debug, Clone)]
pub struct RoomRow {
    pub place: String,
    pub room: String,
    pub tickets: usize,
}

#[derive(Debug, Clone)]
pub struct DeviceCountRow {
    pub hostname: String,
    pub school: String,
    pub tickets: usize,
    pub open: usize,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub c: Chrome,
    pub open: usize,
    pub overdue_now: usize,
    pub by_category: Vec<CountRow>,
    pub by_school: Vec<CountRow>,
    pub windows: Vec<WindowView>,
    pub rooms: Vec<RoomRow>,
    pub devices: Vec<DeviceCountRow>,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "retention.html")]
pub struct RetentionPage {
    pub c: Chrome,
    pub days: u32,
    pub error: Option<String>,
    /// The report of a purge just run from this page.
    pub purged: Option<String>,
}

/// Renders a page with `status`; a template failure is logged and answers 500.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response()
        }
    }
}

/// An `AppError` as an HTML page with the same status.
pub fn error_response(e: AppError) -> Response {
    let status = e.status();
    let (heading, message) = match &e {
        AppError::NotFound => (
            "Not found",
            "There is nothing here. It may have been merged or the link may be wrong.".to_owned(),
        ),
        AppError::Invalid(m) | AppError::BadRequest(m) => (
            "Please check the form",
            format!("{m}. Go back and try again."),
        ),
        AppError::Conflict(m) => ("That cannot be done", format!("{m}.")),
        AppError::RateLimited { retry_after_secs } => (
            "Too many attempts",
            format!(
                "Please wait {} and try again.",
                wait_text(*retry_after_secs)
            ),
        ),
        AppError::Internal(cause) => {
            tracing::error!(%cause, "internal error");
            ("Something went wrong", "The server could not finish this. Try again; if it keeps happening, tell the district IT admins.".to_owned())
        }
        other => ("Something went wrong", other.to_string()),
    };
    let mut response = render(status, &ErrorPage::new(heading, &message));
    if let AppError::RateLimited { retry_after_secs } = e {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(retry_after_secs.max(1)),
        );
    }
    response
}

/// "about 12 minutes" / "a minute".
pub fn wait_text(secs: u64) -> String {
    let mins = secs.div_ceil(60);
    if mins <= 1 {
        "a minute".into()
    } else {
        format!("about {mins} minutes")
    }
}

/// A handler error, answered as an HTML page.
#[derive(Debug)]
pub struct ConsoleError(pub AppError);

impl<E: Into<AppError>> From<E> for ConsoleError {
    fn from(e: E) -> Self {
        ConsoleError(e.into())
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        error_response(self.0)
    }
}
