//! HTTP calls to the district server (the execute half of the sync engine).

use handraise_wire::{
    API_PREFIX, AnnouncementList, ApiError, EnrollRequest, EnrollResponse, KbChanges,
    MessageReceipt, NewMessage, NewTicket, ScreenshotReceipt, TicketReceipt, UpdatesPage,
};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::Policy;
use crate::error::SyncError;
use crate::sync::plan::{Outcome, classify};

/// Connect timeout of every request.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Timeout of an ordinary request (a long-poll gets its wait on top).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A successful answer and what it says about the connection.
#[derive(Debug, Clone)]
pub struct Answer<T> {
    pub value: T,
    pub status: u16,
    pub latency: Duration,
    /// The server's `Date` header.
    pub date: Option<OffsetDateTime>,
}

/// A client for one server and (optionally) one device secret.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    secret: Option<String>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.base)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The shared HTTP client with the agent's timeouts. It trusts the system's certificate
/// authorities and, when the district policy names a `ca_file`, the ones in it.
pub fn http_client(policy: &Policy) -> Result<reqwest::Client, SyncError> {
    let setup = |message: String| SyncError::Transport {
        message,
        timeout: false,
    };
    let mut builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("handraise-agent/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = &policy.ca_file {
        let unusable = |e: &dyn std::fmt::Display| {
            setup(format!(
                "the policy's ca_file {} is not usable: {e}",
                path.display()
            ))
        };
        let pem = std::fs::read(path).map_err(|e| unusable(&e))?;
        let authorities = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| unusable(&e))?;
        if authorities.is_empty() {
            return Err(unusable(&"it holds no PEM certificate"));
        }
        builder = builder.tls_certs_merge(authorities);
    }
    builder
        .build()
        .map_err(|e| setup(format!("cannot set up HTTP: {e}")))
}

/// One line describing a transport error, down to its root cause.
fn transport_error(e: &reqwest::Error) -> SyncError {
    let mut root: &dyn std::error::Error = e;
    while let Some(next) = root.source() {
        root = next;
    }
    let timeout = e.is_timeout();
    let detail = root.to_string();
    let message = if timeout {
        "timed out".to_owned()
    } else if detail.to_ascii_lowercase().contains("connection refused") {
        "connection refused".to_owned()
    } else {
        detail
    };
    SyncError::Transport { message, timeout }
}

/// Parses `Retry-After` given in seconds (HTTP dates are ignored: backoff applies).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Parses an HTTP `Date` header (IMF-fixdate).
pub fn parse_http_date(value: &str) -> Option<OffsetDateTime> {
    let v = value.trim().replace(" GMT", " +0000");
    OffsetDateTime::parse(&v, &time::format_description::well_known::Rfc2822).ok()
}

/// Maps a non-2xx answer to a [`SyncError`] by [`classify`].
pub fn error_for_status(
    status: u16,
    body: Option<ApiError>,
    retry_after: Option<Duration>,
) -> SyncError {
    let (code, message) = match body {
        Some(b) => (b.code, b.message),
        None => (
            String::new(),
            StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("unexpected answer")
                .to_owned(),
        ),
    };
    match classify(status) {
        Outcome::PauseQueue => SyncError::Unauthorized {
            status,
            code,
            message,
        },
        Outcome::RejectItem => SyncError::Rejected {
            status,
            code,
            message,
        },
        Outcome::RetryLater | Outcome::Sent => SyncError::Unavailable {
            status,
            message,
            retry_after,
        },
    }
}

impl ApiClient {
    pub fn new(http: reqwest::Client, base: &str, secret: Option<String>) -> Self {
        ApiClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            secret,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{API_PREFIX}{path}", self.base)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<Answer<T>, SyncError> {
        let req = match &self.secret {
            Some(s) => req.bearer_auth(s),
            None => req,
        };
        let start = Instant::now();
        let resp = req
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        let latency = start.elapsed();
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let date = header("date").and_then(|d| parse_http_date(&d));
        let retry_after = header("retry-after").and_then(|v| parse_retry_after(&v));
        let bytes = resp.bytes().await.map_err(|e| transport_error(&e))?;
        if (200..300).contains(&status) {
            let value = serde_json::from_slice(&bytes)
                .map_err(|e| SyncError::Decode(format!("HTTP {status}: {e}")))?;
            Ok(Answer {
                value,
                status,
                latency,
                date,
            })
        } else {
            let body = serde_json::from_slice::<ApiError>(&bytes).ok();
            Err(error_for_status(status, body, retry_after))
        }
    }

