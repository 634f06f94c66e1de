//! What devices send: tickets, teacher messages, screenshots, and the
//! reading of their own tickets and updates feed; and the one home of a
//! device's daily quotas ([`DailyQuotas`]).

use super::run;
use super::text::{message_body, to_json};
use crate::config::Config;
use crate::error::AppError;
use crate::store::{
    FeedEntry, Inserted, MessageRecord, NewScreenshot, NewTeacherMessage, NewTicketRecord, Quota,
    QuotaKind, Store, StoreError, StoreResult, TicketRecord, utc_day,
};
use handraise_wire::{self as wire, TicketStatus};
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// Feed entries per page.
pub const UPDATES_PAGE: usize = 100;

/// The longest `Retry-After` of an exhausted quota: the agent waits at most
/// an hour anyway, and tries again then (cheaply refused until midnight UTC).
pub const QUOTA_RETRY_CAP_SECS: u64 = 3600;

/// What one device may send per UTC day (`device_*_per_day` in
/// `config.toml`). A new ticket, a new teacher message and every new
/// screenshot byte count, in the transaction that writes them; a repeat of
/// something already accepted (the same client id, the same image) is
/// answered as before and counts nothing, even over the quota. Beyond it:
/// 429 `quota_exceeded` with `Retry-After` until midnight UTC (at most
/// [`QUOTA_RETRY_CAP_SECS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyQuotas {
    pub tickets: u64,
    pub messages: u64,
    pub screenshot_bytes: u64,
}

impl DailyQuotas {
    pub fn from_config(config: &Config) -> Self {
        DailyQuotas {
            tickets: config.device_tickets_per_day,
            messages: config.device_messages_per_day,
            screenshot_bytes: config.device_screenshot_bytes_per_day,
        }
    }

    fn limit(&self, kind: QuotaKind) -> u64 {
        match kind {
            QuotaKind::Tickets => self.tickets,
            QuotaKind::Messages => self.messages,
            QuotaKind::ScreenshotBytes => self.screenshot_bytes,
        }
    }

    /// Whether a device's total of `kind` for the day may become `total`.
    pub fn admits(&self, kind: QuotaKind, total: u64) -> bool {
        total <= self.limit(kind)
    }

    /// The answer to a write refused at `now` by the quota of `kind`.
    pub fn exceeded(&self, kind: QuotaKind, now: OffsetDateTime) -> AppError {
        let what = match kind {
            QuotaKind::Tickets => "tickets",
            QuotaKind::Messages => "messages",
            QuotaKind::ScreenshotBytes => "screenshot bytes",
        };
        let until_midnight = 86_400 - now.unix_timestamp().rem_euclid(86_400);
        AppError::QuotaExceeded {
            message: format!(
                "this device has used its daily quota of {} {what}; it starts again at \
                 midnight UTC",
                self.limit(kind)
            ),
            retry_after_secs: (until_midnight as u64).clamp(1, QUOTA_RETRY_CAP_SECS),
        }
    }

    /// Runs `write` on the blocking pool with this quota for the UTC day of
    /// `now`; a refusal becomes [`exceeded`](Self::exceeded).
    async fn run<T, F>(
        self,
        store: &Arc<dyn Store>,
        now: OffsetDateTime,
        write: F,
    ) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store, &Quota<'_>) -> StoreResult<T> + Send + 'static,
    {
        let admit = move |kind, total| self.admits(kind, total);
        let quota_day = utc_day(now);
        let outcome = run(store, move |s| {
            let quota = Quota {
                day: quota_day,
                admit: &admit,
            };
            match write(s, &quota) {
                Err(StoreError::OverQuota(kind)) => Ok(Err(kind)),
                other => other.map(Ok),
            }
        })
        .await?;
        outcome.map_err(|kind| self.exceeded(kind, now))
    }
}

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
    quotas: DailyQuotas,
    device_id: Uuid,
    t: wire::NewTicket,
    now: OffsetDateTime,
) -> Result<Inserted<TicketRecord>, AppError> {
    let record = new_ticket(device_id, t, now)?;
    quotas
        .run(store, now, move |s, q| {
            super::forward::file_ticket(s, &record, q)
        })
        .await
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
    quotas: DailyQuotas,
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
    quotas
        .run(store, now, move |s, q| {
            super::forward::file_message(s, device_id, ticket_client_id, &message, q)
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
    quotas: DailyQuotas,
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
    quotas
        .run(store, now, move |s, q| {
            let shot = NewScreenshot {
                ticket_client_id,
                content_type,
                bytes: &bytes,
                uploaded_at: now,
            };
            s.put_screenshot_within(device_id, &shot, q)
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
