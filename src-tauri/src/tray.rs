//! The tray icon: its menu, and its look (normal, a badge after a technician replied, greyed
//! while the server is unreachable) with an honest tooltip.

use crate::windows::View;
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
    pub show_quit: bool,
}

/// Menu items kept so their text can follow the unread count.
pub struct TrayMenu {
    pub tickets: MenuItem<Wry>,
}

fn menu(app: &AppHandle, look: &TrayLook) -> tauri::Result<(Menu<Wry>, TrayMenu)> {
    let report = MenuItem::with_id(app, "report", "Report a problem", true, Some("Ctrl+Alt+H"))?;
    let tickets = MenuItem::with_id(
        app,
        "tickets",
        tickets_text(look.unread),
        true,
        None::<&str>,
    )?;
    let help = MenuItem::with_id(app, "help", "Help articles", true, None::<&str>)?;
    let about = MenuItem::with_id(app, "about", "About this computer", true, None::<&str>)?;
    let sync = MenuItem::with_id(app, "sync", "Sync now", true, None::<&str>)?;
    let sep = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(app, &[&report, &tickets, &help, &about, &sep, &sync])?;
    if look.show_quit {
        let quit = MenuItem::with_id(app, "quit", "Quit HandRaise", true, None::<&str>)?;
        menu.append(&quit)?;
    }
    Ok((menu, TrayMenu { tickets }))
}

fn tickets_text(unread: u32) -> String {
    match unread {
        0 => "My tickets".to_owned(),
        n => format!("My tickets ({n} new)"),
    }
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

/// Re-renders the icon, tooltip and unread count.
pub fn update(app: &AppHandle, look: &TrayLook) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    if let Err(e) = icon_for(look).and_then(|icon| tray.set_icon(Some(icon))) {
        tracing::warn!(error = %e, "could not set the tray icon");
    }
    let _ = tray.set_tooltip(Some(&look.tooltip));
    if let Some(items) = app.try_state::<TrayMenu>() {
        let _ = items.tickets.set_text(tickets_text(look.unread));
    }
}
