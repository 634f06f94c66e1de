//! Operations shared by the technician API (`api::tech`), the agent API
//! where devices report to the desk (`api::agent`), the console (`console`)
//! and the command line: validation, the store call on the blocking pool,
//! and waking the owning device's long-polls. Every front end calls these, so
//! a change made in the browser and one made over the API are the same
//! change.

use crate::api::{check_len, optional_text, required_text};
use crate::store::{
    AnnouncementRecord, ArticleRecord, ArticleRecordInput, DeviceRecord, Inserted, MessageKind,
    NewAnnouncement, NewDeflection, NewMeToo, PurgeReport, Store, StoreError, Technician,
    TicketDetail, now_utc, truncate_ms,
};
use crate::{AppError, AppState};
use handraise_wire as wire;
use time::OffsetDateTime;
use uuid::Uuid;

/// Tickets in `status` (every status when `None`), newest first.
pub async fn tickets(
    state: &AppState,
    status: Option<wire::TicketStatus>,
) -> Result<Vec<TicketDetail>, AppError> {
    state.db(move |s| s.list_tickets(status)).await
}

/// One ticket with its messages; `NotFound` when unknown.
pub async fn ticket(state: &AppState, number: i64) -> Result<TicketDetail, AppError> {
    state
        .db(move |s| s.ticket_detail(number))
        .await?
        .ok_or(AppError::NotFound)
}

/// Wakes the long-polls of the ticket's device after a change to its feed.
fn notify(state: &AppState, detail: &TicketDetail) {
    state.feed().notify(detail.ticket.device_id);
}

/// Changes the status; the device's feed gets a `status` update.
pub async fn set_status(
    state: &AppState,
    number: i64,
    status: wire::TicketStatus,
) -> Result<TicketDetail, AppError> {
    let detail = state
        .db(move |s| s.set_status(number, status, now_utc()))
        .await?;
    notify(state, &detail);
    Ok(detail)
}

/// Assigns to the technician `assignee` (by name; blank unassigns). A `new`
/// ticket becomes `assigned`; the device's feed gets a `status` update.
pub async fn assign(
    state: &AppState,
    number: i64,
    assignee: Option<&str>,
) -> Result<TicketDetail, AppError> {
    let assignee = optional_text("assignee", assignee, 100)?;
    let detail = state
        .db(move |s| s.assign(number, assignee.as_deref(), now_utc()))
        .await?;
    notify(state, &detail);
    Ok(detail)
}

/// Checks a reply or note body: not blank, at most the wire limit.
fn message_body(body: &str) -> Result<String, AppError> {
    wire::check_text(wire::TextField::Message, body)?;
    Ok(body.to_owned())
}

/// A reply to the teacher: the device's feed gets a `reply` update.
pub async fn reply(
    state: &AppState,
    tech: &Technician,
    number: i64,
    body: &str,
) -> Result<TicketDetail, AppError> {
    let detail = add_message(state, tech, number, MessageKind::Technician, body).await?;
    notify(state, &detail);
    Ok(detail)
}

/// An internal note: never reaches the device.
pub async fn note(
    state: &AppState,
    tech: &Technician,
    number: i64,
    body: &str,
) -> Result<TicketDetail, AppError> {
    add_message(state, tech, number, MessageKind::Note, body).await
}

async fn add_message(
    state: &AppState,
    tech: &Technician,
    number: i64,
    kind: MessageKind,
    body: &str,
) -> Result<TicketDetail, AppError> {
    let body = message_body(body)?;
    let author = tech.name.clone();
    state
        .db(move |s| s.add_tech_message(number, kind, &author, &body, Uuid::now_v7(), now_utc()))
        .await
}

/// Merges the duplicate ticket into `into`; the duplicate is closed (its
/// device hears of it through the feed). Returns the duplicate.
pub async fn merge(
    state: &AppState,
    tech: &Technician,
    duplicate: i64,
    into: i64,
) -> Result<TicketDetail, AppError> {
    let author = tech.name.clone();
    let detail = state
        .db(move |s| s.merge_ticket(duplicate, into, &author, now_utc()))
        .await?;
    notify(state, &detail);
    Ok(detail)
}

/// Revokes a device: its secret answers 403 from now on, which pauses its
/// queue (DESIGN.md); `NotFound` when unknown.
pub async fn revoke_device(state: &AppState, device_id: Uuid) -> Result<(), AppError> {
    state
        .db(move |s| s.revoke_device(device_id, now_utc()))
        .await?;
    state.forget_device(device_id);
    tracing::info!(%device_id, "device revoked");
    Ok(())
}

// ---- knowledge base ----------------------------------------------------------

