//! One client per desk, whatever its kind, and what each kind can do:
//!
//! | kind       | find before create | create        | teacher message          | replies back            |
//! |------------|--------------------|---------------|--------------------------|-------------------------|
//! | `rt`       | search the subject | REST2 ticket  | correspondence (searched) | the ticket's history   |
//! | `email`    | — (create-only)    | a mail (SMTP) | a mail in the thread     | the IMAP mailbox        |
//! | `osticket` | — (create-only)    | ticket API    | a mail, with `--smtp`    | the IMAP mailbox        |
//!
//! A searchable desk is asked for the reference before anything is created
//! there, so a lost answer never makes a second desk ticket. A create-only
//! desk cannot be asked: a lost answer is flagged on the forward ("receipt
//! lost — a duplicate may exist in the desk"); mail carries a Message-ID made
//! from the ids alone, so a mail sent again is the same mail to the desk.

use super::compose::{self, body, message_marker, priority, reference, subject};
use crate::desk::DeskError;
use crate::desk::imap::Mailbox;
use crate::desk::osticket::{NewOsTicket, OsTicket};
use crate::desk::rt::{NewRtTicket, Rt};
use crate::desk::smtp::{OutgoingMail, Smtp};
use crate::error::AppError;
use crate::store::{DeskKind, DeskRecord, ForwardJob, MessageJob};
use handraise_wire::Urgency;

/// The folder read when none is configured.
pub const DEFAULT_FOLDER: &str = "INBOX";

/// Mail settings of a desk that sends mail.
#[derive(Debug, Clone)]
pub struct MailOut {
    pub smtp: Smtp,
    /// HandRaise's address: the desk answers it.
    pub from: String,
    /// Where tickets and messages are mailed.
    pub to: String,
}

/// A desk's client.
#[derive(Debug, Clone)]
pub enum Client {
    Rt(Rt),
    Email {
        out: MailOut,
        mailbox: Option<Mailbox>,
    },
    OsTicket {
        api: OsTicket,
        /// HandRaise's address, osTicket's requester (it mails replies there).
        from: String,
        /// For teacher messages, when the desk has an SMTP server.
        out: Option<MailOut>,
        mailbox: Option<Mailbox>,
    },
}

fn missing(what: &str) -> DeskError {
    DeskError::Refused(format!("the desk has no {what}"))
}

/// The mailbox a desk reads replies from, when it has one.
pub fn mailbox_of(desk: &DeskRecord) -> Result<Option<Mailbox>, DeskError> {
    let o = &desk.options;
    let Some(url) = &o.imap_url else {
        return Ok(None);
    };
    let user = o
        .imap_user
        .clone()
        .or_else(|| o.from.clone())
        .ok_or_else(|| missing("IMAP user"))?;
    let password = desk
        .mailbox_secret
        .as_ref()
        .ok_or_else(|| missing("IMAP password"))?;
    Ok(Some(Mailbox::new(
        url,
        &user,
        &password.0,
        o.imap_folder.as_deref().unwrap_or(DEFAULT_FOLDER),
    )?))
}

/// The SMTP client of `desk` at `smtp_url`: an email desk's password is its
/// secret; an osTicket desk's (whose secret is the API key) the mailbox's.
fn mail_out(desk: &DeskRecord, smtp_url: &str, to: Option<&String>) -> Result<MailOut, DeskError> {
    let o = &desk.options;
    let password = match desk.kind {
        DeskKind::OsTicket => desk.mailbox_secret.as_ref().map(|s| s.0.clone()),
        _ => Some(desk.secret.0.clone()),
    }
    .unwrap_or_default();
    let credentials = o
        .smtp_user
        .clone()
        .map(|u| (u, password))
        .filter(|(_, p)| !p.is_empty());
    Ok(MailOut {
        smtp: Smtp::new(smtp_url, credentials)?,
        from: o.from.clone().ok_or_else(|| missing("--from address"))?,
        to: to.cloned().ok_or_else(|| missing("--to address"))?,
    })
}

/// osTicket's default priorities: 1 low, 2 normal, 3 high, 4 emergency.
pub fn osticket_priority(urgency: Urgency) -> u8 {
    match urgency {
        Urgency::Now => 3,
        Urgency::Soon => 2,
        Urgency::Whenever => 1,
    }
}

/// The screenshot as an attachment: name, MIME type, bytes.
fn attachment(screenshot: Option<(String, Vec<u8>)>) -> Option<(String, String, Vec<u8>)> {
    screenshot.map(|(mime, bytes)| {
        let ext = if mime == "image/png" { "png" } else { "jpg" };
        (format!("screenshot.{ext}"), mime, bytes)
    })
}

/// A result of the desk, or a fault of this server.
pub type Delivered = Result<Result<String, DeskError>, AppError>;

impl Client {
    /// The client of `desk`.
    pub fn of(desk: &DeskRecord) -> Result<Self, DeskError> {
        Ok(match desk.kind {
            DeskKind::Rt => Client::Rt(Rt::new(&desk.url, &desk.secret.0)?),
            DeskKind::Email => Client::Email {
                out: mail_out(desk, &desk.url, desk.options.to.as_ref())?,
                mailbox: mailbox_of(desk)?,
            },
            DeskKind::OsTicket => Client::OsTicket {
                api: OsTicket::new(&desk.url, &desk.secret.0)?,
                from: desk
                    .options
                    .from
                    .clone()
                    .ok_or_else(|| missing("--from address"))?,
                out: desk
                    .options
                    .smtp_url
                    .as_deref()
                    .map(|u| mail_out(desk, u, desk.options.to.as_ref()))
                    .transpose()?,
                mailbox: mailbox_of(desk)?,
            },
            // Never a routing target (`service::desks`); its events go out by `hooks`.
            DeskKind::Webhook => {
                return Err(DeskError::Protocol("a webhook takes no tickets".into()));
            }
        })
    }

