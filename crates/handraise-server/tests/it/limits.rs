//! The limits of what a teacher sends, through the real handlers: the longest accepted
//! value of every field and one character more. The agent's test of the same name and the
//! UI's `validation.test.ts` send the same values; all three read the limits from
//! `handraise_wire` (the UI through its generated `TEXT_LIMITS`).

use super::{App, Reply, assert_error, ticket_body};
use axum::http::{Method, StatusCode};
use handraise_wire::TextField;
use serde_json::{Value, json};
use uuid::Uuid;

/// Every request that carries `field`, with `value` in it.
async fn send(app: &App, who: &Who, field: TextField, value: &str) -> Vec<(&'static str, Reply)> {
    let ticket = |f: &dyn Fn(&mut Value)| {
        let mut t = ticket_body("ok");
        f(&mut t);
        t
    };
    let post = |uri: String, token: &str, body: Value| {
        let token = token.to_owned();
        async move { app.call(Method::POST, &uri, Some(&token), Some(body)).await }
    };
    let message = json!({"client_id": Uuid::now_v7(), "created_at": "2025-03-04T09:20:00Z",
                         "body": value});
    match field {
        TextField::Summary => vec![(
            "ticket",
            post(
                "/api/v1/tickets".into(),
                &who.device,
                ticket(&|t| t["summary"] = json!(value)),
            )
            .await,
        )],
        TextField::Details => vec![(
            "ticket",
            post(
                "/api/v1/tickets".into(),
                &who.device,
                ticket(&|t| t["details"] = json!(value)),
            )
            .await,
        )],
        TextField::Room => vec![
            (
                "ticket",
                post(
                    "/api/v1/tickets".into(),
                    &who.device,
                    ticket(&|t| t["room"] = json!(value)),
                )
                .await,
            ),
            (
                "me too",
                post(
                    format!("/api/v1/announcements/{}/me-too", who.announcement),
                    &who.device,
                    json!({"client_id": Uuid::now_v7(), "created_at": "2025-03-04T09:20:00Z",
                           "room": value}),
                )
                .await,
            ),
        ],
        TextField::Message => vec![
            (
                "teacher message",
                post(
                    format!("/api/v1/tickets/{}/messages", who.ticket),
                    &who.device,
                    message,
                )
                .await,
            ),
            (
                "technician reply",
                post(
                    format!("/api/v1/tech/tickets/{}/reply", who.number),
                    &who.tech,
                    json!({ "body": value }),
                )
                .await,
            ),
        ],
    }
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
        .call(
            Method::POST,
            "/api/v1/tech/announcements",
            Some(&tech),
            Some(json!({"kind": "outage", "title": "Wi-Fi down", "message": "We know"})),
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
}
