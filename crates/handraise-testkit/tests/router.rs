//! The seeded fixture builds on the runtime the fuzz targets use (current thread) and
//! answers as its documentation says.
#![cfg(feature = "router")]

use axum::http::StatusCode;
use handraise_testkit::router::{Seeded, assert_error};

#[tokio::test]
async fn seeded_fixture_has_a_device_a_ticket_and_a_console_session() {
    let s = Seeded::new().await;
    let ticket = format!("/api/v1/tickets/{}", s.ticket_client_id);
    let tech_ticket = format!("/api/v1/tech/tickets/{}", s.ticket_number);
    for (uri, token) in [(&ticket, &s.device_secret), (&tech_ticket, &s.tech_token)] {
        let r = s.app.get(uri, token).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        assert_eq!(r.body["status"], "in_progress", "{uri}");
    }
    let r = s.app.get("/api/v1/announcements", &s.device_secret).await;
    assert_eq!(r.body["announcements"][0]["id"], s.announcement_id);
    assert!(!s.console_cookie.is_empty() && !s.console_csrf.is_empty());
    assert_error(
        &s.app.get("/api/v1/tech/tickets", "not-a-token").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}
