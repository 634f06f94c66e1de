//! Announcements, "me too" reports and linked tickets.

use super::rows::{
    ANNOUNCEMENT_COLS, announcement_row, announcement_summary_row, kind_str, me_too_room_row, ms,
    rfc3339,
};
use super::tickets::{decide_and_apply, tickets_where};
use super::{Sql, params};
use super::{SqlStore, all, changed, exec, exists, first, insert_id, one, repeated};
use crate::store::{
    AnnouncementRecord, AnnouncementStore, AnnouncementSummary, Decide, DeviceRecord, Inserted,
    MeTooRoom, NewAnnouncement, NewMeToo, StoreError, StoreResult, TicketDetail, TicketRecord,
};
use time::OffsetDateTime;

/// An announcement is for everyone or for the device's school `?2` (and building `?3`,
/// when the announcement names one), compared without case.
macro_rules! for_device {
    () => {
        "(school IS NULL OR (lower(school) = lower(?2) \
          AND (building IS NULL OR lower(building) = lower(?3))))"
    };
}

/// An announcement a device sees at `?1`: started, not ended, and [`for_device`]. The feed
/// and "me too" use the same condition. Its parameters: now, school, building.
const VISIBLE_TO_DEVICE: &str = concat!(
    "starts_at <= ?1 AND (ends_at IS NULL OR ends_at > ?1) AND ",
    for_device!()
);

/// An announcement a ticket from this device may link to when it arrives at `?1`: one
/// that has started and is [`for_device`]. It may have ended since: a ticket queued
/// offline while it was showing arrives later.
const LINKABLE_BY_DEVICE: &str = concat!("starts_at <= ?1 AND ", for_device!());

