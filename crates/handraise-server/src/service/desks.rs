//! Help desks to forward tickets to: adding one (checked), listing,
//! enabling and disabling, choosing the default, and testing the
//! connection without creating anything.

use crate::desk::{DeskError, imap, osticket::OsTicket, rt::Rt, smtp};
use crate::error::AppError;
use crate::service::forward::Client;
use crate::store::{
    DeskKind, DeskOptions, DeskRecord, DeskSecret, DeskSummary, ForwardState, NewDesk, RouteRecord,
    Store, StoreError,
};
use time::OffsetDateTime;

fn built_kinds() -> String {
    DeskKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
/// RT's queue when none is given.
pub const DEFAULT_QUEUE: &str = "General";
/// Seconds between polls for replies when none is given, and the range.
pub const DEFAULT_POLL_SECS: u32 = 30;
pub const POLL_SECS_RANGE: std::ops::RangeInclusive<u32> = 5..=3600;
const MAX_NAME_CHARS: usize = 100;
const MAX_SECRET_BYTES: usize = 4096;

/// A desk as an admin describes it.
#[derive(Debug, Clone)]
pub struct DeskInput<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub url: &'a str,
    pub secret: DeskSecret,
    pub queue: Option<&'a str>,
    pub poll_secs: Option<u32>,
    /// What the kind needs besides (email and osTicket: addresses, mailbox).
    pub options: DeskOptions,
    /// The IMAP mailbox's password (for email desks, the secret when not given).
    pub mailbox_secret: Option<DeskSecret>,
}

fn invalid(msg: impl Into<String>) -> AppError {
    AppError::Invalid(msg.into())
}

/// The desk kind named `kind`, or why it cannot be used.
pub fn kind(kind: &str) -> Result<DeskKind, AppError> {
    if let Some(k) = DeskKind::parse(kind) {
        return Ok(k);
    }
    Err(invalid(format!(
        "unknown desk kind {kind:?}; the kinds are {}",
        built_kinds()
    )))
}

/// A desk's base URL: absolute http(s), no query or fragment; for RT a
/// trailing `/REST/2.0` is dropped (the web base is what is wanted).
pub fn base_url(url: &str) -> Result<String, AppError> {
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|e| invalid(format!("--url {url:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(invalid(format!(
            "--url {url:?} must be an http or https URL"
        )));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() {
        return Err(invalid(format!(
            "--url {url:?} must be the desk's base address, without a query, fragment or user"
        )));
    }
    let base = parsed.as_str().trim_end_matches('/');
    let base = base
        .strip_suffix("/REST/2.0")
        .unwrap_or(base)
        .trim_end_matches('/');
    Ok(base.to_owned())
}

/// The secret as read (a file or stdin): trailing line breaks dropped; it
/// must be one non-empty line.
pub fn secret(raw: &str) -> Result<DeskSecret, AppError> {
    let s = raw.trim_end_matches(['\n', '\r']).trim();
    if s.is_empty() {
        return Err(invalid("the secret is empty"));
    }
    if s.len() > MAX_SECRET_BYTES || s.chars().any(char::is_control) {
        return Err(invalid(format!(
            "the secret must be one line of at most {MAX_SECRET_BYTES} bytes"
        )));
    }
    Ok(DeskSecret(s.to_owned()))
}

/// An email address as given (`a@b`, or `Name <a@b>`): one line, an `@`.
fn address(v: Option<&String>, what: &str) -> Result<Option<String>, AppError> {
    let Some(v) = v.map(|v| v.trim()) else {
        return Ok(None);
    };
    if v.is_empty() || !v.contains('@') || v.chars().any(char::is_control) || v.len() > 320 {
        return Err(invalid(format!("--{what} {v:?} is not an email address")));
    }
    Ok(Some(v.to_owned()))
}

