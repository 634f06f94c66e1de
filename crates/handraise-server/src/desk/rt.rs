//! Request Tracker's REST2 API (`/REST/2.0`), as much of it as forwarding
//! needs: check a queue, search tickets, create one (with an attachment),
//! add correspondence, and read a ticket's transactions back.
//!
//! Authentication is an RT auth token (`Authorization: token …`).

use super::{DeskError, retry_after_secs};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

/// A ticket to create.
#[derive(Debug, Clone)]
pub struct NewRtTicket {
    pub queue: String,
    pub subject: String,
    pub content: String,
    /// The requestor's email; RT mails its replies there.
    pub requestor: Option<String>,
    pub priority: Option<u8>,
    /// A file to attach: name, MIME type, bytes.
    pub attachment: Option<(String, String, Vec<u8>)>,
}

/// One transaction of a ticket's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtTransaction {
    pub id: i64,
    /// `Create`, `Correspond`, `Comment`, `Status`, `EmailRecord`, …
    pub kind: String,
    /// For `Status`: the new status.
    pub new_value: String,
    /// For messages: the subject they were added with.
    pub data: String,
    /// The RT user who made it.
    pub creator: String,
}

/// A REST2 client of one RT instance.
#[derive(Clone)]
pub struct Rt {
    http: reqwest::Client,
    /// RT's web base, without a trailing slash.
    web: String,
    token: String,
}

impl std::fmt::Debug for Rt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rt")
            .field("web", &self.web)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
struct Page {
    #[serde(default)]
    items: Vec<Value>,
    #[serde(default)]
    pages: Option<f64>,
}

/// A value of an RT JSON field as text (RT sends ids as strings or numbers).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Object(o) => o.get("id").map(text).unwrap_or_default(),
        _ => String::new(),
    }
}

