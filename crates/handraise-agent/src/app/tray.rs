//! What the tray shows: its look, an honest tooltip and its menu, in the teacher's language.

use super::{App, AppStatus, IpcResult};
use crate::i18n::{Lang, Msg};
use handraise_wire::AnnouncementKind;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How the tray icon looks, what its tooltip says and the text of its menu items.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrayState {
    pub unread: u32,
    pub offline: bool,
    pub tooltip: String,
    pub menu: TrayMenuText,
}

/// The tray menu's items, in the teacher's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayMenuText {
    pub report: String,
    /// "My tickets", with the number of tickets with news.
    pub tickets: String,
    pub help: String,
    pub about: String,
    pub sync: String,
    pub quit: String,
}

impl TrayMenuText {
    pub fn new(lang: Lang, unread: u32) -> Self {
        let tickets = match unread {
            0 => lang.text(Msg::MenuTickets).to_owned(),
            n => lang.fill(Msg::MenuTicketsUnread, &[("count", &n)]),
        };
        TrayMenuText {
            report: lang.text(Msg::MenuReport).to_owned(),
            tickets,
            help: lang.text(Msg::MenuHelp).to_owned(),
            about: lang.text(Msg::MenuAbout).to_owned(),
            sync: lang.text(Msg::MenuSync).to_owned(),
            quit: lang.text(Msg::MenuQuit).to_owned(),
        }
    }
}

impl Default for TrayMenuText {
    /// The menu before the stored language is read: the system's language.
    fn default() -> Self {
        TrayMenuText::new(Lang::chosen_or_system(None), 0)
    }
}

impl TrayState {
    /// The tray's look for a status, at `now`. Pure.
    pub fn of(s: &AppStatus, now: OffsetDateTime) -> TrayState {
        let lang = Lang::chosen_or_system(s.locale.as_deref());
        let offline = s.enrolled && !s.online;
        let mut parts = vec![if !s.enrolled {
            lang.text(Msg::TooltipNotSetUp).to_owned()
        } else if s.paused_reason.is_some() {
            lang.text(Msg::TooltipPaused).to_owned()
        } else if offline {
            let minutes = s
                .offline_since
                .as_deref()
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
                .map(|t| (now - t).whole_minutes().max(0));
            match minutes {
                None => lang.text(Msg::TooltipOffline).to_owned(),
                Some(0) => lang.text(Msg::TooltipOfflineJustNow).to_owned(),
                Some(1) => lang.text(Msg::TooltipOfflineMinute).to_owned(),
                Some(m) if m < 120 => lang.fill(Msg::TooltipOfflineMinutes, &[("count", &m)]),
                Some(m) => lang.fill(Msg::TooltipOfflineHours, &[("count", &(m / 60))]),
            }
        } else {
            lang.text(Msg::TooltipOnline).to_owned()
        }];
        let counted = [
            (
                s.queued_count,
                Msg::TooltipQueuedOne,
                Msg::TooltipQueuedOther,
            ),
            (
                s.unread_count,
                Msg::TooltipUnreadOne,
                Msg::TooltipUnreadOther,
            ),
        ];
        for (count, one, other) in counted {
            match count {
                0 => {}
                1 => parts.push(lang.text(one).to_owned()),
                n => parts.push(lang.fill(other, &[("count", &n)])),
            }
        }
        if let Some(a) = s.announcements.first() {
            let msg = match a.kind {
                AnnouncementKind::Outage => Msg::TooltipOutage,
                AnnouncementKind::Notice => Msg::TooltipNotice,
            };
            parts.push(lang.fill(msg, &[("title", &a.title)]));
        }
        TrayState {
            unread: s.unread_count,
            offline,
            tooltip: parts.join("; "),
            menu: TrayMenuText::new(lang, s.unread_count),
        }
    }
}

impl App {
    /// What the tray shows, derived from [`App::status`].
    pub async fn tray_state(&self) -> IpcResult<TrayState> {
        let s = self.status().await?;
        Ok(TrayState::of(&s, OffsetDateTime::now_utc()))
    }
}