/// Checks a kind's options: email needs `--to` and `--from` and an SMTP
/// URL; osTicket `--from` (its requester), and `--to` with `--smtp`; a
/// mailbox needs its password.
fn options(
    kind: DeskKind,
    url: &str,
    o: DeskOptions,
    mailbox_secret: &Option<DeskSecret>,
) -> Result<DeskOptions, AppError> {
    let mut o = DeskOptions {
        to: address(o.to.as_ref(), "to")?,
        from: address(o.from.as_ref(), "from")?,
        ..o
    };
    // A URL the mail clients cannot use: say what is wrong with it, not that
    // a desk answered.
    let mail = |e: DeskError| match e {
        DeskError::Protocol(why) => invalid(format!("--url or --smtp/--imap: {why}")),
        e => invalid(e.to_string()),
    };
    match kind {
        DeskKind::Rt | DeskKind::Webhook => return Ok(DeskOptions::default()),
        DeskKind::Email => {
            smtp::parse_url(url).map_err(mail)?;
            if o.to.is_none() || o.from.is_none() {
                return Err(invalid(
                    "an email desk needs --to (the desk's address) and --from",
                ));
            }
        }
        DeskKind::OsTicket => {
            if o.from.is_none() {
                return Err(invalid(
                    "an osTicket desk needs --from: HandRaise's address, the requester osTicket \
                     mails its replies to",
                ));
            }
            if let Some(u) = &o.smtp_url {
                smtp::parse_url(u).map_err(mail)?;
                if o.to.is_none() {
                    return Err(invalid("--smtp needs --to (osTicket's email address)"));
                }
            }
        }
    }
    if let Some(u) = &o.imap_url {
        imap::parse_url(u).map_err(mail)?;
        if mailbox_secret.is_none() {
            return Err(invalid(
                "--imap needs the mailbox's password (--imap-secret-file)",
            ));
        }
    }
    if let Some(f) = &o.imap_folder {
        let f = f.trim();
        if f.is_empty() || f.chars().any(char::is_control) || f.contains('"') {
            return Err(invalid("--imap-folder must name a folder"));
        }
        o.imap_folder = Some(f.to_owned());
    }
    Ok(o)
}

