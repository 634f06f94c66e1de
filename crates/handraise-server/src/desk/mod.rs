//! HTTP clients of the help desks tickets are forwarded to, one module per
//! kind. They speak the desk's API and nothing else: what to send and when
//! is decided by `service::forward`. A leaf: imports nothing of this crate.

pub mod rt;
pub mod webhook;

use std::time::Duration;

/// How long one request to a desk may take, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP client of every desk: [`REQUEST_TIMEOUT`], 10 s to connect, no
/// redirects followed (a desk that moved is its setup, which an admin fixes).
pub fn http_client() -> Result<reqwest::Client, DeskError> {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(std::time::Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| DeskError::Protocol(e.to_string()))
}

/// Why a desk request did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// The request never reached the desk: refused connection, DNS.
    #[error("the desk could not be reached: {0}")]
    Unreachable(String),
    /// The request was sent but no answer came (a timeout, a reset): the desk
    /// may still be doing what was asked.
    #[error("the desk did not answer: {0}")]
    NoAnswer(String),
    /// The desk answered with an error status.
    #[error("the desk answered {status}: {message}")]
    Status {
        status: u16,
        message: String,
        /// Seconds from a `Retry-After` header.
        retry_after_secs: Option<u64>,
    },
    /// The desk answered something this client cannot read.
    #[error("the desk's answer could not be read: {0}")]
    Protocol(String),
}

impl DeskError {
    /// Whether trying again later may succeed. Only the desk refusing the
    /// item itself (400, 413, 422) is final; no answer, 408, 429, 5xx, and a
    /// refused token or missing queue (401, 403, 404: the desk's setup,
    /// which an admin can fix) are retried with backoff.
    pub fn is_transient(&self) -> bool {
        match self {
            DeskError::Unreachable(_) | DeskError::NoAnswer(_) | DeskError::Protocol(_) => true,
            DeskError::Status { status, .. } => !matches!(status, 400 | 413 | 422),
        }
    }

    /// Whether the desk may have done what was asked without saying so.
    pub fn in_doubt(&self) -> bool {
        matches!(self, DeskError::NoAnswer(_))
    }

    /// The wait the desk asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            DeskError::Status {
                retry_after_secs: Some(s),
                ..
            } => Some(Duration::from_secs(*s)),
            _ => None,
        }
    }
}

impl From<reqwest::Error> for DeskError {
    fn from(e: reqwest::Error) -> Self {
        if e.is_decode() {
            DeskError::Protocol(e.to_string())
        } else if e.is_connect() || e.is_builder() {
            DeskError::Unreachable(e.to_string())
        } else {
            DeskError::NoAnswer(e.to_string())
        }
    }
}

/// `Retry-After` in seconds (the HTTP-date form is read as "soon": 1 s).
pub fn retry_after_secs(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    Some(v.trim().parse::<u64>().unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_errors_are_retried_and_refusals_are_not() {
        let status = |status| DeskError::Status {
            status,
            message: String::new(),
            retry_after_secs: None,
        };
        assert!(DeskError::Unreachable("refused".into()).is_transient());
        for s in [401, 403, 404, 408, 429, 500, 502, 503] {
            assert!(status(s).is_transient(), "{s}");
        }
        for s in [400, 413, 422] {
            assert!(!status(s).is_transient(), "{s}");
        }
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "7".parse().expect("header"));
        assert_eq!(retry_after_secs(&h), Some(7));
    }
}