/// Checks an article as the API, the console and `kb import` receive it:
/// slug of a-z, 0-9 and '-', title 1-200 characters, body up to 100,000,
/// keywords trimmed (blank ones dropped), categories deduplicated.
pub fn article_record(a: wire::ArticleInput) -> Result<ArticleRecordInput, AppError> {
    let slug = a.slug.trim().to_owned();
    let slug_ok = !slug.is_empty()
        && slug.len() <= 100
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !slug_ok {
        return Err(AppError::Invalid(
            "slug must be 1-100 characters of a-z, 0-9 and '-'".into(),
        ));
    }
    let title = required_text("title", &a.title, 200)?;
    check_len("body", &a.body, 100_000)?;
    let mut keywords = Vec::with_capacity(a.keywords.len());
    for k in &a.keywords {
        if let Some(k) = optional_text("keyword", Some(k), 100)?
            && !keywords.contains(&k)
        {
            keywords.push(k);
        }
    }
    if keywords.len() > 50 {
        return Err(AppError::Invalid("at most 50 keywords".into()));
    }
    let mut categories = Vec::with_capacity(a.categories.len());
    for c in a.categories {
        if !categories.contains(&c) {
            categories.push(c);
        }
    }
    Ok(ArticleRecordInput {
        slug,
        title,
        body: a.body,
        categories,
        keywords,
        published: a.published,
    })
}

/// Every article, published or not, by title.
pub async fn articles(state: &AppState) -> Result<Vec<ArticleRecord>, AppError> {
    let (_, mut list) = state.db(|s| s.kb_changes(0)).await?;
    list.sort_by(|a, b| {
        a.title
            .to_lowercase()
            .cmp(&b.title.to_lowercase())
            .then(a.slug.cmp(&b.slug))
    });
    Ok(list)
}

/// One article; `NotFound` when unknown.
pub async fn article(state: &AppState, slug: &str) -> Result<ArticleRecord, AppError> {
    let slug = slug.to_owned();
    state
        .db(move |s| s.article(&slug))
        .await?
        .ok_or(AppError::NotFound)
}

/// Creates an article; `Conflict` when the slug exists.
pub async fn create_article(
    state: &AppState,
    a: wire::ArticleInput,
) -> Result<ArticleRecord, AppError> {
    let input = article_record(a)?;
    state.db(move |s| s.create_article(&input, now_utc())).await
}

/// Creates or replaces an article; the version is bumped so agents fetch it.
pub async fn save_article(
    state: &AppState,
    a: wire::ArticleInput,
) -> Result<ArticleRecord, AppError> {
    let input = article_record(a)?;
    state.db(move |s| s.put_article(&input, now_utc())).await
}

/// Unpublishes: agents drop it from their cache at their next sync.
pub async fn unpublish_article(state: &AppState, slug: &str) -> Result<ArticleRecord, AppError> {
    let slug = slug.to_owned();
    state
        .db(move |s| s.unpublish_article(&slug, now_utc()))
        .await
}

/// Publishes an existing article unchanged otherwise; `NotFound` when unknown.
pub async fn publish_article(state: &AppState, slug: &str) -> Result<ArticleRecord, AppError> {
    let a = article(state, slug).await?;
    save_article(
        state,
        wire::ArticleInput {
            published: true,
            ..article_input(a)
        },
    )
    .await
}

/// A stored article as the editable document the API, the console and `kb export` use.
pub fn article_input(a: ArticleRecord) -> wire::ArticleInput {
    wire::ArticleInput {
        slug: a.slug,
        title: a.title,
        body: a.body,
        categories: a.categories,
        keywords: a.keywords,
        published: a.published,
    }
}

/// Loads the shipped articles whose slug is not in the store yet; a
/// district's own edits (and articles it unpublished) are never touched.
/// Returns the slugs added.
pub fn load_default_articles(
    store: &dyn Store,
    now: OffsetDateTime,
) -> Result<Vec<String>, StoreError> {
    let inputs: Vec<ArticleRecordInput> = crate::kb::defaults()
        .into_iter()
        .filter_map(|doc| match article_record(doc) {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::error!(error = %e, "a shipped article is not valid");
                None
            }
        })
        .collect();
    store.seed_articles(&inputs, now)
}

/// A device's "this fixed it" for an article: 201 new, 200 repeat.
pub async fn record_deflection(
    state: &AppState,
    device: &DeviceRecord,
    slug: &str,
    client_id: Uuid,
    created_at: OffsetDateTime,
) -> Result<Inserted<i64>, AppError> {
    let d = NewDeflection {
        client_id,
        slug: slug.to_owned(),
        created_at,
        received_at: now_utc(),
    };
    let device_id = device.id;
    state.db(move |s| s.insert_deflection(device_id, &d)).await
}

