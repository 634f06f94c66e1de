//! Announcements: creating and ending them, resolving their linked
//! tickets, and the "me too" reports of devices that see them.

use super::text::{message_body, optional_text, required_text, to_json};
use super::tickets::{both, notify, status_change, tech_message};
use super::{FeedNotifier, run};
use crate::error::AppError;
use crate::store::{
    AnnouncementRecord, DeviceRecord, Inserted, MeTooRoom, MessageKind, NewAnnouncement, NewMeToo,
    Store, Technician, TicketDetail, truncate_ms,
};
use handraise_wire::{self as wire, TicketStatus};
use std::sync::Arc;
use time::OffsetDateTime;

/// Longest announcement title, school, building and room.
const MAX_FIELD_CHARS: usize = 200;

/// Checks an announcement as the API and the console receive it; it starts
/// at `now` unless `starts_at` says otherwise.
pub fn new_announcement(
    a: wire::AnnouncementInput,
    now: OffsetDateTime,
) -> Result<NewAnnouncement, AppError> {
    let starts_at = a.starts_at.map(truncate_ms).unwrap_or(now);
    let ends_at = a.ends_at.map(truncate_ms);
    if ends_at.is_some_and(|end| end <= starts_at) {
        return Err(AppError::Invalid("ends_at must be after starts_at".into()));
    }
    let school = optional_text("school", a.school.as_deref(), MAX_FIELD_CHARS)?;
    let building = optional_text("building", a.building.as_deref(), MAX_FIELD_CHARS)?;
    if building.is_some() && school.is_none() {
        return Err(AppError::Invalid(
            "a building needs its school (or leave both empty for the whole district)".into(),
        ));
    }
    Ok(NewAnnouncement {
        kind: a.kind,
        title: required_text("title", &a.title, MAX_FIELD_CHARS)?,
        message: message_body(&a.message)?,
        school,
        building,
        category: a.category,
        starts_at,
        ends_at,
    })
}

/// Creates an announcement.
pub async fn create(
    store: &Arc<dyn Store>,
    a: wire::AnnouncementInput,
    now: OffsetDateTime,
) -> Result<AnnouncementRecord, AppError> {
    let input = new_announcement(a, now)?;
    run(store, move |s| s.create_announcement(&input, now)).await
}

/// One announcement; `NotFound` when unknown.
pub async fn get(store: &Arc<dyn Store>, id: i64) -> Result<AnnouncementRecord, AppError> {
    run(store, move |s| s.announcement(id))
        .await?
        .ok_or(AppError::NotFound)
}

/// One announcement and its "me too" reports by room, most first.
pub async fn with_rooms(
    store: &Arc<dyn Store>,
    id: i64,
) -> Result<(AnnouncementRecord, Vec<MeTooRoom>), AppError> {
    let record = get(store, id).await?;
    let rooms = run(store, move |s| s.me_too_by_room(id)).await?;
    Ok((record, rooms))
}

/// The announcements `device` sees at `now`.
pub async fn for_device(
    store: &Arc<dyn Store>,
    device: &DeviceRecord,
    now: OffsetDateTime,
) -> Result<Vec<AnnouncementRecord>, AppError> {
    let (school, building) = (device.school.clone(), device.building.clone());
    run(store, move |s| {
        s.active_announcements(now, school.as_deref(), building.as_deref())
    })
    .await
}

/// Ends an announcement at `now`. With `resolve`, every linked ticket not
/// yet resolved or closed gets that message as a reply from the technician
/// and is resolved, in the same transaction; their devices are woken.
/// Returns the tickets resolved.
pub async fn end(
    store: &Arc<dyn Store>,
    feed: &FeedNotifier,
    id: i64,
    resolve: Option<(&Technician, &str)>,
    now: OffsetDateTime,
) -> Result<(AnnouncementRecord, Vec<TicketDetail>), AppError> {
    let resolve = match resolve {
        Some((tech, message)) => Some((tech.name.clone(), message_body(message)?)),
        None => None,
    };
    let resolving = resolve.is_some();
    let (a, resolved) = run(store, move |s| {
        s.end_announcement(id, now, &mut |linked| {
            let Some((author, body)) = &resolve else {
                return Ok(Vec::new());
            };
            Ok(linked
                .iter()
                .filter(|d| d.ticket.status.is_open())
                .map(|d| {
                    let reply = tech_message(
                        d.ticket.number,
                        MessageKind::Technician,
                        author,
                        body.clone(),
                    );
                    both(reply, status_change(&d.ticket, TicketStatus::Resolved))
                })
                .collect())
        })
    })
    .await?;
    notify(feed, &resolved);
    if resolving {
        tracing::info!(
            announcement = id,
            tickets = resolved.len(),
            "announcement ended; linked tickets resolved"
        );
    }
    Ok((a, resolved))
}

/// Links tickets to an announcement (`None` unlinks), all or none.
pub async fn link_tickets(
    store: &Arc<dyn Store>,
    numbers: Vec<i64>,
    announcement_id: Option<i64>,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    run(store, move |s| {
        s.link_tickets(&numbers, announcement_id, now)
    })
    .await
}

/// A teacher's "me too" on an announcement visible to their device: 201
/// new, 200 repeat; `NotFound` when unknown, ended or not for this device.
pub async fn me_too(
    store: &Arc<dyn Store>,
    device: &DeviceRecord,
    announcement_id: i64,
    req: wire::MeTooRequest,
    now: OffsetDateTime,
) -> Result<Inserted<i64>, AppError> {
    let m = NewMeToo {
        announcement_id,
        client_id: req.client_id,
        room: wire::check_optional_text(wire::TextField::Room, req.room.as_deref())?
            .map(str::to_owned),
        reporter_json: req.reporter.as_ref().map(to_json).transpose()?,
        created_at: req.created_at,
        received_at: now,
    };
    let device = device.clone();
    run(store, move |s| s.insert_me_too(&device, &m)).await
}