/// A desk's name, trimmed: 1 to 100 characters.
pub fn name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(format!(
            "--name must be 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(name.to_owned())
}

/// `Invalid` when desk `id` exists and only notifies (a webhook): tickets
/// are never forwarded there to be worked.
fn takes_tickets(store: &dyn Store, id: Option<i64>) -> Result<(), AppError> {
    if let Some(d) = id.map(|id| store.desk(id)).transpose()?.flatten()
        && !d.kind.takes_tickets()
    {
        return Err(invalid(format!(
            "desk {} ({:?}) is a {}: it notifies, and tickets stay worked in HandRaise; \
             it cannot be the default desk or a routing target",
            d.id,
            d.name,
            d.kind.as_str()
        )));
    }
    Ok(())
}

/// Checks `input` and adds the desk; its id. The first desk becomes the
/// default until an admin chooses.
pub fn add(store: &dyn Store, input: DeskInput<'_>, now: OffsetDateTime) -> Result<i64, AppError> {
    let kind = kind(input.kind)?;
    if kind == DeskKind::Webhook {
        return super::hooks::add(store, input, None, now);
    }
    let url = match kind {
        DeskKind::Rt | DeskKind::OsTicket | DeskKind::Webhook => base_url(input.url)?,
        DeskKind::Email => input.url.trim().to_owned(),
    };
    let options = options(kind, &url, input.options, &input.mailbox_secret)?;
    let name = name(input.name)?;
    let queue = input.queue.map(str::trim).unwrap_or(DEFAULT_QUEUE);
    if queue.is_empty() || queue.chars().any(char::is_control) {
        return Err(invalid("--queue must name a queue"));
    }
    let poll_secs = input.poll_secs.unwrap_or(DEFAULT_POLL_SECS);
    if !POLL_SECS_RANGE.contains(&poll_secs) {
        return Err(invalid(format!(
            "--poll-secs must be {} to {}",
            POLL_SECS_RANGE.start(),
            POLL_SECS_RANGE.end()
        )));
    }
    let desk = NewDesk {
        kind,
        name,
        url,
        secret: input.secret,
        queue: queue.to_owned(),
        poll_secs,
        options,
        mailbox_secret: input.mailbox_secret,
        created_at: now,
    };
    Ok(store.add_desk(&desk)?)
}

pub fn list(store: &dyn Store) -> Result<Vec<DeskSummary>, AppError> {
    let mut desks = store.list_desks()?;
    for d in desks
        .iter_mut()
        .filter(|d| d.desk.kind == DeskKind::Webhook)
    {
        let c = store.hook_counts(d.desk.id)?;
        (d.queued, d.sent, d.failed) = (c.queued, c.sent, c.failed);
    }
    Ok(desks)
}

/// The desk `id`; `NotFound` when unknown.
pub fn get(store: &dyn Store, id: i64) -> Result<DeskRecord, AppError> {
    store.desk(id)?.ok_or(AppError::NotFound)
}

/// Enables or disables desk `id`. A disabled desk receives nothing: its
/// outbox waits, new tickets stay in HandRaise.
pub fn set_enabled(store: &dyn Store, id: i64, enabled: bool) -> Result<(), AppError> {
    store.set_desk_enabled(id, enabled).map_err(|e| match e {
        StoreError::NotFound => AppError::NotFound,
        e => e.into(),
    })
}

/// Chooses the default desk (`None`: keep new tickets in HandRaise).
pub fn set_default(store: &dyn Store, id: Option<i64>) -> Result<(), AppError> {
    takes_tickets(store, id)?;
    store.set_default_desk(id).map_err(|e| match e {
        StoreError::NotFound => AppError::NotFound,
        e => e.into(),
    })
}

/// Adds a routing rule after the others: tickets from `school`/`building`
/// in `category` (each optional) go to desk `to` (`None`: stay in
/// HandRaise). Its id.
pub fn add_route(
    store: &dyn Store,
    school: Option<&str>,
    building: Option<&str>,
    category: Option<&str>,
    to: Option<i64>,
    now: OffsetDateTime,
) -> Result<i64, AppError> {
    let text = |v: Option<&str>, what: &str| -> Result<Option<String>, AppError> {
        match v.map(str::trim) {
            None => Ok(None),
            Some(t) if t.is_empty() || t.chars().count() > MAX_NAME_CHARS => Err(invalid(format!(
                "--{what} must be 1 to {MAX_NAME_CHARS} characters"
            ))),
            Some(t) => Ok(Some(t.to_owned())),
        }
    };
    let category = category
        .map(|c| {
            c.trim()
                .parse::<handraise_wire::Category>()
                .map_err(|e| invalid(e.to_string()))
        })
        .transpose()?;
    takes_tickets(store, to)?;
    let route = RouteRecord {
        id: 0,
        school: text(school, "school")?,
        building: text(building, "building")?,
        category,
        desk_id: to,
    };
    store.add_route(&route, now).map_err(|e| match e {
        StoreError::NotFound => invalid(format!("no desk with id {}", to.unwrap_or_default())),
        e => e.into(),
    })
}

/// Removes routing rule `id`; `NotFound` when unknown.
pub fn remove_route(store: &dyn Store, id: i64) -> Result<(), AppError> {
    store.remove_route(id).map_err(|e| match e {
        StoreError::NotFound => AppError::NotFound,
        e => e.into(),
    })
}

/// Queues again what the desk refused for ticket `number`.
pub fn retry(store: &dyn Store, number: i64, now: OffsetDateTime) -> Result<(), AppError> {
    store.retry_forward(number, now).map_err(|e| match e {
        StoreError::NotFound => AppError::NotFound,
        e => e.into(),
    })
}

/// Takes ticket `number`, not yet in its desk, back into HandRaise's console.
pub fn skip(store: &dyn Store, number: i64) -> Result<(), AppError> {
    store.skip_forward(number).map_err(|e| match e {
        StoreError::NotFound => AppError::NotFound,
        e => e.into(),
    })
}

/// Where a forwarded ticket is worked, for people: the desk, where the
/// forward stands, the desk's id and a link to it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    pub desk_name: String,
    pub state: ForwardState,
    pub external_id: Option<String>,
    pub link: Option<String>,
    pub last_error: Option<String>,
    /// A create-only desk may hold a second copy (a receipt was lost).
    pub receipt_lost: bool,
}

/// How ticket `number` was forwarded, if it was.
pub fn forwarded(store: &dyn Store, number: i64) -> Result<Option<Forwarded>, AppError> {
    let Some(f) = store.forward_of(number)? else {
        return Ok(None);
    };
    let desk = get(store, f.desk_id)?;
    let link = f.external_id.as_deref().and_then(|id| match desk.kind {
        DeskKind::Rt => Some(Rt::ticket_link(&desk.url, id)),
        DeskKind::OsTicket => Some(OsTicket::ticket_link(&desk.url, id)),
        // The desk's number is in its own mail; HandRaise knows the Message-ID.
        DeskKind::Email => None,
        DeskKind::Webhook => Some(desk.url.clone()),
    });
    Ok(Some(Forwarded {
        desk_name: desk.name,
        state: f.state,
        external_id: f.external_id,
        link,
        last_error: f.last_error,
        receipt_lost: f.receipt_lost,
    }))
}

