//! Log lines: JSON for log shippers, and the request's id on every line logged
//! while it is handled (and in the answer's `X-Request-Id`).
//!
//! A test binary of its own: a scoped log subscriber sees every event only
//! when no other test's threads touch the same call sites at the same time
//! (tracing caches their interest process-wide).

use axum::body::Body;
use axum::http::Request;
use handraise_server::config::LogFormat;
use handraise_server::logging;
use handraise_testkit::router::App;
use serde_json::Value;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing_subscriber::EnvFilter;

/// Log output kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8(bytes)
            .expect("utf-8")
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}

fn request_id_of(line: &Value) -> Option<&str> {
    line["spans"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == "request")?["request_id"]
        .as_str()
}

#[tokio::test]
async fn json_lines_carry_the_request_id() {
    let out = Captured::default();
    let subscriber =
        logging::subscriber(LogFormat::Json, EnvFilter::new("debug"), out.clone(), false);
    let _default = tracing::subscriber::set_default(subscriber);
    let app = App::new();

    for given in [None, Some("proxy-42"), Some("not an id")] {
        let before = out.lines().len();
        let mut req = Request::get("/healthz");
        if let Some(id) = given {
            req = req.header("x-request-id", id);
        }
        let r = app.send(req.body(Body::empty()).expect("request")).await;
        let id = r
            .header(axum::http::HeaderName::from_static("x-request-id"))
            .expect("the answer names its id")
            .to_owned();
        match given {
            Some("proxy-42") => assert_eq!(id, "proxy-42", "a proxy's id is kept"),
            _ => assert!(uuid::Uuid::parse_str(&id).is_ok(), "a new id: {id}"),
        }
        let lines = out.lines();
        let mine = &lines[before..];
        assert!(mine.len() >= 2, "the request was logged: {mine:?}");
        for line in mine {
            assert_eq!(request_id_of(line), Some(id.as_str()), "{line}");
            assert!(
                line["timestamp"].is_string() && line["level"].is_string(),
                "{line}"
            );
        }
    }
}
