//! Reports and messages: checked, then saved on this computer for the sync engine to send.

use handraise_wire::{
    Category, DeviceSnapshot, MAX_DETAILS_CHARS, MAX_MESSAGE_CHARS, MAX_SUMMARY_CHARS, NewMessage,
    NewTicket, Reporter, Scope, SelfHelpAttempt, Urgency,
};
use uuid::Uuid;

use super::{Agent, now};
use crate::error::AgentError;
use crate::facts;

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

/// Checks a report the way the server does, with messages for people.
pub fn validate_report(input: &ReportInput) -> Result<(), AgentError> {
    let summary = input.summary.trim();
    let n = summary.chars().count();
    if n == 0 {
        return Err(AgentError::Invalid(
            "the summary is empty: say in a few words what is wrong".into(),
        ));
    }
    if n > MAX_SUMMARY_CHARS {
        return Err(AgentError::Invalid(format!(
            "the summary is {n} characters long; keep it to {MAX_SUMMARY_CHARS} and put the rest in the details"
        )));
    }
    if let Some(d) = &input.details {
        let n = d.chars().count();
        if n > MAX_DETAILS_CHARS {
            return Err(AgentError::Invalid(format!(
                "the details are {n} characters long; the limit is {MAX_DETAILS_CHARS}"
            )));
        }
    }
    if let Some(room) = &input.room
        && room.chars().count() > 100
    {
        return Err(AgentError::Invalid("the room name is too long".into()));
    }
    if let Some(s) = &input.screenshot {
        let png = s.bytes.starts_with(b"\x89PNG\r\n\x1a\n");
        let jpeg = s.bytes.starts_with(&[0xFF, 0xD8, 0xFF]);
        let ok = match s.content_type.as_str() {
            "image/png" => png,
            "image/jpeg" => jpeg,
            _ => false,
        };
        if !ok {
            return Err(AgentError::Invalid(
                "the screenshot must be a PNG or JPEG image".into(),
            ));
        }
    }
    Ok(())
}

/// Checks a teacher message; returns it trimmed.
pub fn validate_message(body: &str) -> Result<String, AgentError> {
    let body = body.trim();
    let n = body.chars().count();
    if n == 0 {
        return Err(AgentError::Invalid("the message is empty".into()));
    }
    if n > MAX_MESSAGE_CHARS {
        return Err(AgentError::Invalid(format!(
            "the message is {n} characters long; the limit is {MAX_MESSAGE_CHARS}"
        )));
    }
    Ok(body.to_owned())
}

impl Agent {
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
}
