//! HandRaise tray app: a thin Tauri 2 shell over the agent core.
//!
//! `commands.rs` holds one-line delegations into [`handraise_agent::app::App`], `tray.rs` the
//! tray icon and its menu, `windows.rs` the on-demand windows. The agent core runs in-process:
//! its sync loop, its snapshot refresh and its change notifications, which this shell turns
//! into window events and the tray's look. No window exists until one is asked for.
//!
//! Two processes, one binary: `handraise` is the tray (no webview, ever), and each window
//! runs in `handraise --window VIEW`, started on demand and gone when its window closes, so
//! no WebKit process outlives a window. `HANDRAISE_WINDOW_MODE=in-process` keeps windows in
//! the tray process instead (measured against the default in BENCHMARKS.md).

mod commands;
#[cfg(target_os = "linux")]
mod hotkey;
mod notify;
mod shortcut;
#[cfg(unix)]
mod single;
mod tray;
mod windows;

use handraise_agent::app::{App, Lang, LocalTicket, TrayState};
use handraise_agent::{Agent, Config, ConfigLayer};
use std::collections::HashMap;
use tauri::{AppHandle, Emitter, Manager, RunEvent};
use windows::View;

/// Where windows live: in processes of their own (the default) or in the tray's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WindowMode {
    Separate,
    InProcess,
}

impl WindowMode {
    fn from_env() -> Self {
        match std::env::var("HANDRAISE_WINDOW_MODE").as_deref() {
            Ok("in-process") => WindowMode::InProcess,
            _ => WindowMode::Separate,
        }
    }
}

/// Opens (or focuses) a view's window; the report form also starts its screenshot first.
pub(crate) fn open_view(app: &AppHandle, view: View) {
    open_route(app, view, None);
}

/// Like [`open_view`], on a route of the view (`/tickets/ID`).
pub(crate) fn open_route(app: &AppHandle, view: View, route: Option<&str>) {
    let core = app.state::<App>();
    let result = match *app.state::<WindowMode>() {
        WindowMode::InProcess => {
            core.window_requested(view.label());
            if view == View::Report && app.get_webview_window(view.label()).is_none() {
                core.begin_screenshot();
            }
            windows::open(app, view, route).map_err(|e| e.to_string())
        }
        WindowMode::Separate => {
            let core = core.inner().clone();
            windows::open_in_child(app, view, route, move || {
                // The window's process may have queued or changed things: look again.
                core.announce_change();
                core.sync_now();
            })
            .map_err(|e| e.to_string())
        }
    };
    if let Err(e) = result {
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

/// The value of `--NAME VALUE` or `--NAME=VALUE` on the command line.
fn arg(name: &str) -> Option<String> {
    let flag = format!("--{name}");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == flag {
            return args.next();
        }
        if let Some(v) = a.strip_prefix(&format!("{flag}=")) {
            return Some(v.to_owned());
        }
    }
    None
}

/// The flag every sign-in entry starts the tray with (the autostart plugin's, the Windows
/// installer's machine-wide `Run` value, the Linux package's `/etc/xdg/autostart` entry).
const AUTOSTART_FLAG: &str = "--autostart";

/// Whether `argv` is a start at sign-in. Such a start opens no window when a tray already
/// runs (Windows has a machine-wide and a per-user `Run` entry, and both start it), and does
/// not start at all when the district's policy has turned starting at sign-in off.
fn is_autostart<S: AsRef<str>>(argv: &[S]) -> bool {
    argv.iter().skip(1).any(|a| a.as_ref() == AUTOSTART_FLAG)
}

/// The view named by `--open VIEW` on the command line, else by the environment variable
/// `HANDRAISE_OPEN`: `report`, `tickets`, `help`, `about` or `setup`, opened at start.
fn view_to_open_at_start() -> Option<View> {
    let name = arg("open").or_else(|| std::env::var("HANDRAISE_OPEN").ok())?;
    let view = View::named(&name);
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
        menu: state.menu.clone(),
        show_quit,
    }
}

