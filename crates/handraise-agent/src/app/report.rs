//! Filing a report: the form's input becomes a ticket saved on this computer.

use super::facts::omit_facts;
use super::{App, IpcResult, LocalTicket, PREF_NAME, PREF_ROOM, ReportInput};
use crate::agent::{ReportInput as CoreReport, Screenshot};
use handraise_wire::Reporter;

impl App {
    /// Saves the report on this computer (one transaction) and returns it as My tickets
    /// shows it; the sync engine sends it.
    pub async fn submit(&self, input: ReportInput) -> IpcResult<LocalTicket> {
        let mut snapshot = self.previewed_facts().await?;
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
        let name = self.pref(PREF_NAME).await?;
        let reporter: Reporter = self.agent.reporter(name.as_deref()).await?;
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
            self_help: input.tried,
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
        self.form_closed();
        self.ticket(&id.to_string()).await
    }
}
