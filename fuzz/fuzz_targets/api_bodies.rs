//! Every JSON body and query the server parses, from arbitrary bytes: no
//! panic, no 5xx, 4xx in the error shape.
#![no_main]

#[path = "common.rs"]
mod common;

use axum::http::Method;
use handraise_testkit::router::{self, Auth};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let f = &common::fixture().seeded;
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (cid, n) = (&f.ticket_client_id, f.ticket_number);
    let dev = Some(f.device_secret.as_str());
    let tech = Some(f.tech_token.as_str());
    // The JSON endpoints by selector (tickets three times: the busiest parser).
    let posts: [(Method, String, Option<&str>); 12] = [
        (Method::POST, "/api/v1/enroll".into(), None),
        (Method::POST, "/api/v1/tickets".into(), dev),
        (Method::POST, "/api/v1/tickets".into(), dev),
        (Method::POST, "/api/v1/tickets".into(), dev),
        (Method::POST, format!("/api/v1/tickets/{cid}/messages"), dev),
        (
            Method::POST,
            format!("/api/v1/tech/tickets/{n}/status"),
            tech,
        ),
        (
            Method::POST,
            format!("/api/v1/tech/tickets/{n}/assign"),
            tech,
        ),
        (
            Method::POST,
            format!("/api/v1/tech/tickets/{n}/reply"),
            tech,
        ),
        (Method::POST, format!("/api/v1/tech/tickets/{n}/note"), tech),
        (Method::POST, "/api/v1/tech/kb".into(), tech),
        (Method::PUT, "/api/v1/tech/kb/fuzz-article".into(), tech),
        (Method::POST, "/api/v1/tech/announcements".into(), tech),
    ];
    let req = match sel % 16 {
        i if usize::from(i) < posts.len() => {
            let (method, uri, token) = &posts[usize::from(i)];
            common::json(method.clone(), uri, *token, rest.to_vec())
        }
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
            let auth = token.map_or(Auth::None, Auth::Bearer);
            match router::request(Method::GET, &uri, auth, None, Vec::new()) {
                Ok(r) => r,
                Err(_) => return, // not a URI any client could send
            }
        }
    };
    common::check(req);
});