/// `id` when device `device_id` may link a ticket received at `now` to that announcement
/// ([`LINKABLE_BY_DEVICE`]); `None` otherwise, so the ticket is kept without the link.
pub(super) fn linkable_announcement(
    conn: &dyn Sql,
    id: Option<i64>,
    device_id: &str,
    now: OffsetDateTime,
) -> StoreResult<Option<i64>> {
    let Some(id) = id else {
        return Ok(None);
    };
    let device: Option<(Option<String>, Option<String>)> = first(
        conn,
        "SELECT school, building FROM devices WHERE id = ?1",
        params![device_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let Some((school, building)) = device else {
        return Ok(None);
    };
    let linkable = exists(
        conn,
        &format!("SELECT 1 FROM announcements WHERE id = ?4 AND {LINKABLE_BY_DEVICE}"),
        params![ms(now), school, building, id],
    )?;
    Ok(linkable.then_some(id))
}

fn announcement_by_id(conn: &dyn Sql, id: i64) -> StoreResult<AnnouncementRecord> {
    first(
        conn,
        &format!("SELECT {ANNOUNCEMENT_COLS} FROM announcements WHERE id = ?1"),
        params![id],
        announcement_row,
    )?
    .ok_or(StoreError::NotFound)
}

fn me_too_count(conn: &dyn Sql, announcement_id: i64) -> StoreResult<i64> {
    one(
        conn,
        "SELECT COUNT(*) FROM me_too WHERE announcement_id = ?1",
        params![announcement_id],
        |r| r.get(0),
    )
}

impl AnnouncementStore for SqlStore {
    fn create_announcement(
        &self,
        a: &NewAnnouncement,
        now: OffsetDateTime,
    ) -> StoreResult<AnnouncementRecord> {
        self.write(|tx| {
            let id = insert_id(
                tx,
                "INSERT INTO announcements (kind, title, message, school, building, category, \
                 starts_at, ends_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 RETURNING id",
                params![
                    kind_str(a.kind),
                    a.title,
                    a.message,
                    a.school,
                    a.building,
                    a.category.map(|c| c.as_str()),
                    ms(a.starts_at),
                    a.ends_at.map(ms),
                    ms(now)
                ],
            )?;
            announcement_by_id(tx, id)
        })
    }

    fn announcement(&self, id: i64) -> StoreResult<Option<AnnouncementRecord>> {
        self.read(|c| match announcement_by_id(c, id) {
            Ok(a) => Ok(Some(a)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        })
    }

    fn list_announcements(&self) -> StoreResult<Vec<AnnouncementSummary>> {
        self.read(|c| {
            all(
                c,
                &format!(
                    "SELECT {ANNOUNCEMENT_COLS}, \
                     (SELECT COUNT(*) FROM me_too m WHERE m.announcement_id = announcements.id), \
                     (SELECT COUNT(*) FROM tickets t WHERE t.announcement_id = announcements.id) \
                     FROM announcements ORDER BY starts_at DESC, id DESC"
                ),
                params![],
                announcement_summary_row,
            )
        })
    }

    fn active_announcements(
        &self,
        now: OffsetDateTime,
        school: Option<&str>,
        building: Option<&str>,
    ) -> StoreResult<Vec<AnnouncementRecord>> {
        self.read(|c| {
            all(
                c,
                &format!(
                    "SELECT {ANNOUNCEMENT_COLS} FROM announcements WHERE {VISIBLE_TO_DEVICE} \
                     ORDER BY starts_at DESC, id DESC"
                ),
                params![ms(now), school, building],
                announcement_row,
            )
        })
    }

    fn end_announcement(
        &self,
        id: i64,
        now: OffsetDateTime,
        decide: &mut Decide<'_>,
    ) -> StoreResult<(AnnouncementRecord, Vec<TicketDetail>)> {
        self.write(|tx| {
            changed(exec(
                tx,
                "UPDATE announcements SET ends_at = CASE WHEN ends_at IS NULL OR ends_at > ?2 \
                 THEN ?2 ELSE ends_at END WHERE id = ?1",
                params![id, ms(now)],
            )?)?;
            let linked = tickets_where(tx, "t.announcement_id = ?1", "t.number", params![id])?;
            let changed = decide_and_apply(tx, linked, now, decide)?;
            Ok((announcement_by_id(tx, id)?, changed))
        })
    }

    fn insert_me_too(&self, device: &DeviceRecord, m: &NewMeToo) -> StoreResult<Inserted<i64>> {
        self.write(|tx| {
            let sql = "SELECT device_id, announcement_id FROM me_too WHERE client_id = ?1";
            if repeated(tx, sql, m.client_id, device.id, &m.announcement_id)? {
                return Ok(Inserted::Existing(me_too_count(tx, m.announcement_id)?));
            }
            let visible = exists(
                tx,
                &format!("SELECT 1 FROM announcements WHERE id = ?4 AND {VISIBLE_TO_DEVICE}"),
                params![
                    ms(m.received_at),
                    device.school,
                    device.building,
                    m.announcement_id
                ],
            )?;
            if !visible {
                return Err(StoreError::NotFound);
            }
            // One per device and announcement: another from the same device is
            // answered as the repeat it is.
            let added = exec(
                tx,
                "INSERT INTO me_too (client_id, announcement_id, device_id, room, reporter, \
                 created_at, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (announcement_id, device_id) DO NOTHING",
                params![
                    m.client_id.to_string(),
                    m.announcement_id,
                    device.id.to_string(),
                    m.room,
                    m.reporter_json,
                    rfc3339(m.created_at),
                    ms(m.received_at)
                ],
            )?;
            let count = me_too_count(tx, m.announcement_id)?;
            Ok(if added == 0 {
                Inserted::Existing(count)
            } else {
                Inserted::Created(count)
            })
        })
    }

    fn me_too_by_room(&self, announcement_id: i64) -> StoreResult<Vec<MeTooRoom>> {
        self.read(|c| {
            all(
                c,
                "SELECT MIN(d.school), MIN(TRIM(m.room)), COUNT(*), MAX(m.received_at) \
                 FROM me_too m JOIN devices d ON d.id = m.device_id \
                 WHERE m.announcement_id = ?1 \
                 GROUP BY LOWER(COALESCE(d.school, '')), LOWER(COALESCE(TRIM(m.room), '')) \
                 ORDER BY COUNT(*) DESC, MIN(d.school), MIN(TRIM(m.room))",
                params![announcement_id],
                me_too_room_row,
            )
        })
    }

    fn link_tickets(
        &self,
        numbers: &[i64],
        announcement_id: Option<i64>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.write(|tx| {
            if let Some(id) = announcement_id {
                announcement_by_id(tx, id)?;
            }
            for &number in numbers {
                // Failing rolls back the ones before it.
                changed(exec(
                    tx,
                    "UPDATE tickets SET announcement_id = ?2, updated_at = ?3 WHERE number = ?1",
                    params![number, announcement_id, ms(now)],
                )?)?;
            }
            Ok(())
        })
    }

    fn announcement_tickets(&self, announcement_id: i64) -> StoreResult<Vec<TicketRecord>> {
        self.read(|c| {
            tickets_where(
                c,
                "t.announcement_id = ?1",
                "t.number",
                params![announcement_id],
            )
        })
    }
}
