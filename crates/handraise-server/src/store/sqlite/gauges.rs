//! Counts for the monitoring.

use super::rows::{choice_at, ms};
use super::{SqliteStore, all};
use crate::store::{GaugeStore, Gauges, StoreResult};
use time::OffsetDateTime;

impl GaugeStore for SqliteStore {
    fn gauges(&self, seen_since: OffsetDateTime) -> StoreResult<Gauges> {
        self.read(|c| {
            let tickets = all(
                c,
                "SELECT status, category, COUNT(*) FROM tickets GROUP BY status, category \
                 ORDER BY status, category",
                [],
                |r| {
                    let n: i64 = r.get(2)?;
                    Ok((choice_at(r, 0)?, choice_at(r, 1)?, n.max(0) as u64))
                },
            )?;
            let (enrolled, seen): (i64, i64) = c.query_row(
                "SELECT COUNT(*), COALESCE(SUM(last_seen_at >= ?1), 0) FROM devices \
                 WHERE revoked_at IS NULL",
                [ms(seen_since)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            let page_size: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            Ok(Gauges {
                tickets,
                devices_enrolled: enrolled.max(0) as u64,
                devices_seen: seen.max(0) as u64,
                database_bytes: (pages.max(0) as u64).saturating_mul(page_size.max(0) as u64),
            })
        })
    }

    fn clock_skews(&self, since: OffsetDateTime) -> StoreResult<Vec<(String, i64)>> {
        self.read(|c| {
            all(
                c,
                "SELECT device_id, json_extract(snapshot, '$.clock_skew_secs') FROM tickets \
                 WHERE number IN (SELECT MAX(number) FROM tickets \
                     WHERE received_at >= ?1 \
                       AND json_extract(snapshot, '$.clock_skew_secs') IS NOT NULL \
                     GROUP BY device_id) \
                 ORDER BY device_id",
                [ms(since)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
    }
}
