//! Which changes to a ticket deserve a native notification, and what it says.

use super::LocalTicket;
use handraise_wire::{Author, TicketStatus};

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
