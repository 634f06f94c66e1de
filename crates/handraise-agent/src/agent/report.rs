//! Reports and messages: checked, then saved on this computer for the sync engine to send.

use handraise_wire::{
    Category, DeviceSnapshot, ImageType, NewMessage, NewTicket, Reporter, Scope, SelfHelpAttempt,
    TextError, TextField, Urgency, check_optional_text, check_text,
};
use uuid::Uuid;

use super::{Agent, now};
use crate::error::AgentError;
use crate::reporter::{self, PREF_EMAIL};

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

impl Agent {
    /// Who this computer's reports are from (`reporter.rs`): this process's account, the
    /// teacher's `chosen_name` or the account's full name, and the policy's or the
    /// teacher's email.
    pub async fn reporter(&self, chosen_name: Option<&str>) -> Result<Reporter, AgentError> {
        let email = self.db(|s| s.pref(PREF_EMAIL)).await?;
        Ok(reporter::reporter(
            &self.config().policy,
            reporter::current_account(),
            chosen_name,
            email.as_deref(),
        ))
    }

    /// Remembers the email the teacher gave for replies (`None` or blank forgets it).
    /// Checked; refused when the district's policy decides the email.
    pub async fn set_reporter_email(&self, email: Option<&str>) -> Result<(), AgentError> {
        let email = email.map(str::trim).filter(|e| !e.is_empty());
        if email.is_some() && reporter::email_from_policy(&self.config().policy) {
            return Err(AgentError::Invalid(
                "the district sets the email address of reports on this computer".into(),
            ));
        }
        let email = email
            .map(handraise_wire::check_email)
            .transpose()
            .map_err(|e| AgentError::Invalid(e.to_string()))?
            .map(str::to_owned);
        self.db(move |s| s.set_pref(PREF_EMAIL, email.as_deref()))
            .await?;
        self.changed();
        Ok(())
    }

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
        let reporter = match input.reporter {
            Some(r) => r,
            None => self.reporter(None).await?,
        };
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
