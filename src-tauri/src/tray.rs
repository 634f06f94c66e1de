//! The tray icon: its menu, and its look (normal, a badge after a technician replied, greyed
//! while the server is unreachable) with an honest tooltip. The words (menu and tooltip, in
//! the teacher's language) come from the agent core (`app::TrayState`).

use crate::windows::View;
use handraise_agent::app::TrayMenuText;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Wry};

const TRAY_ID: &str = "handraise";
const ICON: &[u8] = include_bytes!("../icons/tray-icon.png");
const ICON_BADGE: &[u8] = include_bytes!("../icons/tray-badge.png");
const ICON_OFFLINE: &[u8] = include_bytes!("../icons/tray-offline.png");

/// What the tray shows; computed by the agent core, rendered here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrayLook {
    pub unread: u32,
    pub offline: bool,
    pub tooltip: String,
    pub menu: TrayMenuText,
    pub show_quit: bool,
}

/// Menu items kept so their text can follow the unread count and the language.
pub struct TrayMenu {
    report: MenuItem<Wry>,
    tickets: MenuItem<Wry>,
    help: MenuItem<Wry>,
    about: MenuItem<Wry>,
    sync: MenuItem<Wry>,
    quit: Option<MenuItem<Wry>>,
}

impl TrayMenu {
    fn set_texts(&self, text: &TrayMenuText) {
        let items = [
            (&self.report, &text.report),
            (&self.tickets, &text.tickets),
            (&self.help, &text.help),
            (&self.about, &text.about),
            (&self.sync, &text.sync),
        ];
        for (item, text) in items
            .into_iter()
            .chain(self.quit.as_ref().map(|q| (q, &text.quit)))
        {
            if let Err(e) = item.set_text(text) {
                tracing::warn!(error = %e, "could not set a tray menu item's text");
            }
        }
    }
}

fn menu(app: &AppHandle, look: &TrayLook) -> tauri::Result<(Menu<Wry>, TrayMenu)> {
    let text = &look.menu;
    let item = |id: &str, text: &str| MenuItem::with_id(app, id, text, true, None::<&str>);
    let report = MenuItem::with_id(app, "report", &text.report, true, Some("Ctrl+Alt+H"))?;
    let tickets = item("tickets", &text.tickets)?;
    let help = item("help", &text.help)?;
    let about = item("about", &text.about)?;
    let sync = item("sync", &text.sync)?;
    let sep = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(app, &[&report, &tickets, &help, &about, &sep, &sync])?;
    let quit = if look.show_quit {
        let quit = item("quit", &text.quit)?;
        menu.append(&quit)?;
        Some(quit)
    } else {
        None
    };
    let items = TrayMenu {
        report,
        tickets,
        help,
        about,
        sync,
        quit,
    };
    Ok((menu, items))
}

fn icon_for(look: &TrayLook) -> tauri::Result<Image<'static>> {
    let bytes = if look.offline {
        ICON_OFFLINE
    } else if look.unread > 0 {
        ICON_BADGE
    } else {
        ICON
    };
    Image::from_bytes(bytes)
}

pub fn build(app: &AppHandle, look: &TrayLook) -> tauri::Result<TrayIcon> {
    let (menu, items) = menu(app, look)?;
    app.manage(items);
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon_for(look)?)
        .tooltip(&look.tooltip)
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                crate::open_view(tray.app_handle(), View::Report);
            }
        })
        .build(app)
}

fn on_menu(app: &AppHandle, id: &str) {
    match id {
        "report" => crate::open_view(app, View::Report),
        "tickets" => crate::open_view(app, View::Tickets),
        "help" => crate::open_view(app, View::Help),
        "about" => crate::open_view(app, View::About),
        "sync" => crate::sync_now(app),
        "quit" => app.exit(0),
        other => tracing::warn!(item = other, "unknown tray menu item"),
    }
}

/// Re-renders the icon and tooltip, and the menu's words when they changed (the unread
/// count, or the teacher chose another language).
pub fn update(app: &AppHandle, look: &TrayLook, before: Option<&TrayLook>) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    if let Err(e) = icon_for(look).and_then(|icon| tray.set_icon(Some(icon))) {
        tracing::warn!(error = %e, "could not set the tray icon");
    }
    let _ = tray.set_tooltip(Some(&look.tooltip));
    if before.map(|b| &b.menu) != Some(&look.menu)
        && let Some(items) = app.try_state::<TrayMenu>()
    {
        items.set_texts(&look.menu);
    }
}
