//! What the teacher and the tray are shown: local tickets, the queue, the pause, the
//! last contact.

use time::OffsetDateTime;
use uuid::Uuid;

use super::Agent;
use crate::error::AgentError;
use crate::store::{ContactInfo, QueueCounts, TicketView};

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

impl Agent {
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
}