    /// Whether the desk can be searched for a reference before creating.
    pub fn searchable(&self) -> bool {
        matches!(self, Client::Rt(_))
    }

    /// The mailbox replies are read from, for desks that answer by mail.
    pub fn mailbox(&self) -> Option<&Mailbox> {
        match self {
            Client::Rt(_) => None,
            Client::Email { mailbox, .. } | Client::OsTicket { mailbox, .. } => mailbox.as_ref(),
        }
    }

    /// Checks that the desk answers and accepts its credentials, creating
    /// nothing: RT reads its queue; SMTP connects, starts TLS and
    /// authenticates; osTicket is sent an empty ticket, which it refuses;
    /// the mailbox logs in and opens its folder.
    pub async fn check(&self, desk: &DeskRecord) -> Result<(), DeskError> {
        match self {
            Client::Rt(rt) => rt.check(&desk.queue).await?,
            Client::Email { out, .. } => out.smtp.check().await?,
            Client::OsTicket { api, out, .. } => {
                api.check().await?;
                if let Some(out) = out {
                    out.smtp.check().await?;
                }
            }
        }
        if let Some(m) = self.mailbox() {
            m.check().await?;
        }
        Ok(())
    }

    /// Delivers one ticket; the desk's id of it. A searchable desk is
    /// searched for the reference first; `hold` is awaited (the forward
    /// held and marked in flight) just before anything is created.
    pub async fn deliver_ticket(
        &self,
        desk: &DeskRecord,
        job: &ForwardJob,
        screenshot: Option<(String, Vec<u8>)>,
        hold: impl Future<Output = Result<(), AppError>>,
    ) -> Delivered {
        let detail = &job.detail;
        match self {
            Client::Rt(rt) => {
                match rt.find_ticket(&reference(detail)).await {
                    Ok(Some(id)) => return Ok(Ok(id)),
                    Ok(None) => {}
                    Err(e) => return Ok(Err(e)),
                }
                hold.await?;
                Ok(rt
                    .create(&NewRtTicket {
                        queue: desk.queue.clone(),
                        subject: subject(detail),
                        content: body(detail),
                        requestor: compose::requestor(detail),
                        priority: Some(priority(detail.ticket.urgency)),
                        attachment: attachment(screenshot),
                    })
                    .await)
            }
            Client::Email { out, .. } => {
                let message_id = compose::mail_message_id(detail.ticket.client_id, None, &out.from);
                let mail = OutgoingMail {
                    from: out.from.clone(),
                    to: out.to.clone(),
                    subject: subject(detail),
                    message_id: message_id.clone(),
                    references: Vec::new(),
                    body: body(detail),
                    attachment: attachment(screenshot),
                };
                hold.await?;
                Ok(out.smtp.send(&mail).await.map(|()| message_id))
            }
            Client::OsTicket { api, from, .. } => {
                let name = compose::reporter(detail)
                    .and_then(|r| r.display_name.or(r.os_user))
                    .filter(|n| !n.trim().is_empty())
                    .map_or_else(|| "HandRaise".to_owned(), |n| format!("{n} via HandRaise"));
                let email = from
                    .rsplit_once('<')
                    .map_or(from.as_str(), |(_, a)| a.trim_end_matches('>'))
                    .trim()
                    .to_owned();
                let ticket = NewOsTicket {
                    name,
                    email,
                    subject: subject(detail),
                    message: body(detail),
                    priority_id: Some(osticket_priority(detail.ticket.urgency)),
                    attachment: attachment(screenshot),
                };
                hold.await?;
                Ok(api.create(&ticket).await)
            }
        }
    }

    /// Delivers one teacher message on desk ticket `ticket`; the desk's id
    /// of it. RT's correspondence is searched for the message's marker
    /// first; `hold` is awaited just before anything is added.
    pub async fn deliver_message(
        &self,
        ticket: &str,
        job: &MessageJob,
        hold: impl Future<Output = Result<(), AppError>>,
    ) -> Delivered {
        let out = match self {
            Client::Rt(rt) => {
                let marker = message_marker(job.message.id);
                match rt.find_correspondence(ticket, &marker).await {
                    Ok(Some(id)) => return Ok(Ok(id.to_string())),
                    Ok(None) => {}
                    Err(e) => return Ok(Err(e)),
                }
                hold.await?;
                return Ok(rt
                    .correspond(ticket, &marker, &job.message.body)
                    .await
                    .map(|txn| txn.to_string()));
            }
            Client::Email { out, .. } => out,
            Client::OsTicket { out: Some(out), .. } => out,
            Client::OsTicket { out: None, .. } => {
                return Ok(Err(DeskError::Refused(
                    "osTicket's API cannot add to a ticket; give the desk an SMTP server \
                     (--smtp) and its email address (--to) to send teacher messages by mail"
                        .into(),
                )));
            }
        };
        let t = &job.ticket;
        let first = compose::mail_message_id(t.client_id, None, &out.from);
        let message_id = compose::mail_message_id(t.client_id, Some(job.message.id), &out.from);
        let mut subject = format!("Re: {}", compose::ticket_subject(t));
        if matches!(self, Client::OsTicket { .. }) {
            // osTicket threads mail by its ticket number in the subject.
            subject = format!("{subject} [#{ticket}]");
        }
        let mail = OutgoingMail {
            from: out.from.clone(),
            to: out.to.clone(),
            subject,
            message_id: message_id.clone(),
            references: vec![first],
            body: job.message.body.clone(),
            attachment: None,
        };
        hold.await?;
        Ok(out.smtp.send(&mail).await.map(|()| message_id))
    }
}
