//! A ticket forwarded to a help desk: the console shows it read-only with its desk, the
//! desk's ticket id and a link, and technicians here cannot change it.

use super::console::{SignedIn, page, user};
use super::{App, assert_error};
use axum::http::{Method, StatusCode};
use handraise_server::service::desks::{self, DeskInput};
use handraise_server::store::{Attempt, DeskSecret, Role, now_utc};
use serde_json::json;

#[tokio::test]
async fn a_forwarded_ticket_is_shown_read_only_with_its_desk() {
    let app = App::new();
    let (_, secret) = app.device(None, None).await;
    let (_, kept) = app.ticket(&secret, "Before any desk").await;
    let store = app.state.store().as_ref();
    let input = DeskInput {
        kind: "rt",
        name: "District RT",
        url: "https://rt.district.test",
        secret: DeskSecret("1-14-token".into()),
        queue: None,
        poll_secs: None,
        options: Default::default(),
        mailbox_secret: None,
    };
    desks::add(store, input, now_utc()).expect("desk");
    let (_, n) = app.ticket(&secret, "Projector dark").await;

    user(&app, "sam@school.test", "Sam", Role::Technician).await;
    let sam = SignedIn::sign_in(&app, "sam@school.test").await;
    let uri = format!("/console/tickets/{n}");
    let p = page(&app, Method::GET, &uri, &sam.session, None).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.html.contains("Worked in District RT"), "{}", p.html);
    assert!(p.html.contains("Waiting to be sent"));
    assert!(!p.html.contains(&format!("/console/tickets/{n}/reply")));
    assert!(!p.html.contains(&format!("/console/tickets/{n}/status")));

    store
        .record_forward_attempt(
            n,
            &Attempt::Sent {
                external_id: "42".into(),
            },
            now_utc(),
        )
        .expect("sent");
    let p = page(&app, Method::GET, &uri, &sam.session, None).await;
    assert!(
        p.html
            .contains(r#"href="https://rt.district.test/Ticket/Display.html?id=42""#),
        "{}",
        p.html
    );
    assert!(!p.html.contains("Receipt lost"));
    // A create-only desk's lost receipt is said on the page.
    store.flag_receipt_lost(n).expect("flagged");
    let p = page(&app, Method::GET, &uri, &sam.session, None).await;
    assert!(
        p.html
            .contains("Receipt lost — a duplicate may exist in the desk"),
        "{}",
        p.html
    );

    // Worked in the desk: a reply here is refused, over the API as in the console.
    let tech = app.tech("Robin");
    let r = app
        .ticket_action(&tech, n, "reply", json!({"body": "On my way"}))
        .await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    let p = sam
        .send(&format!("/console/tickets/{n}/reply"), "body=hi")
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT, "{}", p.html);
    // The ticket from before the desk stays in HandRaise's own console.
    let p = page(
        &app,
        Method::GET,
        &format!("/console/tickets/{kept}"),
        &sam.session,
        None,
    )
    .await;
    assert!(!p.html.contains("Worked in"));
    assert!(p.html.contains(&format!("/console/tickets/{kept}/reply")));
}