/// Turns the agent core's change notifications into window events and, in the tray process,
/// the tray's look and notifications.
async fn follow_changes(handle: AppHandle, core: App, tray_process: bool) {
    let show_quit = core.agent().config().policy.allow_quit;
    let mut changes = core.agent().subscribe();
    let mut known: HashMap<String, LocalTicket> = HashMap::new();
    // The tray is redrawn only when its look changes: every redraw wakes the GTK main loop
    // and rewrites the icon, and most sync passes change nothing the teacher sees.
    let mut shown: Option<tray::TrayLook> = None;
    loop {
        if tray_process && let Ok(state) = core.tray_state().await {
            let look = tray_look(&state, show_quit);
            if shown.as_ref() != Some(&look) {
                tray::update(&handle, &look, shown.as_ref());
                shown = Some(look);
            }
        }
        // Events go to windows only: a tray with no window open has no one to tell.
        let windows_open = !handle.webview_windows().is_empty();
        if windows_open && let Ok(status) = core.status().await {
            let _ = handle.emit("status-changed", status);
        }
        // Notifications speak the language the teacher chose (the system's by default).
        let lang = match tray_process {
            true => core
                .lang()
                .await
                .unwrap_or_else(|_| Lang::chosen_or_system(None)),
            false => Lang::default(),
        };
        if let Ok(tickets) = core.tickets().await {
            for t in tickets {
                if tray_process {
                    for notice in handraise_agent::app::notices(known.get(&t.client_id), &t, lang) {
                        notify::show(&handle, notice);
                    }
                }
                if known.get(&t.client_id) != Some(&t) {
                    if windows_open {
                        let _ = handle.emit("ticket-updated", &t);
                    }
                    known.insert(t.client_id.clone(), t);
                }
            }
        }
        if windows_open {
            let _ = handle.emit("tickets-changed", ());
        }
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

/// Runs the app: a window process when started with `--window VIEW`, the tray otherwise.
pub fn run() {
    // A spare window process waits here, before doing anything, for the tray to name a view.
    let spare = if std::env::args().any(|a| a == "--window-spare") {
        match windows::wait_as_spare() {
            Some(request) => Some(request),
            None => return,
        }
    } else {
        None
    };
    let core = match open_core() {
        Ok(core) => core,
        Err(e) => {
            eprintln!("HandRaise cannot start: {e:#}");
            return;
        }
    };
    if let Some(request) = spare {
        if request.view == View::Report {
            // The tray sends the screenshot it took at the trigger right after the request.
            core.expect_screenshot();
        }
        let triggered =
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(request.triggered_at_ms);
        return run_window(core, request.view, request.route, Some(triggered));
    }
    match arg("window").as_deref().map(View::named) {
        Some(Some(view)) => run_window(core, view, arg("route"), None),
        Some(None) => {
            eprintln!("HandRaise: unknown window; use report, tickets, help, about or setup")
        }
        None => run_tray(core),
    }
}

/// The commands and state every process serves.
fn builder(core: &App) -> tauri::Builder<tauri::Wry> {
    tauri::Builder::default()
        .plugin(tauri_plugin_clipboard_manager::init())
        .manage(core.clone())
        .invoke_handler(tauri::generate_handler![
            commands::get_state,
            commands::setup,
            commands::set_email,
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
}

/// Keeps the agent core's work going for as long as the process lives.
fn spawn_core_tasks(handle: &AppHandle, core: &App, tray_process: bool) {
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
    if !tray_process {
        // While a window is open, changes made by the tray's process show up within a second.
        let watch_core = core.clone();
        tauri::async_runtime::spawn(async move {
            watch_core
                .agent()
                .watch_other_processes(std::time::Duration::from_secs(1), std::future::pending())
                .await
        });
    }
    tauri::async_runtime::spawn(follow_changes(handle.clone(), core.clone(), tray_process));
}

/// A window process: one view's window; the process ends when the window closes.
fn run_window(
    core: App,
    view: View,
    route: Option<String>,
    triggered: Option<std::time::SystemTime>,
) {
    let triggered = triggered
        .or_else(|| {
            let ms = std::env::var("HANDRAISE_TRIGGERED_AT_MS")
                .ok()?
                .parse::<u64>()
                .ok()?;
            Some(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
        })
        .unwrap_or_else(std::time::SystemTime::now);
    core.window_requested_at(view.label(), triggered);
    let setup_core = core.clone();
    let result = builder(&core)
        .manage(WindowMode::InProcess)
        .setup(move |app| {
            let handle = app.handle().clone();
            windows::open(&handle, view, route.as_deref())?;
            windows::follow_tray(handle.clone(), setup_core.clone(), view);
            spawn_core_tasks(&handle, &setup_core, false);
            // A window opening is a good moment for fresh outage news and articles.
            setup_core.sync_now();
            Ok(())
        })
        .build(tauri::generate_context!());
    match result {
        // Tauri ends the process when its last window closes.
        Ok(app) => app.run(|_, _| {}),
        Err(e) => eprintln!("HandRaise cannot open the window: {e}"),
    }
}

/// The global shortcut that opens the report form.
#[cfg(target_os = "linux")]
fn register_shortcut(handle: &AppHandle, shortcut: &str) {
    let app = handle.clone();
    let opened = hotkey::listen(shortcut, move || {
        let on_main = app.clone();
        let _ = app.run_on_main_thread(move || open_view(&on_main, View::Report));
    });
    if let Err(e) = opened {
        tracing::warn!(error = %e, shortcut, "the shortcut is not available");
    }
}

#[cfg(not(target_os = "linux"))]
fn register_shortcut(handle: &AppHandle, shortcut: &str) {
    use tauri_plugin_global_shortcut::GlobalShortcutExt;
    let Some(parsed) = shortcut::parse(shortcut) else {
        tracing::warn!(shortcut, "the shortcut is not available: cannot read it");
        return;
    };
    if let Err(e) = handle
        .global_shortcut()
        .register(parsed.accelerator().as_str())
    {
        tracing::warn!(error = %e, shortcut, "the shortcut is not available");
    }
}

/// Elsewhere the shortcut plugin listens; on Linux [`hotkey`] does, without polling.
#[cfg(not(target_os = "linux"))]
fn shortcut_plugin() -> tauri::plugin::TauriPlugin<tauri::Wry> {
    tauri_plugin_global_shortcut::Builder::new()
        .with_handler(|app, _shortcut, event| {
            if event.state == tauri_plugin_global_shortcut::ShortcutState::Pressed {
                open_view(app, View::Report);
            }
        })
        .build()
}

/// On Linux no plugin: an empty one keeps the builder's shape.
#[cfg(target_os = "linux")]
fn shortcut_plugin() -> tauri::plugin::TauriPlugin<tauri::Wry> {
    tauri::plugin::Builder::new("handraise-shortcut").build()
}

/// Windows: the single-instance plugin (Unix uses [`single`], which does not poll).
#[cfg(not(unix))]
fn single_instance_plugin() -> tauri::plugin::TauriPlugin<tauri::Wry> {
    tauri_plugin_single_instance::init(|app, argv, _cwd| {
        if !is_autostart(&argv) {
            open_view(app, View::Report)
        }
    })
}

#[cfg(unix)]
fn single_instance_plugin() -> tauri::plugin::TauriPlugin<tauri::Wry> {
    tauri::plugin::Builder::new("handraise-single").build()
}

/// The tray process: icon, menu, shortcut, notifications and the sync loop; no webview
/// unless windows are kept in-process.
fn run_tray(core: App) {
    let autostart = is_autostart(&std::env::args().collect::<Vec<_>>());
    if autostart && !core.agent().config().policy.autostart {
        tracing::info!("started at sign-in, which the district's policy turns off: not starting");
        return;
    }
    let mode = WindowMode::from_env();
    #[cfg(unix)]
    let claimed = single::socket_path(core.agent().data_dir()).and_then(|p| {
        // A launch by hand opens its `--open` view (the report form by default) in the
        // tray that runs; a start at sign-in opens nothing there.
        let view = view_to_open_at_start().unwrap_or(View::Report);
        single::claim(&p, (!autostart).then_some(view.label()))
    });
    #[cfg(unix)]
    let mut listener = match claimed {
        Ok(single::Instance::First(listener)) => Some(listener),
        Ok(single::Instance::Handed) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot check for another HandRaise; starting anyway");
            None
        }
    };
    let result = builder(&core)
        .plugin(single_instance_plugin())
        .plugin(shortcut_plugin())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec![AUTOSTART_FLAG]),
        ))
        .manage(mode)
        .manage(windows::Children::default())
        .manage(windows::Spare::default())
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
            tray::build(
                &handle,
                &tray_look(&TrayState::default(), policy.allow_quit),
            )?;
            if !policy.shortcut.trim().is_empty() {
                register_shortcut(&handle, &policy.shortcut);
            }
            spawn_core_tasks(&handle, &core, true);
            if mode == WindowMode::Separate {
                windows::start_spare(&handle);
            }
            #[cfg(unix)]
            if let Some(listener) = listener.take() {
                let app = handle.clone();
                single::serve(listener, move |view| {
                    tracing::info!(view, "another launch asked for a window");
                    let view = View::named(view).unwrap_or(View::Report);
                    let on_main = app.clone();
                    let _ = app.run_on_main_thread(move || open_view(&on_main, view));
                });
            }
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
        } => {
            if label == View::Report.label() {
                handle.state::<App>().form_closed();
            }
            if *handle.state::<WindowMode>() == WindowMode::InProcess
                && handle.webview_windows().is_empty()
            {
                // Give WebKit a moment to finish with the page, then end what it keeps.
                let handle = handle.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(std::time::Duration::from_secs(2));
                    let on_main = handle.clone();
                    let _ = handle
                        .run_on_main_thread(move || windows::end_idle_webkit_helpers(&on_main));
                });
            }
        }
        _ => {}
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_at_sign_in_is_told_by_its_flag_after_the_program() {
        assert!(is_autostart(&["handraise.exe", "--autostart"]));
        assert!(is_autostart(&[
            r"C:\Program Files\HandRaise\handraise.exe",
            "--open",
            "report",
            "--autostart"
        ]));
        assert!(!is_autostart(&["handraise.exe"]));
        assert!(!is_autostart(&["handraise", "--open", "report"]));
        assert!(
            !is_autostart(&["--autostart"]),
            "the program's own name is not a flag"
        );
    }
}
