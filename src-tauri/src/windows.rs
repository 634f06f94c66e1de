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

    /// The window's title until its page gives its own, in the teacher's language.
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
        // The page titles itself in the teacher's language; the window (task bar, window
        // list) follows.
        .on_document_title_changed(|window, title| {
            if !title.trim().is_empty() {
                let _ = window.set_title(&title);
            }
        })
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

/// A window process started ahead of time (`handraise --window-spare`): loaded and linked,
/// then blocked reading its stdin, with no thread, no X connection and no data directory
/// open, so it costs only the memory of its relocated libraries and never wakes up. Handing
/// it a view skips the ~60 ms a new process spends in the dynamic linker before `main`.
#[derive(Default)]
pub struct Spare(Mutex<Option<std::process::Child>>);

/// What the tray asks of a spare: `open VIEW TRIGGERED_AT_MS [ROUTE]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpareRequest {
    pub view: View,
    pub triggered_at_ms: u64,
    pub route: Option<String>,
}

impl SpareRequest {
    pub fn line(&self) -> String {
        format!(
            "open {} {} {}",
            self.view.label(),
            self.triggered_at_ms,
            self.route.as_deref().unwrap_or("")
        )
    }

    pub fn parse(line: &str) -> Option<SpareRequest> {
        let mut words = line.split_whitespace();
        if words.next()? != "open" {
            return None;
        }
        let view = View::named(words.next()?)?;
        let triggered_at_ms = words.next()?.parse().ok()?;
        let route = words.next().map(str::to_owned);
        Some(SpareRequest {
            view,
            triggered_at_ms,
            route,
        })
    }
}

/// In a spare: waits for the tray's request; `None` when the tray went away first.
pub fn wait_as_spare() -> Option<SpareRequest> {
    let mut line = String::new();
    // The process-wide stdin buffer: what follows the request (a screenshot) stays in it
    // for [`follow_tray`].
    match std::io::stdin().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => SpareRequest::parse(&line),
    }
}

/// A new `handraise --window-spare`, with its stdin piped.
fn spawn_spare() -> std::io::Result<std::process::Child> {
    Command::new(std::env::current_exe()?)
        .arg("--window-spare")
        .stdin(Stdio::piped())
        .spawn()
}

/// Starts a spare window process unless one is waiting (separate-window mode).
pub fn start_spare(app: &AppHandle) {
    let spare = app.state::<Spare>();
    let mut slot = spare.0.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(process) = slot.as_mut()
        && matches!(process.try_wait(), Ok(None))
    {
        return;
    }
    *slot = spawn_spare()
        .inspect_err(|e| tracing::warn!(error = %e, "could not start a spare window process"))
        .ok();
}

/// `process` (a spare) told to open `request`, or `None` if it could not take it.
fn hand_over(
    mut process: std::process::Child,
    request: &SpareRequest,
) -> Option<std::process::Child> {
    let handed = matches!(process.try_wait(), Ok(None))
        && process.stdin.as_mut().is_some_and(|stdin| {
            writeln!(stdin, "{}", request.line()).is_ok() && stdin.flush().is_ok()
        });
    if handed {
        Some(process)
    } else {
        let _ = process.kill();
        let _ = process.wait();
        None
    }
}

/// Opens `view` in a window process of its own (the waiting spare, or a new one), or brings the running one forward. When that process's
/// window closes, the process ends and WebKit's processes with it, so nothing of the webview
/// stays resident in the tray; a new spare is started then. The report form's screenshot is
/// taken here, before the window exists, and handed over on the child's stdin (never
/// written to disk).
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
    let request = SpareRequest {
        view,
        triggered_at_ms: u64::try_from(unix_ms(triggered)).unwrap_or(0),
        route: route.map(str::to_owned),
    };
    let waiting = app
        .state::<Spare>()
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    let mut process = match waiting.and_then(|spare| hand_over(spare, &request)) {
        Some(process) => process,
        None => hand_over(spawn_spare()?, &request).ok_or_else(|| {
            std::io::Error::other("the new window process did not take the request")
        })?,
    };
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
    let handle = app.clone();
    std::thread::spawn(move || {
        let _ = process.wait();
        flag.store(false, Ordering::SeqCst);
        on_exit();
        // The next window gets a spare again; started now, not while this one was starting.
        start_spare(&handle);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spare_requests_round_trip() {
        for request in [
            SpareRequest {
                view: View::Report,
                triggered_at_ms: 1_795_000_000_123,
                route: None,
            },
            SpareRequest {
                view: View::Tickets,
                triggered_at_ms: 7,
                route: Some("/tickets/0190c6e2-0000-7000-8000-000000000001".into()),
            },
        ] {
            assert_eq!(SpareRequest::parse(&request.line()), Some(request.clone()));
            assert_eq!(
                SpareRequest::parse(&format!("{}\n", request.line())),
                Some(request)
            );
        }
    }

    #[test]
    fn spare_requests_that_make_no_sense_are_refused() {
        for line in [
            "",
            "open",
            "open report",
            "open report soon",
            "open kitchen 12",
            "shot 12",
            "focus /report",
        ] {
            assert_eq!(SpareRequest::parse(line), None, "{line:?}");
        }
    }
}
