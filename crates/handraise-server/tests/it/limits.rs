//! The limits of what a teacher sends, through the real handlers: the longest accepted
//! value of every field and one character more. The agent's test of the same name and the
//! UI's `validation.test.ts` send the same values; all three read the limits from
//! `handraise_wire` (the UI through its generated `TEXT_LIMITS`).

use super::{App, Reply, assert_error, ticket_body};
use axum::http::StatusCode;
use handraise_wire::TextField;
use serde_json::{Value, json};
use uuid::Uuid;

/// Every request that carries `field`, with `value` in it: what it is, where it goes, with
/// whose token, and its body.
fn requests<'a>(
    who: &'a Who,
    field: TextField,
    value: &str,
) -> Vec<(&'static str, String, &'a str, Value)> {
    let ticket = |key: &str| {
        let mut t = ticket_body("ok");
        t[key] = json!(value);
        (
            "ticket",
            "/api/v1/tickets".to_owned(),
            who.device.as_str(),
            t,
        )
    };
    let at = "2025-03-04T09:20:00Z";
    match field {
        TextField::Summary => vec![ticket("summary")],
        TextField::Details => vec![ticket("details")],
        TextField::Room => vec![
            ticket("room"),
            (
                "me too",
                format!("/api/v1/announcements/{}/me-too", who.announcement),
                &who.device,
                json!({"client_id": Uuid::now_v7(), "created_at": at, "room": value}),
            ),
        ],
        TextField::Message => vec![
            (
                "teacher message",
                format!("/api/v1/tickets/{}/messages", who.ticket),
                &who.device,
                json!({"client_id": Uuid::now_v7(), "created_at": at, "body": value}),
            ),
            (
                "technician reply",
                format!("/api/v1/tech/tickets/{}/reply", who.number),
                &who.tech,
                json!({ "body": value }),
            ),
        ],
    }
}

async fn send(app: &App, who: &Who, field: TextField, value: &str) -> Vec<(&'static str, Reply)> {
    let mut replies = Vec::new();
    for (what, uri, token, body) in requests(who, field, value) {
        let r = app.post(&uri, token, body).await;
        replies.push((what, r));
    }
    replies
}

struct Who {
    device: String,
    tech: String,
    ticket: String,
    number: i64,
    announcement: i64,
}

#[tokio::test]
async fn every_field_takes_its_longest_value_and_refuses_one_more() {
    let app = App::new();
    let (_, device) = app.device(None, None).await;
    let (ticket, number) = app.ticket(&device, "ok").await;
    let tech = app.tech("Lead");
    let r = app
        .post(
            "/api/v1/tech/announcements",
            &tech,
            json!({"kind": "outage", "title": "Wi-Fi down", "message": "We know"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let who = Who {
        device,
        tech,
        ticket,
        number,
        announcement: r.body["id"].as_i64().expect("id"),
    };
    for field in TextField::ALL {
        // Spaces around do not count; each "😀" is one character (two UTF-16 units).
        let longest = format!(" {} ", "😀".repeat(field.max_chars()));
        for (what, r) in send(&app, &who, *field, &longest).await {
            assert!(
                r.status == StatusCode::CREATED || r.status == StatusCode::OK,
                "{field:?} in a {what}: {} {}",
                r.status,
                r.body
            );
        }
        let past = "é".repeat(field.max_chars() + 1);
        for (what, r) in send(&app, &who, *field, &past).await {
            assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
            let message = r.body["message"].as_str().unwrap_or_default();
            assert!(
                message.contains(&(field.max_chars() + 1).to_string()),
                "{field:?} in a {what}: {message}"
            );
        }
        if field.required() {
            for (what, r) in send(&app, &who, *field, " \n ").await {
                assert_eq!(
                    r.status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{field:?} in a {what}"
                );
            }
        }
    }
    // What is stored is what was counted: no stored text is longer than its limit, even
    // with the spaces the longest values were sent with.
    let count = |s: &str| s.chars().count();
    let listed = app.state.store().list_tickets(None).expect("tickets");
    let tickets: Vec<_> = listed
        .iter()
        .map(|d| {
            let detail = app.state.store().ticket_detail(d.ticket.number);
            detail.expect("read").expect("ticket")
        })
        .collect();
    for d in &tickets {
        let t = &d.ticket;
        assert!(count(&t.summary) <= TextField::Summary.max_chars());
        let details = t.details.as_deref().unwrap_or_default();
        assert!(count(details) <= TextField::Details.max_chars());
        assert_eq!(details, details.trim());
        assert!(count(t.room.as_deref().unwrap_or_default()) <= TextField::Room.max_chars());
        for m in &d.messages {
            assert!(count(&m.body) <= TextField::Message.max_chars());
            assert_eq!(m.body, m.body.trim());
        }
    }
    assert!(tickets.iter().any(|d| d.ticket.details.is_some()));
}
