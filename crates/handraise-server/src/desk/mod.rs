//! Clients of the help desks tickets are forwarded to, one module per
//! protocol: `rt` (Request Tracker's REST2), `osticket` (osTicket's ticket
//! API), `smtp` (mail out, for desks that take tickets by email), `imap`
//! (a mailbox replies are read from, with `mail-parser` for MIME) and
//! `webhook` (a signed JSON POST per event). They
//! speak the protocol and nothing else: what to send and when is decided by
//! `service::forward`. A leaf: imports nothing of this crate.

pub mod imap;
pub mod osticket;
pub mod rt;
pub mod smtp;
mod tls;
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
    /// The desk refused the item itself, for good (osTicket's validation
    /// errors, which it answers with 500; a request the desk cannot take).
    #[error("the desk refused it: {0}")]
    Refused(String),
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
            DeskError::Refused(_) => false,
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

/// Whether `host` is the loopback interface (`localhost`, 127.0.0.0/8, ::1),
/// where a mail server may be spoken to without TLS.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A mail server's address: `scheme://[user@]host[:port]`, with the scheme's
/// default port; whether the scheme wants TLS from the first byte
/// (`smtps`, `imaps`) rather than STARTTLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    pub host: String,
    pub port: u16,
    pub implicit_tls: bool,
}

impl ServerUrl {
    /// Parses `url` whose scheme is `plain` (STARTTLS) or `tls` (implicit
    /// TLS), with those schemes' default ports.
    pub fn parse(url: &str, plain: (&str, u16), tls: (&str, u16)) -> Result<Self, DeskError> {
        let bad = |why: &str| DeskError::Protocol(format!("{url:?}: {why}"));
        let parsed = reqwest::Url::parse(url.trim()).map_err(|e| bad(&e.to_string()))?;
        let implicit_tls = match parsed.scheme() {
            s if s == plain.0 => false,
            s if s == tls.0 => true,
            _ => return Err(bad(&format!("must be {}:// or {}://", plain.0, tls.0))),
        };
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .to_owned();
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad("no user or password in the URL (give them as options)"));
        }
        if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() {
            return Err(bad("only scheme, host and port"));
        }
        let port = parsed
            .port()
            .unwrap_or(if implicit_tls { tls.1 } else { plain.1 });
        Ok(Self {
            host,
            port,
            implicit_tls,
        })
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