/// Checks that the desk answers and accepts its credentials, creating and
/// sending nothing (`Client::check`).
pub async fn test(desk: &DeskRecord) -> Result<(), DeskError> {
    match desk.kind {
        DeskKind::Webhook => super::hooks::test(desk).await,
        _ => Client::of(desk)?.check(desk).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DeskStore;

    fn input<'a>(kind: &'a str, name: &'a str) -> DeskInput<'a> {
        DeskInput {
            kind,
            name,
            url: "https://rt.district.test/REST/2.0/",
            secret: DeskSecret("1-14-abc".into()),
            queue: None,
            poll_secs: None,
            options: DeskOptions::default(),
            mailbox_secret: None,
        }
    }

    #[test]
    fn desks_are_checked_and_the_first_is_the_default() {
        let store = crate::store::tests::store();
        let now = crate::store::now_utc();
        let e = add(&store, input("zendesk", "Z"), now).expect_err("unknown kind");
        assert!(e.to_string().contains("unknown desk kind"), "{e}");
        assert!(
            e.to_string().contains("rt, email, osticket, webhook"),
            "{e}"
        );
        let e = add(&store, input("email", "Mail"), now).expect_err("not an SMTP URL");
        assert!(e.to_string().contains("smtp://"), "{e}");
        let mut mail = input("email", "Mail");
        mail.url = "smtps://mail.district.test";
        let e = add(&store, mail.clone(), now).expect_err("no addresses");
        assert!(e.to_string().contains("--to"), "{e}");
        mail.options.to = Some("help@desk.test".into());
        mail.options.from = Some("handraise@district.test".into());
        mail.options.imap_url = Some("imaps://mail.district.test".into());
        let e = add(&store, mail.clone(), now).expect_err("no mailbox password");
        assert!(e.to_string().contains("--imap-secret-file"), "{e}");
        mail.mailbox_secret = Some(DeskSecret("pw".into()));
        let e = add(&store, input("osticket", "OT"), now).expect_err("no --from");
        assert!(e.to_string().contains("--from"), "{e}");
        assert!(add(&store, input("jira", "J"), now).is_err());
        let mut bad = input("rt", "RT");
        bad.url = "ftp://rt.test";
        assert!(add(&store, bad, now).is_err());
        let mut bad = input("rt", "RT");
        bad.poll_secs = Some(1);
        assert!(add(&store, bad, now).is_err());

        let first = add(&store, input("rt", "District RT"), now).expect("added");
        let by_mail = add(&store, mail, now).expect("an email desk");
        let stored = get(&store, by_mail).expect("desk");
        assert_eq!(stored.options.to.as_deref(), Some("help@desk.test"));
        assert_eq!(stored.url, "smtps://mail.district.test");
        let second = add(&store, input("rt", "Other RT"), now).expect("added");
        let listed: Vec<_> = list(&store)
            .expect("list")
            .into_iter()
            .filter(|d| d.desk.kind == DeskKind::Rt)
            .collect();
        assert_eq!(listed.len(), 2);
        assert!(listed[0].is_default && !listed[1].is_default);
        assert_eq!(listed[0].desk.url, "https://rt.district.test");
        assert_eq!(listed[0].desk.queue, DEFAULT_QUEUE);
        assert_eq!(listed[0].desk.poll_secs, DEFAULT_POLL_SECS);
        assert_eq!(listed[0].desk.id, first);

        set_default(&store, Some(second)).expect("default");
        assert_eq!(
            store.default_desk().expect("read").map(|d| d.id),
            Some(second)
        );
        set_default(&store, None).expect("none");
        assert_eq!(store.default_desk().expect("read"), None);
        // An admin's "none" stays when another desk is added.
        add(&store, input("rt", "Third"), now).expect("added");
        assert_eq!(store.default_desk().expect("read"), None);
        assert!(matches!(
            set_default(&store, Some(99)),
            Err(AppError::NotFound)
        ));

        set_enabled(&store, first, false).expect("disable");
        assert!(!get(&store, first).expect("desk").enabled);
        assert!(matches!(
            set_enabled(&store, 99, true),
            Err(AppError::NotFound)
        ));
    }

    #[test]
    fn secrets_are_one_line_and_never_debug_printed() {
        assert!(secret("\n").is_err());
        assert!(secret("a\nb").is_err());
        let s = secret("1-14-abcdef\n").expect("secret");
        assert_eq!(s.0, "1-14-abcdef");
        assert!(!format!("{s:?}").contains("abcdef"));
    }
}
