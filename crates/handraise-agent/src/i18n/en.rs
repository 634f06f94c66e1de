//! English texts of the agent's own messages.

use super::Msg;

pub(super) fn text(msg: Msg) -> &'static str {
    match msg {
        Msg::MenuReport => "Report a problem",
        Msg::MenuTickets => "My tickets",
        Msg::MenuTicketsUnread => "My tickets ({count} new)",
        Msg::MenuHelp => "Help articles",
        Msg::MenuAbout => "About this computer",
        Msg::MenuSync => "Sync now",
        Msg::MenuQuit => "Quit HandRaise",
        Msg::TooltipNotSetUp => "HandRaise — not set up yet",
        Msg::TooltipPaused => "HandRaise — this computer needs to be reconnected to the help desk",
        Msg::TooltipOnline => "HandRaise — connected to the help desk",
        Msg::TooltipOffline => "HandRaise — offline",
        Msg::TooltipOfflineJustNow => "HandRaise — offline for less than a minute",
        Msg::TooltipOfflineMinute => "HandRaise — offline for 1 minute",
        Msg::TooltipOfflineMinutes => "HandRaise — offline for {count} minutes",
        Msg::TooltipOfflineHours => "HandRaise — offline for {count} hours",
        Msg::TooltipQueuedOne => "1 report waiting to send",
        Msg::TooltipQueuedOther => "{count} reports waiting to send",
        Msg::TooltipUnreadOne => "1 ticket with news",
        Msg::TooltipUnreadOther => "{count} tickets with news",
        Msg::TooltipOutage => "known problem: {title}",
        Msg::TooltipNotice => "notice: {title}",
        Msg::NoticeReplied => "{who} replied on ticket #{number}",
        Msg::NoticeRepliedUnnumbered => "{who} replied on your report",
        Msg::NoticeHelpDesk => "The help desk",
        Msg::NoticeResolved => "Ticket #{number} is resolved",
        Msg::NoticeResolvedUnnumbered => "Your report is resolved",
        Msg::NoticeOpen => "Open",
    }
}
