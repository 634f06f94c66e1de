//! Help desks to forward tickets to: adding one (checked), listing,
//! enabling and disabling, choosing the default, and testing the
//! connection without creating anything.

use crate::desk::{DeskError, rt::Rt};
use crate::error::AppError;
use crate::store::{
    DeskKind, DeskRecord, DeskSecret, DeskSummary, ForwardState, NewDesk, RouteRecord, Store,
    StoreError,
};
use time::OffsetDateTime;

/// Kinds that forwarding can use today.
pub const BUILT_KINDS: &[&str] = &["rt", "webhook"];
/// Kinds planned but not built yet.
pub const PLANNED_KINDS: &[&str] = &["osticket", "email"];
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
}

fn invalid(msg: impl Into<String>) -> AppError {
    AppError::Invalid(msg.into())
}

/// The desk kind named `kind`, or why it cannot be used.
pub fn kind(kind: &str) -> Result<DeskKind, AppError> {
    if let Some(k) = DeskKind::parse(kind) {
        return Ok(k);
    }
    if PLANNED_KINDS.contains(&kind) {
        return Err(invalid(format!(
            "desks of kind {kind:?} are not built yet; built: {}",
            BUILT_KINDS.join(", ")
        )));
    }
    Err(invalid(format!(
        "unknown desk kind {kind:?}; built: {}",
        BUILT_KINDS.join(", ")
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
        url: base_url(input.url)?,
        secret: input.secret,
        queue: queue.to_owned(),
        poll_secs,
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
}

/// How ticket `number` was forwarded, if it was.
pub fn forwarded(store: &dyn Store, number: i64) -> Result<Option<Forwarded>, AppError> {
    let Some(f) = store.forward_of(number)? else {
        return Ok(None);
    };
    let desk = get(store, f.desk_id)?;
    let link = f.external_id.as_deref().map(|id| match desk.kind {
        DeskKind::Rt => Rt::ticket_link(&desk.url, id),
        DeskKind::Webhook => desk.url.clone(),
    });
    Ok(Some(Forwarded {
        desk_name: desk.name,
        state: f.state,
        external_id: f.external_id,
        link,
        last_error: f.last_error,
    }))
}

/// Checks that the desk answers and accepts its credential, creating
/// nothing (RT: reads its queue).
pub async fn test(desk: &DeskRecord) -> Result<(), DeskError> {
    match desk.kind {
        DeskKind::Rt => Rt::new(&desk.url, &desk.secret.0)?.check(&desk.queue).await,
        DeskKind::Webhook => super::hooks::test(desk).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{DeskStore, SqliteStore};

    fn input<'a>(kind: &'a str, name: &'a str) -> DeskInput<'a> {
        DeskInput {
            kind,
            name,
            url: "https://rt.district.test/REST/2.0/",
            secret: DeskSecret("1-14-abc".into()),
            queue: None,
            poll_secs: None,
        }
    }

    #[test]
    fn desks_are_checked_and_the_first_is_the_default() {
        let store = SqliteStore::open_in_memory().expect("store");
        let now = crate::store::now_utc();
        let e = add(&store, input("email", "Mail"), now).expect_err("not built");
        assert!(e.to_string().contains("not built yet"), "{e}");
        assert!(e.to_string().contains("rt"), "{e}");
        assert!(add(&store, input("jira", "J"), now).is_err());
        let mut bad = input("rt", "RT");
        bad.url = "ftp://rt.test";
        assert!(add(&store, bad, now).is_err());
        let mut bad = input("rt", "RT");
        bad.poll_secs = Some(1);
        assert!(add(&store, bad, now).is_err());

        let first = add(&store, input("rt", "District RT"), now).expect("added");
        let second = add(&store, input("rt", "Other RT"), now).expect("added");
        let listed = list(&store).expect("list");
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
