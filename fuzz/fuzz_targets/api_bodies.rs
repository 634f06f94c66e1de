//! Every JSON body and query the server parses, from arbitrary bytes: no
//! panic, no 5xx, 4xx in the error shape.
#![no_main]

#[path = "common.rs"]
mod common;

use axum::body::Body;
use axum::http::{Method, Request, header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let f = &common::fixture().seeded;
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (cid, n) = (&f.ticket_client_id, f.ticket_number);
    let dev = Some(f.device_secret.as_str());
    let tech = Some(f.tech_token.as_str());
    let body = rest.to_vec();
    let req = match sel % 16 {
        0 => common::json(Method::POST, "/api/v1/enroll", None, body),
        1 | 2 | 3 => common::json(Method::POST, "/api/v1/tickets", dev, body),
        4 => common::json(
            Method::POST,
            &format!("/api/v1/tickets/{cid}/messages"),
            dev,
            body,
        ),
        5 => common::json(
            Method::POST,
            &format!("/api/v1/tech/tickets/{n}/status"),
            tech,
            body,
        ),
        6 => common::json(
            Method::POST,
            &format!("/api/v1/tech/tickets/{n}/assign"),
            tech,
            body,
        ),
        7 => common::json(
            Method::POST,
            &format!("/api/v1/tech/tickets/{n}/reply"),
            tech,
            body,
        ),
        8 => common::json(
            Method::POST,
            &format!("/api/v1/tech/tickets/{n}/note"),
            tech,
            body,
        ),
        9 => common::json(Method::POST, "/api/v1/tech/kb", tech, body),
        10 => common::json(Method::PUT, "/api/v1/tech/kb/fuzz-article", tech, body),
        11 => common::json(Method::POST, "/api/v1/tech/announcements", tech, body),
        // Queries and path segments: the rest of the input as text. Never a
        // long-poll wait: the fuzzer would sit in it (tests/props.rs covers it).
        sel => {
            let text = String::from_utf8_lossy(rest).into_owned();
            let (uri, token) = match sel {
                // No `%` there, so no percent-encoded "wait" either.
                12 => (
                    format!(
                        "/api/v1/updates?{}",
                        text.replace('%', "").replace("wait", "w")
                    ),
                    dev,
                ),
                13 => (format!("/api/v1/kb?{text}"), dev),
                14 => (format!("/api/v1/tech/tickets?{text}"), tech),
                _ => (format!("/api/v1/tickets/{text}"), dev),
            };
            let mut b = Request::builder().method(Method::GET).uri(uri);
            if let Some(t) = token {
                b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
            }
            match b.body(Body::empty()) {
                Ok(r) => r,
                Err(_) => return, // not a URI any client could send
            }
        }
    };
    common::check(req);
});