    /// `POST /enroll`.
    pub async fn enroll(&self, req: &EnrollRequest) -> Result<Answer<EnrollResponse>, SyncError> {
        self.call(
            self.http.post(self.url("/enroll")).json(req),
            REQUEST_TIMEOUT,
        )
        .await
    }

    /// `POST /tickets`.
    pub async fn post_ticket(&self, t: &NewTicket) -> Result<Answer<TicketReceipt>, SyncError> {
        self.call(
            self.http.post(self.url("/tickets")).json(t),
            REQUEST_TIMEOUT,
        )
        .await
    }

    /// `POST path` with a JSON body, answer kept as JSON (queued events).
    pub async fn post_event(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<Answer<serde_json::Value>, SyncError> {
        self.call(self.http.post(self.url(path)).json(body), REQUEST_TIMEOUT)
            .await
    }

    /// `POST /tickets/{id}/messages`.
    pub async fn post_message(
        &self,
        ticket: Uuid,
        m: &NewMessage,
    ) -> Result<Answer<MessageReceipt>, SyncError> {
        self.call(
            self.http
                .post(self.url(&format!("/tickets/{ticket}/messages")))
                .json(m),
            REQUEST_TIMEOUT,
        )
        .await
    }

    /// `PUT /tickets/{id}/screenshot`.
    pub async fn put_screenshot(
        &self,
        ticket: Uuid,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<Answer<ScreenshotReceipt>, SyncError> {
        self.call(
            self.http
                .put(self.url(&format!("/tickets/{ticket}/screenshot")))
                .header("content-type", content_type)
                .body(bytes),
            REQUEST_TIMEOUT.saturating_mul(2),
        )
        .await
    }

    /// `GET /updates?cursor=&wait=`.
    pub async fn updates(
        &self,
        cursor: i64,
        wait_secs: u64,
    ) -> Result<Answer<UpdatesPage>, SyncError> {
        let wait = wait_secs.min(handraise_wire::MAX_UPDATES_WAIT_SECS);
        self.call(
            self.http
                .get(self.url(&format!("/updates?cursor={cursor}&wait={wait}"))),
            REQUEST_TIMEOUT + Duration::from_secs(wait),
        )
        .await
    }

    /// `GET /kb?since=`.
    pub async fn kb(&self, since: i64) -> Result<Answer<KbChanges>, SyncError> {
        self.call(
            self.http.get(self.url(&format!("/kb?since={since}"))),
            REQUEST_TIMEOUT,
        )
        .await
    }

    /// `GET /announcements`.
    pub async fn announcements(&self) -> Result<Answer<AnnouncementList>, SyncError> {
        self.call(self.http.get(self.url("/announcements")), REQUEST_TIMEOUT)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_answers_map_to_errors() {
        let body = |c: &str| {
            Some(ApiError {
                code: c.into(),
                message: "why".into(),
            })
        };
        let table: &[(&[u16], bool, &str)] = &[
            (&[400, 404, 409, 413, 415, 422], true, "rejected"),
            (&[401, 403], true, "unauthorized"),
            (&[408, 429, 500, 503], false, "unavailable"),
        ];
        let cases = table
            .iter()
            .flat_map(|(statuses, p, k)| statuses.iter().map(move |s| (s, p, k)));
        for (status, permanent, kind) in cases {
            let e = error_for_status(*status, body("x"), Some(Duration::from_secs(2)));
            assert_eq!(e.is_permanent(), *permanent, "status {status}");
            let got = match &e {
                SyncError::Rejected { message, .. } => {
                    assert_eq!(message, "why");
                    "rejected"
                }
                SyncError::Unauthorized { .. } => "unauthorized",
                SyncError::Unavailable { retry_after, .. } => {
                    assert_eq!(*retry_after, Some(Duration::from_secs(2)));
                    "unavailable"
                }
                other => panic!("status {status}: {other:?}"),
            };
            assert_eq!(got, *kind, "status {status}");
        }
        let transport = SyncError::Transport {
            message: "connection refused".into(),
            timeout: false,
        };
        assert!(!transport.is_permanent());
        // Without a JSON body the reason phrase stands in.
        match error_for_status(422, None, None) {
            SyncError::Rejected { message, .. } => assert_eq!(message, "Unprocessable Entity"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn headers_parse() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        let d = parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").expect("date");
        assert_eq!(d.unix_timestamp(), 1_445_412_480);
        assert_eq!(parse_http_date("yesterday"), None);
    }
}
