//! Mail out over SMTP (lettre), for desks that take tickets by email: one
//! message at a time, with the Message-ID and threading headers the caller
//! chose, a plain-text body and an attachment.
//!
//! `smtp://host[:port]` (25) speaks STARTTLS, required unless the host is
//! loopback (there it is used when offered); `smtps://host[:port]` (465) is
//! TLS from the first byte. Authentication (PLAIN/LOGIN) only when a user is
//! given.
//!
//! SMTP is create-only: a message whose answer was lost (a timeout, a kill)
//! cannot be looked up; sending it again sends it twice, with the same
//! Message-ID, which is what desks deduplicate on.

use super::{DeskError, REQUEST_TIMEOUT, ServerUrl, is_loopback};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// A mail to send.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub from: String,
    pub to: String,
    pub subject: String,
    /// Without angle brackets: `local@domain`.
    pub message_id: String,
    /// Message-IDs (without brackets) this one answers: `In-Reply-To` is
    /// the last, `References` all of them.
    pub references: Vec<String>,
    pub body: String,
    /// A file to attach: name, MIME type, bytes.
    pub attachment: Option<(String, String, Vec<u8>)>,
}

/// An SMTP server to send through.
#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    server: ServerUrl,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// Parses an `smtp://` or `smtps://` URL.
pub fn parse_url(url: &str) -> Result<ServerUrl, DeskError> {
    ServerUrl::parse(url, ("smtp", 25), ("smtps", 465))
}

/// What an SMTP failure means for the item: a refused message (552 too big,
/// 554 rejected) is final; a refused address or login (550, 535…) is the
/// desk's setup and retried, like a temporary failure (4xx) or no answer.
fn failed(e: lettre::transport::smtp::Error) -> DeskError {
    let code = e.status().map(u16::from);
    if e.is_permanent() && matches!(code, Some(552 | 554)) {
        DeskError::Refused(e.to_string())
    } else if e.is_permanent() || e.is_transient() {
        DeskError::Status {
            status: code.unwrap_or(if e.is_permanent() { 550 } else { 450 }),
            message: e.to_string(),
            retry_after_secs: None,
        }
    } else if e.is_timeout() {
        DeskError::NoAnswer(e.to_string())
    } else {
        DeskError::Unreachable(e.to_string())
    }
}

fn mailbox(addr: &str) -> Result<Mailbox, DeskError> {
    addr.parse()
        .map_err(|e| DeskError::Refused(format!("{addr:?} is not an email address: {e}")))
}

impl Smtp {
    /// A client of the SMTP server at `url`; `credentials` (user, password)
    /// to authenticate with.
    pub fn new(url: &str, credentials: Option<(String, String)>) -> Result<Self, DeskError> {
        let server = parse_url(url)?;
        let tls_params = || {
            TlsParameters::new(server.host.clone())
                .map_err(|e| DeskError::Protocol(format!("TLS setup: {e}")))
        };
        let tls = if server.implicit_tls {
            Tls::Wrapper(tls_params()?)
        } else if is_loopback(&server.host) {
            Tls::Opportunistic(tls_params()?)
        } else {
            Tls::Required(tls_params()?)
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&server.host)
            .port(server.port)
            .tls(tls)
            .timeout(Some(REQUEST_TIMEOUT));
        if let Some((user, password)) = credentials {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Self {
            transport: builder.build(),
            server,
        })
    }

    /// Connects, says EHLO, starts TLS and authenticates as configured;
    /// sends nothing.
    pub async fn check(&self) -> Result<(), DeskError> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(DeskError::Unreachable(format!(
                "{}:{} did not accept a session",
                self.server.host, self.server.port
            ))),
            Err(e) => Err(failed(e)),
        }
    }

    /// Sends `mail`.
    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), DeskError> {
        let message = build(mail)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(failed)
    }
}

/// The message `mail` describes.
pub fn build(mail: &OutgoingMail) -> Result<Message, DeskError> {
    let bracketed = |id: &str| format!("<{id}>");
    let mut b = Message::builder()
        .from(mailbox(&mail.from)?)
        .to(mailbox(&mail.to)?)
        .subject(mail.subject.clone())
        .message_id(Some(bracketed(&mail.message_id)));
    if let Some(last) = mail.references.last() {
        b = b.in_reply_to(bracketed(last)).references(
            mail.references
                .iter()
                .map(|r| bracketed(r))
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    let text = SinglePart::plain(mail.body.clone());
    let built = match &mail.attachment {
        None => b.singlepart(text),
        Some((name, mime, bytes)) => {
            let kind = ContentType::parse(mime)
                .map_err(|e| DeskError::Refused(format!("attachment type {mime:?}: {e}")))?;
            b.multipart(
                MultiPart::mixed()
                    .singlepart(text)
                    .singlepart(Attachment::new(name.clone()).body(bytes.clone(), kind)),
            )
        }
    };
    built.map_err(|e| DeskError::Refused(format!("the mail could not be built: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_port_and_tls() {
        let u = parse_url("smtp://mail.district.test").expect("url");
        assert_eq!((u.port, u.implicit_tls), (25, false));
        let u = parse_url("smtps://mail.district.test:2465").expect("url");
        assert_eq!((u.port, u.implicit_tls), (2465, true));
        assert!(parse_url("http://mail.district.test").is_err());
        assert!(parse_url("smtp://user:pw@mail.district.test").is_err());
    }

    #[test]
    fn threading_headers_are_set() {
        let mail = OutgoingMail {
            from: "handraise@district.test".into(),
            to: "help@desk.test".into(),
            subject: "Re: Printer [HandRaise 1]".into(),
            message_id: "m.2@district.test".into(),
            references: vec!["t.1@district.test".into()],
            body: "Still jammed".into(),
            attachment: Some(("s.png".into(), "image/png".into(), vec![1, 2, 3])),
        };
        let raw = String::from_utf8(build(&mail).expect("built").formatted()).expect("utf-8");
        assert!(raw.contains("Message-ID: <m.2@district.test>"), "{raw}");
        assert!(raw.contains("In-Reply-To: <t.1@district.test>"), "{raw}");
        assert!(raw.contains("References: <t.1@district.test>"), "{raw}");
        assert!(raw.contains("filename=\"s.png\""), "{raw}");
    }
}
