//! Windows are created when opened and destroyed when closed: a hidden webview costs as much
//! memory as a shown one, so none exists while the app waits in the tray.

use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder};

/// A screen of the app; each has one window at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Report,
    Tickets,
    Help,
    About,
    Setup,
}

impl View {
    pub fn label(self) -> &'static str {
        match self {
            View::Report => "report",
            View::Tickets => "tickets",
            View::Help => "help",
            View::About => "about",
            View::Setup => "setup",
        }
    }

    fn title(self) -> &'static str {
        match self {
            View::Report => "Report a problem — HandRaise",
            View::Tickets => "My tickets — HandRaise",
            View::Help => "Help articles — HandRaise",
            View::About => "About this computer — HandRaise",
            View::Setup => "Set up HandRaise",
        }
    }

    fn size(self) -> (f64, f64) {
        match self {
            View::Report => (980.0, 760.0),
            View::Setup => (560.0, 620.0),
            _ => (820.0, 700.0),
        }
    }
}

/// Shows the view's window, creating it if needed; `route` is the hash route of the page.
pub fn open(app: &AppHandle, view: View, route: Option<&str>) -> tauri::Result<()> {
    if let Some(window) = app.get_webview_window(view.label()) {
        if let Some(route) = route {
            let js = format!("window.location.hash = {};", serde_json::json!(route));
            window.eval(&js)?;
        }
        window.unminimize()?;
        window.show()?;
        window.set_focus()?;
        return Ok(());
    }
    let route = route.unwrap_or(match view {
        View::Report => "/report",
        View::Tickets => "/tickets",
        View::Help => "/help",
        View::About => "/about",
        View::Setup => "/setup",
    });
    let (w, h) = view.size();
    let url = WebviewUrl::App(format!("index.html#{route}").into());
    WebviewWindowBuilder::new(app, view.label(), url)
        .title(view.title())
        .inner_size(w, h)
        .min_inner_size(420.0, 480.0)
        .center()
        .focused(true)
        .build()?;
    Ok(())
}