/// A TicketSQL string literal.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl Rt {
    /// A client of the RT at `url` (its web base, e.g. `https://rt.district.org`).
    pub fn new(url: &str, token: &str) -> Result<Self, DeskError> {
        Ok(Self {
            http: super::http_client()?,
            web: url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        })
    }

    fn api(&self, path: &str) -> String {
        format!("{}/REST/2.0/{path}", self.web)
    }

    /// `path` with the query `pairs`, encoded.
    fn api_query(&self, path: &str, pairs: &[(&str, &str)]) -> Result<reqwest::Url, DeskError> {
        let mut url = reqwest::Url::parse(&self.api(path))
            .map_err(|e| DeskError::Protocol(format!("bad desk URL: {e}")))?;
        url.query_pairs_mut().extend_pairs(pairs);
        Ok(url)
    }

    /// Where a person sees ticket `id` in RT's web interface.
    pub fn ticket_link(url: &str, id: &str) -> String {
        format!("{}/Ticket/Display.html?id={id}", url.trim_end_matches('/'))
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, DeskError> {
        let resp = req
            .header(
                reqwest::header::AUTHORIZATION,
                format!("token {}", self.token),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let retry_after_secs = retry_after_secs(resp.headers());
        let body = resp.text().await.unwrap_or_default();
        let message = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("message").map(text))
            .unwrap_or_else(|| body.chars().take(200).collect());
        Err(DeskError::Status {
            status: status.as_u16(),
            message,
            retry_after_secs,
        })
    }

    async fn json(&self, req: reqwest::RequestBuilder) -> Result<Value, DeskError> {
        let resp = self.send(req).await?;
        resp.json::<Value>()
            .await
            .map_err(|e| DeskError::Protocol(e.to_string()))
    }

    /// Checks the token and that `queue` exists, creating nothing.
    pub async fn check(&self, queue: &str) -> Result<(), DeskError> {
        let path = format!("queue/{}", urlencode(queue));
        let v = self.json(self.http.get(self.api(&path))).await?;
        if v.get("id").is_none() {
            return Err(DeskError::Protocol(format!(
                "RT has no queue named {queue:?}"
            )));
        }
        Ok(())
    }

    /// The ticket whose subject carries `reference`, if RT has one (the
    /// lowest id when, against every precaution, there are several).
    pub async fn find_ticket(&self, reference: &str) -> Result<Option<String>, DeskError> {
        let query = format!("Subject LIKE {}", quoted(reference));
        let page: Page = serde_json::from_value(
            self.json(self.http.get(self.api_query(
                "tickets",
                &[
                    ("query", query.as_str()),
                    ("orderby", "id"),
                    ("order", "ASC"),
                    ("per_page", "1"),
                ],
            )?))
            .await?,
        )
        .map_err(|e| DeskError::Protocol(e.to_string()))?;
        Ok(page.items.first().map(|i| text(&i["id"])))
    }

    /// Creates a ticket; its id.
    pub async fn create(&self, t: &NewRtTicket) -> Result<String, DeskError> {
        let mut body = json!({
            "Queue": t.queue,
            "Subject": t.subject,
            "Content": t.content,
            "ContentType": "text/plain",
        });
        if let Some(r) = &t.requestor {
            body["Requestor"] = json!(r);
        }
        if let Some(p) = t.priority {
            body["Priority"] = json!(p);
        }
        if let Some((name, mime, bytes)) = &t.attachment {
            body["Attachments"] = json!([{
                "FileName": name,
                "FileType": mime,
                "FileContent": base64::engine::general_purpose::STANDARD.encode(bytes),
            }]);
        }
        let v = self
            .json(self.http.post(self.api("ticket")).json(&body))
            .await?;
        let id = text(&v["id"]);
        if id.is_empty() {
            return Err(DeskError::Protocol(
                "RT created a ticket without an id".into(),
            ));
        }
        Ok(id)
    }

    /// The correspondence on `ticket` added with subject `marker`, if any.
    pub async fn find_correspondence(
        &self,
        ticket: &str,
        marker: &str,
    ) -> Result<Option<i64>, DeskError> {
        let found = self.transactions(ticket, 0, "Type = 'Correspond'").await?;
        Ok(found
            .into_iter()
            .find(|t| t.data.trim() == marker)
            .map(|t| t.id))
    }

    /// Adds correspondence (the reply a requestor sees) with `subject`; the
    /// id of the transaction RT made.
    pub async fn correspond(
        &self,
        ticket: &str,
        subject: &str,
        content: &str,
    ) -> Result<i64, DeskError> {
        let path = format!("ticket/{}/correspond", urlencode(ticket));
        let resp = self
            .send(self.http.post(self.api(&path)).json(&json!({
                "Subject": subject,
                "Content": content,
                "ContentType": "text/plain",
            })))
            .await?;
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        location
            .rsplit('/')
            .next()
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| {
                DeskError::Protocol(format!(
                    "RT added correspondence without naming its transaction ({location:?})"
                ))
            })
    }

    /// Correspondence and status changes of `ticket` after transaction
    /// `after`, oldest first.
    pub async fn history(&self, ticket: &str, after: i64) -> Result<Vec<RtTransaction>, DeskError> {
        self.transactions(ticket, after, "(Type = 'Correspond' OR Type = 'Status')")
            .await
    }

    async fn transactions(
        &self,
        ticket: &str,
        after: i64,
        kinds: &str,
    ) -> Result<Vec<RtTransaction>, DeskError> {
        let ticket: i64 = ticket
            .parse()
            .map_err(|_| DeskError::Protocol(format!("{ticket:?} is not an RT ticket id")))?;
        let query = format!(
            "ObjectType = 'RT::Ticket' AND ObjectId = {ticket} AND id > {after} AND {kinds}"
        );
        let mut out = Vec::new();
        for page in 1..=100 {
            let page_text = page.to_string();
            let got: Page = serde_json::from_value(
                self.json(self.http.get(self.api_query(
                    "transactions",
                    &[
                        ("query", query.as_str()),
                        ("fields", "Type,Data,Field,NewValue,Creator"),
                        ("orderby", "id"),
                        ("order", "ASC"),
                        ("per_page", "100"),
                        ("page", page_text.as_str()),
                    ],
                )?))
                .await?,
            )
            .map_err(|e| DeskError::Protocol(e.to_string()))?;
            for i in &got.items {
                let id = text(&i["id"])
                    .parse()
                    .map_err(|_| DeskError::Protocol("a transaction without an id".into()))?;
                out.push(RtTransaction {
                    id,
                    kind: text(&i["Type"]),
                    new_value: text(&i["NewValue"]),
                    data: text(&i["Data"]),
                    creator: text(&i["Creator"]),
                });
            }
            if got.items.is_empty() || got.pages.is_none_or(|p| f64::from(page) >= p) {
                break;
            }
        }
        Ok(out)
    }

    /// The text of a message transaction: its plain-text part, else its
    /// HTML part reduced to text.
    pub async fn message_text(&self, transaction: i64) -> Result<String, DeskError> {
        let path = format!("transaction/{transaction}/attachments");
        let page: Page = serde_json::from_value(
            self.json(self.http.get(self.api_query(
                &path,
                &[("fields", "ContentType,Content"), ("per_page", "20")],
            )?))
            .await?,
        )
        .map_err(|e| DeskError::Protocol(e.to_string()))?;
        let part = |mime: &str| {
            page.items
                .iter()
                .find(|i| text(&i["ContentType"]).eq_ignore_ascii_case(mime))
                .map(|i| text(&i["Content"]))
                .filter(|c| !c.trim().is_empty())
        };
        Ok(part("text/plain")
            .or_else(|| part("text/html").map(|h| html_to_text(&h)))
            .unwrap_or_default()
            .trim()
            .to_owned())
    }
}

/// Percent-encodes a path segment.
fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// HTML as plain text: tags dropped (block ends become line breaks), the
/// common entities decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end].to_ascii_lowercase();
        if ["br", "/p", "/div", "/li", "/tr", "/h"]
            .iter()
            .any(|t| tag.starts_with(t))
        {
            out.push('\n');
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_replies_read_as_text() {
        assert_eq!(
            html_to_text("<p>Try the <b>blue</b> cable &amp; reboot.</p><p>Thanks</p>").trim(),
            "Try the blue cable & reboot.\nThanks"
        );
    }

    #[test]
    fn ticketsql_literals_and_paths_are_escaped() {
        assert_eq!(quoted("a'b"), "'a\\'b'");
        assert_eq!(urlencode("Help Desk/IT"), "Help%20Desk%2FIT");
        assert_eq!(
            Rt::ticket_link("http://rt.test/", "12"),
            "http://rt.test/Ticket/Display.html?id=12"
        );
    }
}
