//! My tickets: the list, one ticket, replies, and the teacher's feedback on a resolved one.

use super::{App, IpcError, IpcResult, LocalMessage, LocalTicket, local_ticket};
use uuid::Uuid;

impl App {
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
}
