//! The seeded fixture builds on the runtime the fuzz targets use (current thread) and
//! answers as its documentation says.
#![cfg(feature = "router")]

use axum::http::StatusCode;
use handraise_testkit::router::{Seeded, assert_error};

#[tokio::test]
async fn seeded_fixture_has_a_device_a_ticket_and_a_console_session() {
    let s = Seeded::new().await;
    let r = s
        .app
        .get(
            &format!("/api/v1/tickets/{}", s.ticket_client_id),
            &s.device_secret,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "in_progress");
    let r = s
        .app
        .get(
            &format!("/api/v1/tech/tickets/{}", s.ticket_number),
            &s.tech_token,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = s.app.get("/api/v1/announcements", &s.device_secret).await;
    assert_eq!(r.body["announcements"][0]["id"], s.announcement_id);
    assert!(!s.console_cookie.is_empty() && !s.console_csrf.is_empty());
    assert_error(
        &s.app.get("/api/v1/tech/tickets", "not-a-token").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}
