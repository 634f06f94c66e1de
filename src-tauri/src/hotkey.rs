//! The global shortcut on Linux (X11), waiting on the X connection instead of polling: the
//! tray must not wake up while the teacher is not using it. (The shortcut plugin's X11 thread
//! wakes every 50 ms; other platforms use the plugin, whose listeners are event-driven.)

use crate::shortcut::{self, Key};
use x11rb::connection::Connection;
use x11rb::protocol::Event;
use x11rb::protocol::xproto::{ConnectionExt, GrabMode, ModMask};

/// `Ctrl+Alt+H` → (modifier mask, keysym), by the one grammar of [`shortcut`].
pub fn parse(text: &str) -> Option<(ModMask, u32)> {
    let s = shortcut::parse(text)?;
    let mut mods = ModMask::from(0u16);
    for (on, mask) in [
        (s.ctrl, ModMask::CONTROL),
        (s.alt, ModMask::M1),
        (s.shift, ModMask::SHIFT),
        (s.super_key, ModMask::M4),
    ] {
        if on {
            mods |= mask;
        }
    }
    let keysym = match s.key {
        Key::Char(c) => c as u32,
        Key::F(n) => 0xffbe + u32::from(n) - 1,
    };
    Some((mods, keysym))
}

/// Grabs `shortcut` on the X server and calls `on_press` on each press, from a thread that
/// sleeps until X has an event for it.
pub fn listen(shortcut: &str, on_press: impl Fn() + Send + 'static) -> Result<(), String> {
    let (mods, keysym) =
        parse(shortcut).ok_or_else(|| format!("cannot read the shortcut '{shortcut}'"))?;
    let (conn, screen) = x11rb::connect(None).map_err(|e| e.to_string())?;
    let root = conn.setup().roots[screen].root;
    let (min, max) = (conn.setup().min_keycode, conn.setup().max_keycode);
    let mapping = conn
        .get_keyboard_mapping(min, max - min + 1)
        .map_err(|e| e.to_string())?
        .reply()
        .map_err(|e| e.to_string())?;
    let per = usize::from(mapping.keysyms_per_keycode.max(1));
    let keycode = mapping
        .keysyms
        .chunks(per)
        .position(|syms| syms.contains(&keysym))
        .and_then(|i| u8::try_from(i).ok())
        .map(|i| min + i)
        .ok_or_else(|| format!("no key for '{shortcut}' on this keyboard"))?;
    // The grab must also match with Caps Lock and Num Lock on.
    for extra in [
        0u16,
        u16::from(ModMask::LOCK),
        u16::from(ModMask::M2),
        u16::from(ModMask::LOCK | ModMask::M2),
    ] {
        conn.grab_key(
            true,
            root,
            mods | ModMask::from(extra),
            keycode,
            GrabMode::ASYNC,
            GrabMode::ASYNC,
        )
        .map_err(|e| e.to_string())?
        .check()
        .map_err(|e| format!("'{shortcut}' is taken by another program ({e:?})"))?;
    }
    conn.flush().map_err(|e| e.to_string())?;
    std::thread::Builder::new()
        .name("hotkey".into())
        .spawn(move || {
            while let Ok(event) = conn.wait_for_event() {
                if let Event::KeyPress(_) = event {
                    on_press();
                }
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcuts_parse() {
        assert_eq!(
            parse("Ctrl+Alt+H"),
            Some((ModMask::CONTROL | ModMask::M1, 'h' as u32))
        );
        assert_eq!(parse("shift+F5"), Some((ModMask::SHIFT, 0xffbe + 4)));
        assert_eq!(parse("Ctrl+Alt"), None, "a key is needed");
        assert_eq!(parse("Ctrl+Banana"), None);
    }
}