// ---- announcements -----------------------------------------------------------

/// Creates an announcement (starting now unless `starts_at` says otherwise).
pub async fn create_announcement(
    state: &AppState,
    a: wire::AnnouncementInput,
) -> Result<AnnouncementRecord, AppError> {
    let now = now_utc();
    let starts_at = a.starts_at.map(truncate_ms).unwrap_or(now);
    let ends_at = a.ends_at.map(truncate_ms);
    if ends_at.is_some_and(|end| end <= starts_at) {
        return Err(AppError::Invalid("ends_at must be after starts_at".into()));
    }
    let school = optional_text("school", a.school.as_deref(), 200)?;
    let building = optional_text("building", a.building.as_deref(), 200)?;
    if building.is_some() && school.is_none() {
        return Err(AppError::Invalid(
            "a building needs its school (or leave both empty for the whole district)".into(),
        ));
    }
    let input = NewAnnouncement {
        kind: a.kind,
        title: required_text("title", &a.title, 200)?,
        message: message_body(&a.message)?,
        school,
        building,
        category: a.category,
        starts_at,
        ends_at,
    };
    state.db(move |s| s.create_announcement(&input, now)).await
}

/// One announcement; `NotFound` when unknown.
pub async fn announcement(state: &AppState, id: i64) -> Result<AnnouncementRecord, AppError> {
    state
        .db(move |s| s.announcement(id))
        .await?
        .ok_or(AppError::NotFound)
}

/// Ends an announcement now. With `resolve`, every linked open ticket gets
/// that message as a reply from `tech` and is resolved, in the same
/// transaction; their devices are woken. Returns the tickets resolved.
pub async fn end_announcement(
    state: &AppState,
    id: i64,
    resolve: Option<(&Technician, &str)>,
) -> Result<(AnnouncementRecord, Vec<TicketDetail>), AppError> {
    match resolve {
        None => {
            let a = state.db(move |s| s.end_announcement(id, now_utc())).await?;
            Ok((a, Vec::new()))
        }
        Some((tech, message)) => {
            let body = message_body(message)?;
            let author = tech.name.clone();
            let (a, resolved) = state
                .db(move |s| s.end_announcement_resolving(id, &author, &body, now_utc()))
                .await?;
            for d in &resolved {
                notify(state, d);
            }
            tracing::info!(
                announcement = id,
                tickets = resolved.len(),
                "announcement ended; linked tickets resolved"
            );
            Ok((a, resolved))
        }
    }
}

/// Links tickets to an announcement (`None` unlinks), all or none.
pub async fn link_tickets(
    state: &AppState,
    numbers: Vec<i64>,
    announcement_id: Option<i64>,
) -> Result<(), AppError> {
    state
        .db(move |s| s.link_tickets(&numbers, announcement_id, now_utc()))
        .await
}

/// A teacher's "me too" on an announcement visible to their device: 201
/// new, 200 repeat; `NotFound` when unknown, ended or not for this device.
pub async fn me_too(
    state: &AppState,
    device: DeviceRecord,
    announcement_id: i64,
    req: wire::MeTooRequest,
) -> Result<Inserted<i64>, AppError> {
    let m = NewMeToo {
        client_id: req.client_id,
        announcement_id,
        room: wire::check_optional_text(wire::TextField::Room, req.room.as_deref())?
            .map(str::to_owned),
        reporter_json: req
            .reporter
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(AppError::internal)?,
        created_at: req.created_at,
        received_at: now_utc(),
    };
    state.db(move |s| s.insert_me_too(&device, &m)).await
}

// ---- retention ---------------------------------------------------------------

/// Applies the retention policy at `now`: resolved and closed tickets
/// finished more than the policy's days before `now` lose their screenshots
/// and device snapshots. Returns the policy's days and what was removed.
pub fn purge(store: &dyn Store, now: OffsetDateTime) -> Result<(u32, PurgeReport), StoreError> {
    let days = store.retention_days()?;
    let cutoff = now - time::Duration::days(i64::from(days));
    let report = store.purge_media(cutoff, now)?;
    Ok((days, report))
}

/// Sets the retention policy, 1 to 3650 days.
pub async fn set_retention_days(state: &AppState, days: u32) -> Result<(), AppError> {
    if !(1..=3650).contains(&days) {
        return Err(AppError::Invalid(
            "the retention period must be 1 to 3650 days".into(),
        ));
    }
    state.db(move |s| s.set_retention_days(days)).await
}
