//! A mailbox replies are read from, over IMAP (async-imap), and what a mail
//! says, read with `mail-parser`: who sent it, what it answers (In-Reply-To,
//! References, the subject), whether it is an auto-reply or a bounce, and
//! its text.
//!
//! `imap://host[:port]` (143) speaks STARTTLS, required unless the host is
//! loopback (there the session stays plain); `imaps://host[:port]` (993) is
//! TLS from the first byte. Mail is read with `BODY.PEEK[]` and marked
//! `\Seen` only when the caller says it was handled.

use super::{DeskError, REQUEST_TIMEOUT, ServerUrl, is_loopback, tls};
use futures_util::TryStreamExt;
use mail_parser::{HeaderValue, MessageParser, MimeHeaders};
use std::fmt::Debug;
use tokio::io::{AsyncRead, AsyncWrite};

/// Unseen mails fetched per poll, at most.
const MAX_FETCH: usize = 200;

/// An IMAP mailbox.
#[derive(Clone)]
pub struct Mailbox {
    server: ServerUrl,
    user: String,
    password: String,
    folder: String,
}

impl Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("server", &self.server)
            .field("user", &self.user)
            .field("folder", &self.folder)
            .finish_non_exhaustive()
    }
}

/// Parses an `imap://` or `imaps://` URL.
pub fn parse_url(url: &str) -> Result<ServerUrl, DeskError> {
    ServerUrl::parse(url, ("imap", 143), ("imaps", 993))
}

/// One mail of the mailbox, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub uid: u32,
    pub raw: Vec<u8>,
}

fn imap_err(e: async_imap::error::Error) -> DeskError {
    match e {
        async_imap::error::Error::Io(e) => DeskError::NoAnswer(e.to_string()),
        async_imap::error::Error::No(m) | async_imap::error::Error::Bad(m) => DeskError::Status {
            status: 401,
            message: m,
            retry_after_secs: None,
        },
        e => DeskError::Protocol(e.to_string()),
    }
}

async fn timed<T>(
    what: &str,
    f: impl Future<Output = Result<T, DeskError>>,
) -> Result<T, DeskError> {
    tokio::time::timeout(REQUEST_TIMEOUT, f)
        .await
        .map_err(|_| DeskError::NoAnswer(format!("the mailbox did not answer ({what})")))?
}

/// What to do in a logged-in session.
enum Job<'a> {
    Check,
    Fetch,
    MarkSeen(&'a [u32]),
}

impl Mailbox {
    pub fn new(url: &str, user: &str, password: &str, folder: &str) -> Result<Self, DeskError> {
        Ok(Self {
            server: parse_url(url)?,
            user: user.to_owned(),
            password: password.to_owned(),
            folder: folder.to_owned(),
        })
    }

    /// Logs in and opens the folder; reads nothing.
    pub async fn check(&self) -> Result<(), DeskError> {
        self.run(Job::Check).await.map(|_| ())
    }

    /// The unseen mails of the folder (at most [`MAX_FETCH`]), oldest first,
    /// left unseen.
    pub async fn unseen(&self) -> Result<Vec<Fetched>, DeskError> {
        self.run(Job::Fetch).await
    }

    /// Marks mails `uids` seen.
    pub async fn mark_seen(&self, uids: &[u32]) -> Result<(), DeskError> {
        if uids.is_empty() {
            return Ok(());
        }
        self.run(Job::MarkSeen(uids)).await.map(|_| ())
    }

