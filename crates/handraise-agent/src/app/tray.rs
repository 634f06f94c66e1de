//! What the tray shows: its look and an honest tooltip.

use super::{AnnouncementView, App, IpcResult};
use handraise_wire::AnnouncementKind;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How the tray icon looks and what its tooltip says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrayState {
    pub unread: u32,
    pub offline: bool,
    pub tooltip: String,
}

impl App {
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
}

impl AnnouncementView {
    pub(super) fn kind_label(&self) -> &'static str {
        match self.kind {
            AnnouncementKind::Outage => "known problem",
            AnnouncementKind::Notice => "notice",
        }
    }
}
