//! Native notifications. What to say, in the teacher's language, is decided by the agent
//! core (`app::notices`); this only shows it, and opens the ticket when the notification is
//! clicked (where the desktop reports clicks).

#[cfg(all(unix, not(target_os = "macos")))]
use crate::windows::View;
use handraise_agent::app::Notice;
use tauri::AppHandle;

pub fn show(app: &AppHandle, notice: Notice) {
    // Only the Linux desktop reports the click that opens the ticket (Windows' toasts and
    // macOS' notifications are shown without it).
    #[cfg(all(unix, not(target_os = "macos")))]
    let app = app.clone();
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    let _ = app;
    // Waiting for a click blocks, so each notification gets its own short-lived thread.
    std::thread::spawn(move || {
        let shown = notify_rust::Notification::new()
            .appname("HandRaise")
            .summary(&notice.title)
            .body(&notice.body)
            .action("default", &notice.open)
            .show();
        match shown {
            #[cfg(all(unix, not(target_os = "macos")))]
            Ok(handle) => handle.wait_for_action(|action| {
                if action == "default" {
                    let route = format!("/tickets/{}", notice.client_id);
                    let opener = app.clone();
                    let _ = app.run_on_main_thread(move || {
                        crate::open_route(&opener, View::Tickets, Some(&route));
                    });
                }
            }),
            #[cfg(not(all(unix, not(target_os = "macos"))))]
            Ok(_) => {}
            Err(e) => tracing::info!(error = %e, "no notification shown (no notification service)"),
        }
    });
}
