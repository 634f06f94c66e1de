//! HandRaise tray app: a thin Tauri 2 shell over the agent core.
//!
//! `commands.rs` holds one-line delegations into [`handraise_agent::app::App`], `tray.rs` the
//! tray icon and its menu, `windows.rs` the on-demand windows. The agent core runs in-process:
//! its sync loop, its snapshot refresh and its change notifications, which this shell turns
//! into window events and the tray's look. No window exists until one is asked for.

mod commands;
mod notify;
mod tray;
mod windows;

use handraise_agent::app::{App, LocalTicket, TrayState};
use handraise_agent::{Agent, Config, ConfigLayer};
use std::collections::HashMap;
use tauri::{AppHandle, Emitter, Manager, RunEvent};
use windows::View;

/// Opens (or focuses) a view's window; the report form also starts its screenshot first.
pub(crate) fn open_view(app: &AppHandle, view: View) {
    let core = app.state::<App>();
    core.window_requested(view.label());
    if view == View::Report && app.get_webview_window(view.label()).is_none() {
        core.begin_screenshot();
    }
    if let Err(e) = windows::open(app, view, None) {
        tracing::error!(error = %e, view = view.label(), "could not open the window");
    }
}

pub(crate) fn sync_now(app: &AppHandle) {
    app.state::<App>().sync_now();
}

pub(crate) fn report_ready(app: &App, view: &str) {
    if let Some(took) = app.ui_ready(view) {
        // Read by the start-up benchmark: trigger → page interactive.
        tracing::info!(view, ms = took.as_secs_f64() * 1000.0, "window ready");
    }
}

/// The view named by `--open VIEW` (or `--open=VIEW`) on the command line, else by the
/// environment variable `HANDRAISE_OPEN`: `report`, `tickets`, `help`, `about` or `setup`.
/// An escape hatch for end-to-end tests (tests/app): WebDriver can only attach to a webview,
/// and the app otherwise starts with none.
fn view_to_open_at_start() -> Option<View> {
    let mut args = std::env::args().skip(1);
    let mut name = None;
    while let Some(arg) = args.next() {
        if arg == "--open" {
            name = args.next();
        } else if let Some(v) = arg.strip_prefix("--open=") {
            name = Some(v.to_owned());
        }
    }
    let name = name.or_else(|| std::env::var("HANDRAISE_OPEN").ok())?;
    let view = [
        View::Report,
        View::Tickets,
        View::Help,
        View::About,
        View::Setup,
    ]
    .into_iter()
    .find(|v| v.label() == name.trim());
    if view.is_none() {
        tracing::warn!(view = %name, "unknown view to open at start");
    }
    view
}

fn tray_look(state: &TrayState, show_quit: bool) -> tray::TrayLook {
    tray::TrayLook {
        unread: state.unread,
        offline: state.offline,
        tooltip: state.tooltip.clone(),
        show_quit,
    }
}

/// Turns the agent core's change notifications into window events and the tray's look.
async fn follow_changes(handle: AppHandle, core: App) {
    let show_quit = core.agent().config().policy.allow_quit;
    let mut changes = core.agent().subscribe();
    let mut known: HashMap<String, LocalTicket> = HashMap::new();
    loop {
        if let Ok(state) = core.tray_state().await {
            tray::update(&handle, &tray_look(&state, show_quit));
        }
        if let Ok(status) = core.status().await {
            let _ = handle.emit("status-changed", status);
        }
        if let Ok(tickets) = core.tickets().await {
            for t in tickets {
                for notice in handraise_agent::app::notices(known.get(&t.client_id), &t) {
                    notify::show(&handle, notice);
                }
                if known.get(&t.client_id) != Some(&t) {
                    let _ = handle.emit("ticket-updated", &t);
                    known.insert(t.client_id.clone(), t);
                }
            }
        }
        let _ = handle.emit("tickets-changed", ());
        if changes.changed().await.is_err() {
            return;
        }
    }
}

