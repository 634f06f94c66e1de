//! Native notifications. What to say, in the teacher's language, is decided by the agent
//! core (`app::notices`); this only shows it, and opens the ticket when the notification is
//! clicked (the Linux desktop and Windows report clicks; macOS shows it without).

#[cfg(not(target_os = "macos"))]
use crate::windows::View;
use handraise_agent::app::Notice;
use tauri::AppHandle;

pub fn show(app: &AppHandle, notice: Notice) {
    #[cfg(not(target_os = "macos"))]
    let app = app.clone();
    #[cfg(target_os = "macos")]
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
                    open_ticket(&app, &notice.client_id);
                }
            }),
            #[cfg(windows)]
            Ok(handle) => {
                let _ = handle.wait_for_response(|response: &notify_rust::NotificationResponse| {
                    if opens_ticket(response) {
                        open_ticket(&app, &notice.client_id);
                    }
                });
            }
            #[cfg(target_os = "macos")]
            Ok(_) => {}
            Err(e) => tracing::info!(error = %e, "no notification shown (no notification service)"),
        }
    });
}

#[cfg(not(target_os = "macos"))]
fn open_ticket(app: &AppHandle, client_id: &str) {
    let route = format!("/tickets/{client_id}");
    let opener = app.clone();
    let _ = app.run_on_main_thread(move || {
        crate::open_route(&opener, View::Tickets, Some(&route));
    });
}

/// A Windows toast opens the ticket on a click on its body or on its "Open" button (the
/// `default` action); closing or dismissing it opens nothing.
#[cfg(windows)]
fn opens_ticket(response: &notify_rust::NotificationResponse) -> bool {
    use notify_rust::NotificationResponse as R;
    match response {
        R::Default => true,
        R::Action(key) => key == "default",
        _ => false,
    }
}

#[cfg(all(test, windows))]
mod tests {
    use super::*;
    use notify_rust::{CloseReason, NotificationResponse as R};

    #[test]
    fn a_click_on_the_toast_or_its_button_opens_the_ticket() {
        assert!(opens_ticket(&R::Default));
        assert!(opens_ticket(&R::Action("default".into())));
        assert!(!opens_ticket(&R::Action("other".into())));
        assert!(!opens_ticket(&R::Closed(CloseReason::Dismissed)));
        assert!(!opens_ticket(&R::Closed(CloseReason::Expired)));
    }
}
