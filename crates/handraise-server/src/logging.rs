//! Log lines on stderr: text for people (the default), or one JSON object a
//! line for log shippers (`log_format = "json"`). Every line logged while a
//! request is handled carries its `request_id` (the `request` span opened by
//! the router's outermost middleware), which the answer repeats in
//! `X-Request-Id`.

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The header that carries a request's id, in and out.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A subscriber writing `format` lines to `writer`, filtered by `filter`
/// (`RUST_LOG` syntax).
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.with_ansi(ansi).finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .with_current_span(false)
                .with_span_list(true)
                .finish(),
        ),
    }
}

/// The id of a request: the one a proxy in front gave it when that looks
/// like an id (at most 64 letters, digits, `-`, `_`, `.`), else a new one.
pub fn request_id(given: Option<&str>) -> String {
    match given {
        Some(id)
            if !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) =>
        {
            id.to_owned()
        }
        _ => uuid::Uuid::now_v7().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxys_id_is_kept_only_when_it_looks_like_one() {
        assert_eq!(request_id(Some("abc-123_x.y")), "abc-123_x.y");
        for bad in ["", "has space", "new\u{7f}line", &"x".repeat(65), "ünï"] {
            let made = request_id(Some(bad));
            assert!(uuid::Uuid::parse_str(&made).is_ok(), "{bad:?} -> {made}");
        }
        assert_ne!(request_id(None), request_id(None));
    }
}