fn open_core() -> anyhow::Result<App> {
    let config = Config::load(ConfigLayer::default())?;
    std::fs::create_dir_all(&config.data_dir)?;
    if let Some(problem) = handraise_agent::logging::init(&config.data_dir) {
        tracing::warn!("{problem}");
    }
    let agent = Agent::open(config)?;
    if let Some(aside) = agent.recovered_database() {
        tracing::warn!(moved_to = %aside.display(), "the local database was damaged and was set aside");
    }
    Ok(App::new(agent))
}

/// Builds and runs the tray app until Quit.
pub fn run() {
    let core = match open_core() {
        Ok(core) => core,
        Err(e) => {
            eprintln!("HandRaise cannot start: {e:#}");
            return;
        }
    };
    let shortcut = tauri_plugin_global_shortcut::Builder::new()
        .with_handler(|app, _shortcut, event| {
            if event.state == tauri_plugin_global_shortcut::ShortcutState::Pressed {
                open_view(app, View::Report);
            }
        })
        .build();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            open_view(app, View::Report);
        }))
        .plugin(shortcut)
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .manage(core.clone())
        .invoke_handler(tauri::generate_handler![
            commands::get_state,
            commands::setup,
            commands::search_help,
            commands::get_article,
            commands::record_deflection,
            commands::get_facts,
            commands::get_screenshot,
            commands::submit_report,
            commands::list_tickets,
            commands::get_ticket,
            commands::send_message,
            commands::mark_read,
            commands::confirm_fixed,
            commands::rate_ticket,
            commands::sync_now,
            commands::close_window,
            commands::ui_ready,
            commands::check_connection,
            commands::list_articles,
            commands::me_too,
            commands::get_locale,
            commands::set_locale,
            commands::copy_text,
        ])
        .setup(move |app| {
            let handle = app.handle().clone();
            let policy = core.agent().config().policy.clone();
            {
                use tauri_plugin_autostart::ManagerExt;
                let autostart = handle.autolaunch();
                let result = match (policy.autostart, autostart.is_enabled().unwrap_or(false)) {
                    (true, false) => autostart.enable(),
                    (false, true) => autostart.disable(),
                    _ => Ok(()),
                };
                if let Err(e) = result {
                    tracing::warn!(error = %e, "could not set starting at login");
                }
            }
            tray::build(&handle, &tray_look(&TrayState::default(), policy.allow_quit))?;
            if !policy.shortcut.trim().is_empty() {
                use tauri_plugin_global_shortcut::GlobalShortcutExt;
                if let Err(e) = handle.global_shortcut().register(policy.shortcut.as_str()) {
                    tracing::warn!(error = %e, shortcut = %policy.shortcut, "the shortcut is not available");
                }
            }
            let sync_core = core.clone();
            tauri::async_runtime::spawn(async move {
                if let Err(e) = sync_core
                    .agent()
                    .run_sync_loop(std::future::pending::<()>())
                    .await
                {
                    tracing::error!(error = %e, "the sync loop stopped");
                }
            });
            tauri::async_runtime::spawn(follow_changes(handle.clone(), core.clone()));
            let enrolled = core.agent().enrollment().ok().flatten().is_some();
            let deployed = core.agent().config().server_url.is_some()
                && core.agent().config().enrollment_token.is_some();
            if !enrolled && !deployed {
                open_view(&handle, View::Setup);
            } else if let Some(view) = view_to_open_at_start() {
                open_view(&handle, view);
            }
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match result {
        Ok(app) => app,
        Err(e) => {
            eprintln!("HandRaise cannot start: {e}");
            return;
        }
    };
    app.run(|handle, event| match event {
        // Closing the last window leaves the app in the tray; only Quit (an explicit exit
        // code) ends it.
        RunEvent::ExitRequested { api, code, .. } if code.is_none() => api.prevent_exit(),
        RunEvent::WindowEvent {
            label,
            event: tauri::WindowEvent::Destroyed,
            ..
        } if label == View::Report.label() => handle.state::<App>().discard_screenshot(),
        _ => {}
    });
}