    async fn run(&self, job: Job<'_>) -> Result<Vec<Fetched>, DeskError> {
        let addr = (self.server.host.as_str(), self.server.port);
        let tcp = timed("connect", async {
            tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| DeskError::Unreachable(e.to_string()))
        })
        .await?;
        if self.server.implicit_tls {
            let stream = self.tls(tcp).await?;
            let mut client = async_imap::Client::new(stream);
            greeting(&mut client).await?;
            self.session(client, job).await
        } else {
            let mut client = async_imap::Client::new(tcp);
            greeting(&mut client).await?;
            if is_loopback(&self.server.host) {
                return self.session(client, job).await;
            }
            timed("STARTTLS", async {
                client
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(imap_err)
            })
            .await?;
            let tcp = client.into_inner();
            let stream = self.tls(tcp).await?;
            self.session(async_imap::Client::new(stream), job).await
        }
    }

    async fn tls(
        &self,
        tcp: tokio::net::TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, DeskError> {
        timed("TLS", async {
            tls::connector()?
                .connect(tls::server_name(&self.server.host)?, tcp)
                .await
                .map_err(|e| DeskError::Unreachable(format!("TLS: {e}")))
        })
        .await
    }

    async fn session<T>(
        &self,
        client: async_imap::Client<T>,
        job: Job<'_>,
    ) -> Result<Vec<Fetched>, DeskError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Debug + Send,
    {
        let mut session = timed("login", async {
            client
                .login(&self.user, &self.password)
                .await
                .map_err(|(e, _)| imap_err(e))
        })
        .await?;
        let out = timed("session", async {
            session.select(&self.folder).await.map_err(imap_err)?;
            let mut out = Vec::new();
            match job {
                Job::Check => {}
                Job::Fetch => {
                    let mut uids: Vec<u32> = session
                        .uid_search("UNSEEN")
                        .await
                        .map_err(imap_err)?
                        .into_iter()
                        .collect();
                    uids.sort_unstable();
                    uids.truncate(MAX_FETCH);
                    if !uids.is_empty() {
                        let set = uid_set(&uids);
                        let fetches: Vec<_> = session
                            .uid_fetch(&set, "(UID BODY.PEEK[])")
                            .await
                            .map_err(imap_err)?
                            .try_collect()
                            .await
                            .map_err(imap_err)?;
                        for f in fetches {
                            if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                                out.push(Fetched {
                                    uid,
                                    raw: body.to_vec(),
                                });
                            }
                        }
                        out.sort_by_key(|f| f.uid);
                    }
                }
                Job::MarkSeen(uids) => {
                    let _: Vec<_> = session
                        .uid_store(uid_set(uids), "+FLAGS.SILENT (\\Seen)")
                        .await
                        .map_err(imap_err)?
                        .try_collect()
                        .await
                        .map_err(imap_err)?;
                }
            }
            Ok(out)
        })
        .await;
        let _ = tokio::time::timeout(REQUEST_TIMEOUT, session.logout()).await;
        out
    }
}

async fn greeting<T>(client: &mut async_imap::Client<T>) -> Result<(), DeskError>
where
    T: AsyncRead + AsyncWrite + Unpin + Debug + Send,
{
    timed("greeting", async {
        client
            .read_response()
            .await
            .map_err(|e| DeskError::NoAnswer(e.to_string()))?
            .ok_or_else(|| DeskError::NoAnswer("the mailbox closed the connection".into()))?;
        Ok(())
    })
    .await
}

fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// What a mail says, as far as threading replies needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IncomingMail {
    /// Without angle brackets; `None` when the mail has none.
    pub message_id: Option<String>,
    /// Message-IDs it answers (In-Reply-To, then References), without brackets.
    pub answers: Vec<String>,
    pub subject: String,
    /// The sender's name, else address.
    pub from: String,
    pub from_address: String,
    /// An auto-reply (`Auto-Submitted: auto-replied`, X-Autoreply,
    /// X-Autorespond, Precedence junk/auto_reply).
    pub automatic: bool,
    /// A bounce: a delivery report (`multipart/report`) or from MAILER-DAEMON.
    pub bounce: bool,
    /// The plain-text part (or the HTML part as text).
    pub text: String,
}

