//! osTicket's ticket API, as its repository documents it
//! (`setup/doc/api.md`, `setup/doc/api/tickets.md`): create-only.
//!
//! - `POST {base}/api/tickets.json` with the `X-API-Key` header; the key is
//!   bound to the client's IP address in osTicket's admin panel.
//! - Required fields: `email`, `name`, `subject`, `message`; optional
//!   `priorityId`, `topicId`, `source`, `attachments` (each `{name: data
//!   URL}`, RFC 2397).
//! - `201 Created`, the body the new ticket's number as text. Errors are
//!   plain text with a status; a ticket that fails osTicket's validation
//!   comes back as `500` ("Unable to create new ticket: validation
//!   errors…"), which is final, unlike other 5xx.
//!
//! There is no API to search, read or add to a ticket: a create whose
//! answer was lost cannot be looked up, so a second ticket is possible, and
//! replies come back by mail (osTicket mails its requester).

use super::{DeskError, retry_after_secs};
use base64::Engine;
use serde_json::{Value, json};

/// A ticket to create.
#[derive(Debug, Clone)]
pub struct NewOsTicket {
    /// The requester osTicket mails its replies to.
    pub name: String,
    pub email: String,
    pub subject: String,
    pub message: String,
    pub priority_id: Option<u8>,
    /// A file to attach: name, MIME type, bytes.
    pub attachment: Option<(String, String, Vec<u8>)>,
}

/// A client of one osTicket.
#[derive(Clone)]
pub struct OsTicket {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl std::fmt::Debug for OsTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OsTicket")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Whether an osTicket 500 is its validation refusal (final), by its text.
fn is_validation_refusal(body: &str) -> bool {
    let b = body.to_ascii_lowercase();
    b.contains("validation") || b.contains("unable to create new ticket")
}

impl OsTicket {
    /// A client of the osTicket at `url` (its web base, e.g.
    /// `https://help.district.org`), with API key `key`.
    pub fn new(url: &str, key: &str) -> Result<Self, DeskError> {
        Ok(Self {
            http: super::http_client()?,
            base: url.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
        })
    }

    /// Where a technician finds ticket `number` in osTicket's staff panel.
    pub fn ticket_link(url: &str, number: &str) -> String {
        format!(
            "{}/scp/tickets.php?number={number}",
            url.trim_end_matches('/')
        )
    }

    async fn post(&self, body: &Value) -> Result<(u16, String), DeskError> {
        let resp = self
            .http
            .post(format!("{}/api/tickets.json", self.base))
            .header("X-API-Key", &self.key)
            .json(body)
            .send()
            .await?;
        let status = resp.status().as_u16();
        let retry = retry_after_secs(resp.headers());
        let text = resp
            .text()
            .await
            .map_err(|e| DeskError::NoAnswer(e.to_string()))?;
        let text = text.trim().to_owned();
        match status {
            200..=299 => Ok((status, text)),
            500 if is_validation_refusal(&text) => Err(DeskError::Refused(text)),
            _ => Err(DeskError::Status {
                status,
                message: text.chars().take(200).collect(),
                retry_after_secs: retry,
            }),
        }
    }

    /// Checks the address and key without creating a ticket: posts an
    /// empty ticket, which osTicket refuses by validation once the key is
    /// accepted (a refused key answers 401).
    pub async fn check(&self) -> Result<(), DeskError> {
        match self.post(&json!({})).await {
            Err(DeskError::Refused(_)) => Ok(()),
            Err(DeskError::Status { status: 400, .. }) => Ok(()),
            Ok(_) => Err(DeskError::Protocol(
                "osTicket accepted an empty ticket".into(),
            )),
            Err(e) => Err(e),
        }
    }

    /// Creates a ticket; its number.
    pub async fn create(&self, t: &NewOsTicket) -> Result<String, DeskError> {
        let mut body = json!({
            "name": t.name,
            "email": t.email,
            "subject": t.subject,
            "message": format!("data:text/plain;charset=utf-8,{}", percent(&t.message)),
            "source": "API",
        });
        if let Some(p) = t.priority_id {
            body["priorityId"] = json!(p);
        }
        if let Some((name, mime, bytes)) = &t.attachment {
            let data = format!(
                "data:{mime};base64,{}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            );
            body["attachments"] = json!([{ name.clone(): data }]);
        }
        let (_, number) = self.post(&body).await?;
        if number.is_empty() || number.chars().any(char::is_whitespace) {
            return Err(DeskError::Protocol(format!(
                "osTicket created a ticket without a number: {number:?}"
            )));
        }
        Ok(number)
    }
}

/// Percent-encodes text for a data URL (RFC 2397 and 3986: unreserved kept).
pub fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b" -._~".contains(&b) {
            out.push(if b == b' ' { ' ' } else { b as char });
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.replace(' ', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_refusals_are_final_and_data_urls_are_encoded() {
        assert!(is_validation_refusal(
            "Unable to create new ticket: validation errors:\nemail: Valid email required"
        ));
        assert!(!is_validation_refusal("Internal Server Error"));
        assert_eq!(percent("a b\n|é"), "a%20b%0A%7C%C3%A9");
        assert_eq!(
            OsTicket::ticket_link("https://h.test/", "123456"),
            "https://h.test/scp/tickets.php?number=123456"
        );
    }
}
