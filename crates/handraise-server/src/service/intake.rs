//! What devices send: tickets, teacher messages, screenshots, and the
//! reading of their own tickets and updates feed.

use super::run;
use super::text::{message_body, to_json};
use crate::error::AppError;
use crate::store::{
    FeedEntry, Inserted, MessageRecord, NewScreenshot, NewTeacherMessage, NewTicketRecord, Store,
    TicketRecord,
};
use handraise_wire::{self as wire, TicketStatus};
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// Feed entries per page.
pub const UPDATES_PAGE: usize = 100;

/// Checks a ticket from device `device_id` received at `now`; it starts `new`.
pub fn new_ticket(
    device_id: Uuid,
    t: wire::NewTicket,
    now: OffsetDateTime,
) -> Result<NewTicketRecord, AppError> {
    let summary = wire::check_text(wire::TextField::Summary, &t.summary)?
        .unwrap_or_default()
        .to_owned();
    // What is stored is what was counted: the trimmed text.
    let details = wire::check_optional_text(wire::TextField::Details, t.details.as_deref())?
        .map(str::to_owned);
    let room =
        wire::check_optional_text(wire::TextField::Room, t.room.as_deref())?.map(str::to_owned);
    Ok(NewTicketRecord {
        client_id: t.client_id,
        device_id,
        status: TicketStatus::New,
        created_at: t.created_at,
        received_at: now,
        category: t.category,
        urgency: t.urgency.unwrap_or_default(),
        scope: t.scope.unwrap_or_default(),
        summary,
        details,
        room,
        reporter_json: t.reporter.as_ref().map(to_json).transpose()?,
        snapshot_json: t.snapshot.as_ref().map(to_json).transpose()?,
        self_help_json: if t.self_help.is_empty() {
            None
        } else {
            Some(to_json(&t.self_help)?)
        },
        offline_at_submit: t.offline_at_submit.unwrap_or(false),
        announcement_id: t.announcement_id,
    })
}

/// Files a ticket: `Created` new, `Existing` for a repeat of this device's
/// client id.
pub async fn create_ticket(
    store: &Arc<dyn Store>,
    device_id: Uuid,
    t: wire::NewTicket,
    now: OffsetDateTime,
) -> Result<Inserted<TicketRecord>, AppError> {
    let record = new_ticket(device_id, t, now)?;
    run(store, move |s| super::forward::file_ticket(s, &record)).await
}

/// The device's ticket and the messages it may see (no notes); `NotFound`
/// when it is not this device's.
pub async fn device_ticket(
    store: &Arc<dyn Store>,
    device_id: Uuid,
    client_id: Uuid,
) -> Result<(TicketRecord, Vec<MessageRecord>), AppError> {
    run(store, move |s| {
        let Some(ticket) = s.device_ticket(device_id, client_id)? else {
            return Ok(None);
        };
        let messages = s.messages(ticket.number, false)?;
        Ok(Some((ticket, messages)))
    })
    .await?
    .ok_or(AppError::NotFound)
}

/// A teacher's message on their ticket: `Created` new, `Existing` repeat.
pub async fn post_message(
    store: &Arc<dyn Store>,
    device_id: Uuid,
    ticket_client_id: Uuid,
    m: wire::NewMessage,
    now: OffsetDateTime,
) -> Result<Inserted<MessageRecord>, AppError> {
    let message = NewTeacherMessage {
        id: m.client_id,
        body: message_body(&m.body)?,
        created_at: m.created_at,
        received_at: now,
    };
    run(store, move |s| {
        super::forward::file_message(s, device_id, ticket_client_id, &message)
    })
    .await
}

/// `NotFound` unless the ticket is this device's (checked before a
/// screenshot upload is read).
pub async fn check_owner(
    store: &Arc<dyn Store>,
    device_id: Uuid,
    ticket_client_id: Uuid,
) -> Result<(), AppError> {
    run(store, move |s| s.device_ticket(device_id, ticket_client_id))
        .await?
        .map(|_| ())
        .ok_or(AppError::NotFound)
}

/// The image type a screenshot is accepted as, from its declared
/// `Content-Type` (without parameters, lower case): PNG or JPEG.
pub fn screenshot_type(declared: Option<&str>) -> Result<&'static str, AppError> {
    declared
        .and_then(wire::ImageType::from_content_type)
        .map(wire::ImageType::mime)
        .ok_or_else(|| {
            AppError::UnsupportedMediaType(
                "a screenshot must be sent as image/png or image/jpeg".into(),
            )
        })
}

/// Which image type the magic bytes say, if any of the accepted ones.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    wire::ImageType::sniff(bytes).map(wire::ImageType::mime)
}

/// Stores (or replaces) the screenshot of the device's ticket when the bytes
/// are the `content_type` they claim; returns the ticket number.
pub async fn put_screenshot(
    store: &Arc<dyn Store>,
    device_id: Uuid,
    ticket_client_id: Uuid,
    content_type: &'static str,
    bytes: Vec<u8>,
    now: OffsetDateTime,
) -> Result<i64, AppError> {
    if sniff_image(&bytes) != Some(content_type) {
        return Err(AppError::UnsupportedMediaType(format!(
            "the body is not a {content_type} image"
        )));
    }
    // A header that cannot be read is stored as it is (it shows nothing); one
    // that states an absurd size is refused before anyone's browser decodes it.
    if let Some((width, height)) = wire::image_dimensions(&bytes)
        && !wire::image_dimensions_ok(width, height)
    {
        return Err(AppError::Invalid(format!(
            "a screenshot may be at most {} pixels a side and {} pixels in all; this one is \
             {width}×{height}",
            wire::MAX_IMAGE_SIDE,
            wire::MAX_IMAGE_PIXELS
        )));
    }
    run(store, move |s| {
        let shot = NewScreenshot {
            ticket_client_id,
            content_type,
            bytes: &bytes,
            uploaded_at: now,
        };
        s.put_screenshot(device_id, &shot)
    })
    .await
}

/// A page of the device's feed after `cursor`: at most [`UPDATES_PAGE`]
/// entries, and whether more follow.
pub async fn updates(
    store: &Arc<dyn Store>,
    device_id: Uuid,
    cursor: i64,
) -> Result<(Vec<FeedEntry>, bool), AppError> {
    let cursor = cursor.max(0);
    let mut entries = run(store, move |s| {
        s.updates(device_id, cursor, UPDATES_PAGE + 1)
    })
    .await?;
    let more = entries.len() > UPDATES_PAGE;
    entries.truncate(UPDATES_PAGE);
    Ok((entries, more))
}