fn ids(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// Reads a raw mail; `None` when it is not one.
pub fn parse(raw: &[u8]) -> Option<IncomingMail> {
    let m = MessageParser::default().parse(raw)?;
    let header_text = |name: &str| {
        m.header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default()
    };
    let auto_submitted = header_text("Auto-Submitted");
    let precedence = header_text("Precedence");
    // An answer made by a machine in reply to our mail: an out-of-office, a
    // desk's "we got your request". Not `Auto-Submitted: auto-generated` or
    // `Precedence: bulk`: desks send a technician's own reply to the
    // requester with those (RT's default precedence is bulk), and it must
    // reach the teacher.
    let automatic = auto_submitted.starts_with("auto-replied")
        || m.header_raw("X-Autoreply").is_some()
        || m.header_raw("X-Autorespond").is_some()
        || matches!(precedence.as_str(), "junk" | "auto_reply");
    let (from, from_address) = m
        .from()
        .and_then(|a| a.first())
        .map(|a| {
            let address = a.address().unwrap_or_default().to_owned();
            let name = a
                .name()
                .map(str::to_owned)
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| address.clone());
            (name, address)
        })
        .unwrap_or_default();
    let local = from_address
        .split('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let report = m.content_type().is_some_and(|c| {
        c.ctype().eq_ignore_ascii_case("multipart")
            && c.subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    let bounce = report || local == "mailer-daemon" || local == "postmaster";
    let mut answers = ids(m.in_reply_to());
    for r in ids(m.references()) {
        if !answers.contains(&r) {
            answers.push(r);
        }
    }
    let text = m
        .body_text(0)
        .map(|t| t.into_owned())
        .or_else(|| m.body_html(0).map(|h| super::rt::html_to_text(&h)))
        .unwrap_or_default();
    Some(IncomingMail {
        message_id: m.message_id().map(str::to_owned),
        answers,
        subject: m.subject().unwrap_or_default().to_owned(),
        from,
        from_address,
        automatic,
        bounce,
        text,
    })
}

/// A reply's own words: the quoted mail it answers (from an "On … wrote:"
/// line or the first `>` line on) and a signature after `-- ` left out.
pub fn reply_text(text: &str) -> String {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_end();
        if t.starts_with('>') || t == "-- " {
            break;
        }
        let wrote = t.ends_with("wrote:")
            && (t.starts_with("On ") || lines.get(i + 1).is_some_and(|n| n.starts_with('>')));
        if wrote || t.starts_with("-----Original Message-----") {
            break;
        }
        out.push(t);
    }
    out.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_auto_replies_and_bounces_are_told_apart() {
        let reply = b"From: Sam Tech <sam@desk.test>\r\nTo: hr@district.test\r\n\
            Subject: Re: Printer [HandRaise 0190]\r\nMessage-ID: <r1@desk.test>\r\n\
            In-Reply-To: <t1@district.test>\r\nReferences: <t0@x> <t1@district.test>\r\n\r\n\
            Try the blue cable.\r\n\r\nOn Mon, Ann wrote:\r\n> jammed\r\n";
        let m = parse(reply).expect("mail");
        assert_eq!(m.message_id.as_deref(), Some("r1@desk.test"));
        assert_eq!(m.answers, vec!["t1@district.test", "t0@x"]);
        assert_eq!(m.from, "Sam Tech");
        assert!(!m.automatic && !m.bounce);
        assert_eq!(reply_text(&m.text), "Try the blue cable.");

        let auto = b"From: desk@desk.test\r\nAuto-Submitted: auto-replied\r\n\
            Subject: Out of office\r\n\r\nAway.\r\n";
        assert!(parse(auto).expect("mail").automatic);
        let vacation = b"From: desk@desk.test\r\nPrecedence: auto_reply\r\nSubject: x\r\n\r\nx\r\n";
        assert!(parse(vacation).expect("mail").automatic);
        // A desk's notification of a technician's reply is not an auto-reply.
        let notice = b"From: desk@desk.test\r\nAuto-Submitted: auto-generated\r\n\
            Precedence: bulk\r\nSubject: x\r\n\r\nx\r\n";
        assert!(!parse(notice).expect("mail").automatic);
        let human = b"From: desk@desk.test\r\nAuto-Submitted: no\r\nSubject: x\r\n\r\nx\r\n";
        assert!(!parse(human).expect("mail").automatic);
        let bounce = b"From: MAILER-DAEMON@mx.test\r\nSubject: Undelivered\r\n\r\nx\r\n";
        assert!(parse(bounce).expect("mail").bounce);
        let report = b"From: mx@mx.test\r\nContent-Type: multipart/report; \
            report-type=delivery-status; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n";
        assert!(parse(report).expect("mail").bounce);
    }
}
