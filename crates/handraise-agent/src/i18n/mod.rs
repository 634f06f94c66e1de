//! What the agent itself says to the teacher — native notifications, the tray's menu and its
//! tooltip — in the language the teacher chose in the app (or the system's).
//!
//! The windows have their own catalogues (`ui/src/lib/i18n/`); these are the few strings
//! made in Rust. Each message is a [`Msg`]; `en.rs` and `es.rs` each give every message its
//! text with an exhaustive `match`, so a message without both languages does not compile.
//! Texts may hold `{name}` placeholders, filled by [`Lang::fill`].

mod en;
mod es;

/// A language the app speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    En,
    Es,
}

/// The codes of the languages the app speaks, as the windows store them.
pub const LOCALES: &[&str] = &["en", "es"];

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Es];

    /// `en` or `es`: the code the windows store and the UI catalogues are named by.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// The language of a BCP 47 or POSIX locale tag (`es`, `es-MX`, `es_ES.UTF-8`), if the
    /// app speaks it.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let lang = tag
            .trim()
            .split(['-', '_', '.', '@'])
            .next()?
            .to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == lang)
    }

    /// The teacher's choice (the code the app stored), else the system's language.
    pub fn chosen_or_system(choice: Option<&str>) -> Lang {
        choice
            .and_then(Lang::from_tag)
            .unwrap_or_else(|| Lang::system_from(|name| std::env::var(name).ok()))
    }

    /// The system's language from the locale variables, in the order GLib (and so the
    /// windows' web view) reads them: the first language the app speaks in `LANGUAGE` (a
    /// colon-separated list), then `LC_ALL`, `LC_MESSAGES`, `LANG`; English if none.
    pub fn system_from(var: impl Fn(&str) -> Option<String>) -> Lang {
        let listed = var("LANGUAGE")
            .unwrap_or_default()
            .split(':')
            .find_map(Lang::from_tag);
        listed
            .or_else(|| {
                ["LC_ALL", "LC_MESSAGES", "LANG"]
                    .into_iter()
                    .filter_map(&var)
                    .find(|v| !v.trim().is_empty())
                    .and_then(|v| Lang::from_tag(&v))
            })
            .unwrap_or_default()
    }

    /// The text of a message, placeholders unfilled.
    pub fn text(self, msg: Msg) -> &'static str {
        match self {
            Lang::En => en::text(msg),
            Lang::Es => es::text(msg),
        }
    }

    /// The text of a message with its `{name}` placeholders filled from `args`.
    pub fn fill(self, msg: Msg, args: &[(&str, &dyn std::fmt::Display)]) -> String {
        fill(self.text(msg), args)
    }
}

