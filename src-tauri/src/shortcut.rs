//! The shortcut that opens the report form, as the district's policy writes it
//! (`Ctrl+Alt+H`): one grammar for every platform. On Linux `hotkey.rs` grabs it through X11;
//! elsewhere the global-shortcut plugin registers it, from [`Shortcut::accelerator`].
//!
//! The grammar: modifiers `Ctrl` (or `Control`), `Alt`, `Shift`, `Super` (or `Meta`, `Cmd`),
//! in any order and any case, joined by `+`, then one key: a letter, a digit, or `F1`–`F12`.

/// A key the shortcut can end with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A letter (lower case) or a digit.
    Char(char),
    /// A function key, 1 to 12.
    F(u8),
}

/// A parsed shortcut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shortcut {
    pub ctrl: bool,
    pub alt: bool,
    pub shift: bool,
    pub super_key: bool,
    pub key: Key,
}

/// `Ctrl+Alt+H` → the shortcut; `None` for anything outside the grammar (no key, two keys,
/// an unknown name).
pub fn parse(text: &str) -> Option<Shortcut> {
    let (mut ctrl, mut alt, mut shift, mut super_key) = (false, false, false, false);
    let mut key = None;
    for part in text.split('+').map(str::trim) {
        if key.is_some() {
            return None;
        }
        match part.to_ascii_lowercase().as_str() {
            "ctrl" | "control" => ctrl = true,
            "alt" => alt = true,
            "shift" => shift = true,
            "super" | "meta" | "cmd" => super_key = true,
            k if k.len() == 1 && k.chars().all(|c| c.is_ascii_alphanumeric()) => {
                key = k.chars().next().map(Key::Char);
            }
            k => {
                let n: u8 = k.strip_prefix('f')?.parse().ok()?;
                key = Some(Key::F(n)).filter(|_| (1..=12).contains(&n));
                key?;
            }
        }
    }
    Some(Shortcut {
        ctrl,
        alt,
        shift,
        super_key,
        key: key?,
    })
}

impl Shortcut {
    /// The spelling the global-shortcut plugin reads: `Control+Alt+KeyH`, `Shift+F5`.
    #[cfg_attr(target_os = "linux", allow(dead_code))]
    pub fn accelerator(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        for (on, name) in [
            (self.ctrl, "Control"),
            (self.alt, "Alt"),
            (self.shift, "Shift"),
            (self.super_key, "Super"),
        ] {
            if on {
                parts.push(name.into());
            }
        }
        parts.push(match self.key {
            Key::Char(c) if c.is_ascii_digit() => format!("Digit{c}"),
            Key::Char(c) => format!("Key{}", c.to_ascii_uppercase()),
            Key::F(n) => format!("F{n}"),
        });
        parts.join("+")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shortcut(ctrl: bool, alt: bool, shift: bool, super_key: bool, key: Key) -> Shortcut {
        Shortcut {
            ctrl,
            alt,
            shift,
            super_key,
            key,
        }
    }

    #[test]
    fn the_policy_grammar() {
        let ctrl_alt_h = shortcut(true, true, false, false, Key::Char('h'));
        assert_eq!(parse("Ctrl+Alt+H"), Some(ctrl_alt_h));
        assert_eq!(parse(" control + ALT + h "), Some(ctrl_alt_h));
        assert_eq!(
            parse("shift+F5"),
            Some(shortcut(false, false, true, false, Key::F(5)))
        );
        assert_eq!(
            parse("Meta+1"),
            Some(shortcut(false, false, false, true, Key::Char('1')))
        );
        assert_eq!(
            parse("F12"),
            Some(shortcut(false, false, false, false, Key::F(12)))
        );
        for wrong in [
            "",
            "Ctrl+Alt",
            "Ctrl+Banana",
            "Ctrl+H+J",
            "Ctrl+H+Alt",
            "F13",
            "F0",
            "Ctrl++H",
        ] {
            assert_eq!(parse(wrong), None, "{wrong:?} is not a shortcut");
        }
    }

    #[test]
    fn accelerators_spell_every_part() {
        let spelt = |s: &str| parse(s).map(|s| s.accelerator());
        assert_eq!(spelt("Ctrl+Alt+H").as_deref(), Some("Control+Alt+KeyH"));
        assert_eq!(
            spelt("super+shift+7").as_deref(),
            Some("Shift+Super+Digit7")
        );
        assert_eq!(spelt("Alt+F11").as_deref(), Some("Alt+F11"));
    }

    /// Where the plugin registers the shortcut (Windows; run under Wine by `cargo xtask
    /// test`), every form of the grammar means to the plugin what it means here.
    #[cfg(not(target_os = "linux"))]
    #[test]
    fn the_plugin_reads_every_accelerator_as_meant() {
        use tauri_plugin_global_shortcut::{Code, Modifiers, Shortcut as Plugin};
        let cases = [
            (
                "Ctrl+Alt+H",
                Modifiers::CONTROL | Modifiers::ALT,
                Code::KeyH,
            ),
            ("shift+F5", Modifiers::SHIFT, Code::F5),
            ("Meta+1", Modifiers::SUPER, Code::Digit1),
            (
                "Control+Shift+Super+Alt+z",
                Modifiers::CONTROL | Modifiers::SHIFT | Modifiers::SUPER | Modifiers::ALT,
                Code::KeyZ,
            ),
            ("F12", Modifiers::empty(), Code::F12),
        ];
        for (text, mods, code) in cases {
            let ours = parse(text).unwrap_or_else(|| panic!("{text} parses"));
            let theirs: Plugin = ours
                .accelerator()
                .parse()
                .unwrap_or_else(|e| panic!("the plugin reads {text}: {e}"));
            assert_eq!(theirs, Plugin::new(Some(mods), code), "{text}");
        }
    }
}
