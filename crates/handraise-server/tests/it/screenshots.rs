//! Screenshots: their type and size checked from their first bytes, and a second upload
//! replacing the first.

use super::*;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];

/// A PNG's signature and IHDR stating `width`×`height`.
fn png_of(width: u32, height: u32) -> Vec<u8> {
    let mut b = PNG.to_vec();
    b.extend_from_slice(&width.to_be_bytes());
    b.extend_from_slice(&height.to_be_bytes());
    b
}

/// A JPEG's SOI and a baseline frame header stating `width`×`height`.
fn jpeg_of(width: u16, height: u16) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8];
    b.extend_from_slice(&height.to_be_bytes());
    b.extend_from_slice(&width.to_be_bytes());
    b.extend_from_slice(&[1, 1, 0x11, 0]);
    b
}

#[tokio::test]
async fn screenshots_are_checked_and_replaced() {
    let app = App::with_config(Config {
        screenshot_limit_bytes: 1024,
        ..Config::default()
    });
    let (a, b) = app.two_devices().await;
    let (cid, n) = app.ticket(&a, "Screen flickers").await;
    let uri = format!("/api/v1/tickets/{cid}/screenshot");
    let r = app
        .raw(Method::PUT, &uri, &a, "image/png", PNG.to_vec())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["ticket_number"], n);
    assert_eq!(r.body["bytes"], PNG.len());
    let r = app
        .raw(Method::PUT, &uri, &a, "image/jpeg", JPEG.to_vec())
        .await;
    assert_eq!(r.status, StatusCode::OK, "a repeat replaces: {}", r.body);
    let stored = app.store.screenshot(n).expect("read").expect("stored");
    assert_eq!(stored, ("image/jpeg".to_owned(), JPEG.to_vec()));

    let mut big = PNG.to_vec();
    big.resize(2048, 0);
    let cases: Vec<(&str, &str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "png type, jpeg bytes",
            "image/png",
            JPEG.to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "gif",
            "image/gif",
            b"GIF89a".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "text",
            "text/plain",
            b"hello".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "too large",
            "image/png",
            big,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "too wide",
            "image/png",
            png_of(20_000, 10),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            "too many pixels",
            "image/jpeg",
            jpeg_of(12_000, 12_000),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
    ];
    for (name, ctype, body, status, code) in cases {
        let r = app.raw(Method::PUT, &uri, &a, ctype, body).await;
        assert_eq!(r.status, status, "{name}: {}", r.body);
        assert_eq!(r.body["code"], code, "{name}");
    }
    for (ctype, body) in [
        ("image/png", png_of(1920, 1080)),
        ("image/jpeg", jpeg_of(16_384, 6_000)),
    ] {
        let r = app.raw(Method::PUT, &uri, &a, ctype, body.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{ctype}: {}", r.body);
        let stored = app.store.screenshot(n).expect("read").expect("stored");
        assert_eq!(stored, (ctype.to_owned(), body));
    }
    let r = app
        .raw(Method::PUT, &uri, &b, "image/png", PNG.to_vec())
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let tech = app.tech("Sam");
    let t = app.get(&format!("/api/v1/tech/tickets/{n}"), &tech).await;
    assert_eq!(t.body["has_screenshot"], true);
}