/// Replaces each `{name}` in `template` with its value in `args`; unknown names stay.
pub fn fill(template: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let name = &after[..close];
            args.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (v.to_string(), close))
        });
        match value {
            Some((v, close)) => {
                out.push_str(&v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

macro_rules! messages {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Every string the agent shows the teacher itself. Texts live in `en.rs` and `es.rs`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Msg {
            $($(#[$doc])* $name,)*
        }

        impl Msg {
            /// Every message, for the tests that compare the catalogues.
            pub const ALL: &[Msg] = &[$(Msg::$name,)*];
        }
    };
}

messages! {
    /// Tray menu: open the report form.
    MenuReport,
    /// Tray menu: My tickets, nothing new.
    MenuTickets,
    /// Tray menu: My tickets with `{count}` unread.
    MenuTicketsUnread,
    MenuHelp,
    MenuAbout,
    MenuSync,
    MenuQuit,
    /// Tooltip, first part: the connection.
    TooltipNotSetUp,
    TooltipPaused,
    TooltipOnline,
    TooltipOffline,
    TooltipOfflineJustNow,
    TooltipOfflineMinute,
    /// `{count}` minutes (2 or more).
    TooltipOfflineMinutes,
    /// `{count}` hours (2 or more).
    TooltipOfflineHours,
    /// Tooltip, further parts, joined with "; ".
    TooltipQueuedOne,
    TooltipQueuedOther,
    TooltipUnreadOne,
    TooltipUnreadOther,
    /// An active announcement of a known problem: `{title}`.
    TooltipOutage,
    /// An active announcement that is a notice: `{title}`.
    TooltipNotice,
    /// Notification title: `{who}` replied on ticket `{number}`.
    NoticeReplied,
    /// The same for a report the server has not numbered yet.
    NoticeRepliedUnnumbered,
    /// Who replied, when the technician's name is not known.
    NoticeHelpDesk,
    /// Notification title: ticket `{number}` is resolved.
    NoticeResolved,
    NoticeResolvedUnnumbered,
    /// The notification's button that opens the ticket.
    NoticeOpen,
}

/// The names of a text's `{placeholders}`, sorted (for the tests that compare catalogues).
#[cfg(test)]
pub(crate) fn placeholders(text: &str) -> Vec<&str> {
    let mut names: Vec<&str> = text
        .split('{')
        .skip(1)
        .filter_map(|p| p.split_once('}').map(|(name, _)| name))
        .collect();
    names.sort_unstable();
    names
}

/// Messages whose Spanish text may equal the English one (none today).
pub const SAME_IN_BOTH: &[Msg] = &[];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_has_both_languages_with_the_same_placeholders() {
        for &msg in Msg::ALL {
            let (en, es) = (Lang::En.text(msg), Lang::Es.text(msg));
            assert!(!en.trim().is_empty() && !es.trim().is_empty(), "{msg:?}");
            assert_eq!(placeholders(en), placeholders(es), "{msg:?}");
        }
    }

    #[test]
    fn spanish_is_translated_not_copied() {
        let same: Vec<Msg> = Msg::ALL
            .iter()
            .copied()
            .filter(|m| !SAME_IN_BOTH.contains(m) && Lang::En.text(*m) == Lang::Es.text(*m))
            .collect();
        assert_eq!(same, Vec::<Msg>::new());
    }

    #[test]
    fn codes_and_tags() {
        assert_eq!(
            Lang::ALL.map(Lang::code).as_slice(),
            LOCALES,
            "one list of languages"
        );
        assert_eq!(Lang::from_tag("es-MX"), Some(Lang::Es));
        assert_eq!(Lang::from_tag("es_ES.UTF-8"), Some(Lang::Es));
        assert_eq!(Lang::from_tag(" EN "), Some(Lang::En));
        assert_eq!(Lang::from_tag("fr_FR"), None);
        assert_eq!(Lang::from_tag(""), None);
        assert_eq!(Lang::chosen_or_system(Some("es")), Lang::Es);
    }

    #[test]
    fn the_system_language_is_read_like_glib_does() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(Lang::system_from(env(&[])), Lang::En);
        assert_eq!(Lang::system_from(env(&[("LANG", "es_MX.UTF-8")])), Lang::Es);
        assert_eq!(
            Lang::system_from(env(&[("LC_ALL", "en_US.UTF-8"), ("LANG", "es_ES.UTF-8")])),
            Lang::En,
            "LC_ALL wins over LANG"
        );
        assert_eq!(
            Lang::system_from(env(&[("LANGUAGE", "fr:es:en"), ("LANG", "en_US.UTF-8")])),
            Lang::Es,
            "the first language spoken in LANGUAGE"
        );
        assert_eq!(
            Lang::system_from(env(&[("LC_ALL", ""), ("LANG", "es_ES")])),
            Lang::Es,
            "an empty variable is skipped"
        );
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            Lang::Es.fill(Msg::TooltipQueuedOther, &[("count", &3)]),
            "3 avisos pendientes de envío"
        );
        assert_eq!(fill("{a} and {b}", &[("a", &"x")]), "x and {b}");
        assert_eq!(fill("a { b", &[]), "a { b");
    }
}
