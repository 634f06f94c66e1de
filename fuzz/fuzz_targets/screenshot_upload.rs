//! `PUT /api/v1/tickets/{id}/screenshot` with arbitrary bytes and content
//! types: no panic, no 5xx, 4xx in the error shape.
#![no_main]

#[path = "common.rs"]
mod common;

use axum::body::Body;
use axum::http::{Method, Request, header};
use libfuzzer_sys::fuzz_target;

const TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/jpg",
    "IMAGE/PNG; charset=binary",
    "image/gif",
    "application/octet-stream",
    "",
];

fuzz_target!(|data: &[u8]| {
    let f = &common::fixture().seeded;
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    // Low bits: the content type (or, past the list, one taken from the input);
    // bit 7: another device's / an unknown ticket.
    let (ctype, body): (Vec<u8>, &[u8]) = match (sel & 0x0f) as usize {
        i if i < TYPES.len() => (TYPES[i].as_bytes().to_vec(), rest),
        _ => {
            let n = rest
                .first()
                .map_or(0, |&n| n as usize)
                .min(rest.len().saturating_sub(1));
            let (ct, body) = rest.get(1..).unwrap_or(&[]).split_at(n);
            (ct.to_vec(), body)
        }
    };
    let cid = if sel & 0x80 == 0 {
        f.ticket_client_id.clone()
    } else {
        "01933b5e-8c4a-7d2e-9f10-2a3b4c5d6e7f".to_owned()
    };
    let mut b = Request::builder()
        .method(Method::PUT)
        .uri(format!("/api/v1/tickets/{cid}/screenshot"))
        .header(header::AUTHORIZATION, format!("Bearer {}", f.device_secret));
    if sel & 0x40 == 0 {
        b = b.header(header::CONTENT_TYPE, ctype.as_slice());
    }
    if sel & 0x20 != 0 {
        // A declared length that does not match the body.
        b = b.header(header::CONTENT_LENGTH, (body.len() / 2).to_string());
    }
    let Ok(req) = b.body(Body::from(body.to_vec())) else {
        return; // a header value no client could send
    };
    common::check(req);
});
