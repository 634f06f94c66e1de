//! Windows are created when opened and destroyed when closed: a hidden webview costs as much
//! memory as a shown one, so none exists while the app waits in the tray.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
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
    pub const ALL: [View; 5] = [
        View::Report,
        View::Tickets,
        View::Help,
        View::About,
        View::Setup,
    ];

    /// The view called `name` (its label).
    pub fn named(name: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.label() == name.trim())
    }

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

/// Window processes started by the tray, one per view at most (separate-window mode).
#[derive(Default)]
pub struct Children(Mutex<HashMap<&'static str, Child>>);

struct Child {
    stdin: Arc<Mutex<ChildStdin>>,
    alive: Arc<AtomicBool>,
}

fn unix_ms(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// Opens `view` in a window process of its own (`handraise --window VIEW`), or brings the
/// running one forward. When that process's window closes, the process ends and WebKit's
/// processes with it, so nothing of the webview stays resident in the tray. The report
/// form's screenshot is taken here, before the window exists, and handed over on the
/// child's stdin (never written to disk).
pub fn open_in_child(
    app: &AppHandle,
    view: View,
    route: Option<&str>,
    on_exit: impl FnOnce() + Send + 'static,
) -> std::io::Result<()> {
    let children = app.state::<Children>();
    let mut map = children.0.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(child) = map.get(view.label())
        && child.alive.load(Ordering::SeqCst)
    {
        let mut stdin = child.stdin.lock().unwrap_or_else(|e| e.into_inner());
        if writeln!(stdin, "focus {}", route.unwrap_or("")).is_ok() {
            return Ok(());
        }
    }
    let triggered = SystemTime::now();
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.args(["--window", view.label()])
        .env("HANDRAISE_TRIGGERED_AT_MS", unix_ms(triggered).to_string())
        .stdin(Stdio::piped());
    if let Some(route) = route {
        cmd.args(["--route", route]);
    }
    let mut process = cmd.spawn()?;
    let stdin =
        Arc::new(Mutex::new(process.stdin.take().ok_or_else(|| {
            std::io::Error::other("the window process has no stdin")
        })?));
    if view == View::Report {
        let stdin = stdin.clone();
        std::thread::spawn(move || {
            let png = handraise_agent::app::App::capture_screenshot_now().unwrap_or_default();
            let mut stdin = stdin.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(stdin, "shot {}", png.len());
            let _ = stdin.write_all(&png);
            let _ = stdin.flush();
        });
    }
    let alive = Arc::new(AtomicBool::new(true));
    let flag = alive.clone();
    std::thread::spawn(move || {
        let _ = process.wait();
        flag.store(false, Ordering::SeqCst);
        on_exit();
    });
    map.insert(view.label(), Child { stdin, alive });
    Ok(())
}

/// In a window process: follows what the tray sends on stdin — `focus [ROUTE]` brings the
/// window forward (on ROUTE), `shot N` + N bytes is the screenshot taken at the trigger.
pub fn follow_tray(app: AppHandle, core: handraise_agent::app::App, view: View) {
    std::thread::spawn(move || {
        let mut input = BufReader::new(std::io::stdin());
        let mut line = String::new();
        loop {
            line.clear();
            match input.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if let Some(len) = line.strip_prefix("shot ") {
                let len: usize = len.trim().parse().unwrap_or(0);
                let mut png = vec![0u8; len];
                if input.read_exact(&mut png).is_err() {
                    return;
                }
                core.set_screenshot(Some(png).filter(|p| !p.is_empty()));
            } else if let Some(rest) = line.strip_prefix("focus") {
                let route = Some(rest.trim().to_owned()).filter(|r| !r.is_empty());
                let handle = app.clone();
                let _ = app.run_on_main_thread(move || {
                    if let Err(e) = open(&handle, view, route.as_deref()) {
                        tracing::warn!(error = %e, "could not bring the window forward");
                    }
                });
            }
        }
    });
}

/// WebKit's helper processes that are children of this process, as (pid, name).
#[cfg(target_os = "linux")]
fn webkit_helpers() -> Vec<(i32, String)> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for task in tasks.flatten() {
        let Ok(kids) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        for pid in kids
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.starts_with("WebKit") {
                out.push((pid, comm.trim().to_owned()));
            }
        }
    }
    out
}

/// With windows in the tray's process, WebKit keeps its network process after the last
/// window closes (it belongs to the web context, which lives as long as the app), about
/// 40 MB that a tray waiting all day should not hold. Called on the main thread when no
/// window is open: ends the helpers that are left; WebKit starts a new network process with
/// the next window.
#[cfg(target_os = "linux")]
pub fn end_idle_webkit_helpers(app: &AppHandle) {
    if !app.webview_windows().is_empty() {
        return;
    }
    for (pid, name) in webkit_helpers() {
        let Some(pid) = rustix::process::Pid::from_raw(pid) else {
            continue;
        };
        match rustix::process::kill_process(pid, rustix::process::Signal::TERM) {
            Ok(()) => tracing::debug!(
                pid = pid.as_raw_nonzero().get(),
                name,
                "ended an idle WebKit helper"
            ),
            Err(e) => tracing::warn!(error = %e, name, "could not end an idle WebKit helper"),
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub fn end_idle_webkit_helpers(_app: &AppHandle) {}
