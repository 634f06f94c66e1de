//! The web bundle's files, read from `report_dir` (default: `report/` next
//! to the binary), and the page answered when it is not there.

use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::path::{Component, PathBuf};

/// The entry page's name in the bundle.
const INDEX: &str = "report.html";

/// Where the Debian package installs the bundle.
const PACKAGED: &str = "/usr/share/handraise-server/report";

/// The bundle's directory: `report_dir`, else `report/` beside the binary (where
/// `cargo xtask` builds put it), else the package's.
pub fn dir(state: &AppState) -> PathBuf {
    if let Some(dir) = &state.config().report_dir {
        return dir.clone();
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("report")));
    match beside {
        Some(d) if d.is_dir() => d,
        _ => PathBuf::from(PACKAGED),
    }
}

/// Headers of every answer of the page: its own origin only.
fn harden(response: &mut Response, cache: &'static str) {
    let h = response.headers_mut();
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; \
             script-src 'self'; connect-src 'self'; worker-src 'self'; object-src 'none'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
}

/// A small page saying `message` (plain HTML, no bundle needed).
pub fn message_page(status: StatusCode, heading: &str, message: &str) -> Response {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{h} · HandRaise</title></head><body style=\"font-family:system-ui,sans-serif;\
         max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5\"><main>\
         <h1>{h}</h1><p>{m}</p></main></body></html>",
        h = esc(heading),
        m = esc(message)
    );
    let mut response = (status, Html(body)).into_response();
    harden(&mut response, "no-store");
    response
}

/// The answer when the bundle is missing.
fn missing() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "The report page is not built",
        "This server was built without the web report page. Build it with `cargo xtask dist` \
         (or `npm ci && npm run build:report` in ui/), then put the built directory \
         (ui/dist-report) where `report_dir` in config.toml points, or in `report/` next to \
         the handraise-server binary.",
    )
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "webmanifest" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

async fn serve(state: &AppState, rel: &str) -> Response {
    // Only plain names below the bundle's directory.
    let safe = !rel.is_empty()
        && std::path::Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    if !safe {
        return StatusCode::NOT_FOUND.into_response();
    }
    let path = dir(state).join(rel);
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let mut response = bytes.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(rel)),
            );
            // Hashed asset names never change; the page and the service worker do.
            let cache = if rel.starts_with("assets/") {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            harden(&mut response, cache);
            response
        }
        Err(_) if rel == INDEX => missing(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/report/`: the page.
pub async fn index(State(state): State<AppState>) -> Response {
    serve(&state, INDEX).await
}

/// `/report/{file}`: a file of the bundle.
pub async fn file(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    serve(&state, &file).await
}
