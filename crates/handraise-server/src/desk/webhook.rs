//! Webhooks: a JSON POST per event to a district's URL (a chat bridge, its own
//! automation), signed so the receiver knows it came from this server.
//!
//! The signature is HMAC-SHA256, keyed with the desk's secret, over
//! `timestamp + "." + body` (the timestamp in Unix seconds, as sent in
//! `X-HandRaise-Timestamp`), written `sha256=<hex>` in `X-HandRaise-Signature`.
//! `X-HandRaise-Event` names the event's type and `X-HandRaise-Event-Id` its
//! id, the same on every retry (the receiver's dedupe key).

use super::{DeskError, retry_after_secs};
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const HEADER_TIMESTAMP: &str = "X-HandRaise-Timestamp";
pub const HEADER_SIGNATURE: &str = "X-HandRaise-Signature";
pub const HEADER_EVENT: &str = "X-HandRaise-Event";
pub const HEADER_EVENT_ID: &str = "X-HandRaise-Event-Id";

/// `sha256=<hex>` of HMAC-SHA256(`secret`, `timestamp.body`).
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One event to post.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub body: &'a str,
}

/// A client of one webhook URL.
#[derive(Clone)]
pub struct Webhook {
    http: reqwest::Client,
    url: String,
    secret: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    pub fn new(url: &str, secret: &str) -> Result<Self, DeskError> {
        Ok(Self {
            http: super::http_client()?,
            url: url.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// Posts `event`, signed at `timestamp` (Unix seconds). Any 2xx is
    /// delivered; other answers are [`DeskError::Status`] with `Retry-After`.
    pub async fn post(&self, event: Event<'_>, timestamp: i64) -> Result<(), DeskError> {
        let resp = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::USER_AGENT, "HandRaise-Webhook/1")
            .header(HEADER_TIMESTAMP, timestamp.to_string())
            .header(
                HEADER_SIGNATURE,
                signature(&self.secret, timestamp, event.body),
            )
            .header(HEADER_EVENT, event.kind)
            .header(HEADER_EVENT_ID, event.id)
            .body(event.body.to_owned())
            .send()
            .await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after_secs = retry_after_secs(resp.headers());
        let body = resp.text().await.unwrap_or_default();
        Err(DeskError::Status {
            status: status.as_u16(),
            message: body.trim().chars().take(200).collect(),
            retry_after_secs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 style check against an independently computed value:
        // printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'k3y'
        assert_eq!(
            signature("k3y", 1_700_000_000, r#"{"a":1}"#),
            "sha256=".to_owned() + &expected()
        );
    }

    fn expected() -> String {
        // Computed with the `hmac` crate's building blocks by hand (ipad/opad).
        use sha2::Digest;
        let key = b"k3y";
        let mut block = [0u8; 64];
        block[..key.len()].copy_from_slice(key);
        let ipad: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
        let opad: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
        let inner = Sha256::new()
            .chain_update(&ipad)
            .chain_update(br#"1700000000.{"a":1}"#)
            .finalize();
        let outer = Sha256::new()
            .chain_update(&opad)
            .chain_update(inner)
            .finalize();
        hex::encode(outer)
    }
}
