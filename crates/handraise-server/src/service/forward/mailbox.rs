//! Replies read from the IMAP mailbox of a desk that answers by mail (the
//! `email` kind, and osTicket, which mails its requester).
//!
//! Each unseen mail is read once (recorded by its Message-ID, with what it
//! changed, in one transaction) and then marked seen:
//! - an auto-reply or a bounce is ignored;
//! - mail HandRaise sent itself (its Message-ID) is ignored;
//! - a reply that names a ticket forwarded to this desk (a Message-ID it
//!   answers, else `[HandRaise <client id>]` in the subject) becomes a
//!   technician reply in the teacher's feed (its own words, the quoted mail
//!   left out), as RT's correspondence does;
//! - a mail that names no such ticket is left unseen in the mailbox,
//!   counted once (`desk list`'s unmatched mail) and reported as the
//!   desk's last error.

use super::compose::{is_own_message_id, ticket_of_mail};
use super::db;
use super::replies::PollError;
use crate::desk::imap::{self, Mailbox};
use crate::service::tickets::tech_message;
use crate::store::{DeskRecord, MessageKind, Store, StoreError, TicketChange};
use handraise_wire::MAX_MESSAGE_CHARS;
use sha2::Digest;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// What became of one mail.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Handled (imported, or ignored for good): mark it seen.
    Handled,
    /// Names no ticket of this desk: leave it; `true` the first time seen.
    Unmatched(bool),
}

/// Reads desk `desk`'s mailbox once.
pub(super) async fn read(
    store: &Arc<dyn Store>,
    desk: &DeskRecord,
    mailbox: &Mailbox,
    notify: &(dyn Fn(Uuid) + Send + Sync),
    now: OffsetDateTime,
) -> Result<(), PollError> {
    let mails = mailbox.unseen().await?;
    let mut seen = Vec::new();
    for fetched in mails {
        let outcome = match imap::parse(&fetched.raw) {
            None => {
                tracing::warn!(
                    desk = desk.id,
                    uid = fetched.uid,
                    "forwarding: unreadable mail"
                );
                Outcome::Unmatched(false)
            }
            Some(mail) => one(store, desk, &fetched.raw, mail, notify, now).await?,
        };
        match outcome {
            Outcome::Handled => seen.push(fetched.uid),
            Outcome::Unmatched(first) => {
                if first {
                    tracing::warn!(
                        desk = desk.id,
                        uid = fetched.uid,
                        "forwarding: mail for no ticket"
                    );
                }
            }
        }
    }
    mailbox.mark_seen(&seen).await?;
    Ok(())
}

async fn one(
    store: &Arc<dyn Store>,
    desk: &DeskRecord,
    raw: &[u8],
    mail: imap::IncomingMail,
    notify: &(dyn Fn(Uuid) + Send + Sync),
    now: OffsetDateTime,
) -> Result<Outcome, PollError> {
    if mail.automatic || mail.bounce {
        tracing::info!(desk = desk.id, subject = %mail.subject, bounce = mail.bounce,
            "forwarding: an auto-reply or bounce in the mailbox, ignored");
        return Ok(Outcome::Handled);
    }
    let key = mail
        .message_id
        .clone()
        .unwrap_or_else(|| format!("sha256:{}", hex::encode(sha2::Sha256::digest(raw))));
    if is_own_message_id(&key) {
        return Ok(Outcome::Handled);
    }
    let desk_id = desk.id;
    let forward = match ticket_of_mail(&mail.answers, &mail.subject) {
        Some(client_id) => db(store, move |s| s.forward_by_client_id(client_id))
            .await?
            .filter(|f| f.desk_id == desk_id),
        None => None,
    };
    let Some(forward) = forward else {
        let k = key.clone();
        let first = db(store, move |s| s.record_desk_mail(desk_id, &k, None, now)).await?;
        if first {
            let message = format!(
                "a mail in the mailbox answers no forwarded ticket, left there unread \
                 (from {}, subject {:?}, Message-ID {key})",
                mail.from_address, mail.subject
            );
            db(store, move |s| {
                s.note_desk_result(desk_id, Some(&message), now)
            })
            .await?;
        }
        return Ok(Outcome::Unmatched(first));
    };
    let number = forward.ticket_number;
    let mut text = imap::reply_text(&mail.text);
    if text.is_empty() {
        text = mail.text.trim().to_owned();
    }
    let body: String = text.chars().take(MAX_MESSAGE_CHARS).collect();
    let author = if mail.from.is_empty() {
        "Help desk".to_owned()
    } else {
        mail.from.clone()
    };
    let device = db(store, move |s| {
        let detail = s.ticket_detail(number)?.ok_or(StoreError::NotFound)?;
        let change = if body.trim().is_empty() {
            TicketChange::of(number)
        } else {
            tech_message(number, MessageKind::Technician, &author, body)
        };
        let wakes = !change.feed.is_empty();
        let new = s.record_desk_mail(desk_id, &key, Some((number, &change)), now)?;
        if new {
            s.note_desk_result(desk_id, None, now)?;
        }
        Ok((new && wakes).then_some(detail.ticket.device_id))
    })
    .await?;
    if let Some(device) = device {
        notify(device);
    }
    Ok(Outcome::Handled)
}
