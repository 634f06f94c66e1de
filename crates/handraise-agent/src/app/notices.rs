//! Which changes to a ticket deserve a native notification, and what it says.

use super::LocalTicket;
use crate::i18n::{Lang, Msg};
use handraise_wire::{Author, TicketStatus};

/// A native notification to show: a technician replied, or the ticket was resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub client_id: String,
    pub title: String,
    pub body: String,
    /// The text of the button that opens the ticket.
    pub open: String,
}

/// What changed between two looks at a ticket that deserves a notification, said in `lang`.
/// Pure.
pub fn notices(before: Option<&LocalTicket>, after: &LocalTicket, lang: Lang) -> Vec<Notice> {
    let Some(before) = before else {
        // First sight (app start): no notification for old news.
        return Vec::new();
    };
    let notice = |title: String, body: String| Notice {
        client_id: after.client_id.clone(),
        title,
        body,
        open: lang.text(Msg::NoticeOpen).to_owned(),
    };
    let numbered = |numbered: Msg, unnumbered: Msg, who: &str| match after.number {
        Some(n) => lang.fill(numbered, &[("number", &n), ("who", &who)]),
        None => lang.fill(unnumbered, &[("who", &who)]),
    };
    let mut out = Vec::new();
    for m in &after.messages {
        let new = m.author == Author::Technician && !before.messages.iter().any(|b| b.id == m.id);
        if new {
            let who = m
                .author_name
                .as_deref()
                .unwrap_or(lang.text(Msg::NoticeHelpDesk));
            let mut body: String = m.body.chars().take(140).collect();
            if m.body.chars().count() > 140 {
                body.push('…');
            }
            let title = numbered(Msg::NoticeReplied, Msg::NoticeRepliedUnnumbered, who);
            out.push(notice(title, body));
        }
    }
    let resolved = |t: &LocalTicket| t.status == Some(TicketStatus::Resolved);
    if resolved(after) && !resolved(before) {
        let title = numbered(Msg::NoticeResolved, Msg::NoticeResolvedUnnumbered, "");
        out.push(notice(title, after.summary.clone()));
    }
    out
}
