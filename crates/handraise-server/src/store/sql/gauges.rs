//! Counts for the monitoring.

use super::rows::{choice_at, ms};
use super::{Backend, SqlStore, all, one, params};
use crate::store::{GaugeStore, Gauges, StoreResult};
use time::OffsetDateTime;

impl GaugeStore for SqlStore {
    fn gauges(&self, seen_since: OffsetDateTime) -> StoreResult<Gauges> {
        self.read(|c| {
            let tickets = all(
                c,
                "SELECT status, category, COUNT(*) FROM tickets GROUP BY status, category \
                 ORDER BY status, category",
                params![],
                |r| {
                    let n: i64 = r.get(2)?;
                    Ok((choice_at(r, 0)?, choice_at(r, 1)?, n.max(0) as u64))
                },
            )?;
            let (enrolled, seen): (i64, i64) = one(
                c,
                "SELECT COUNT(*), \
                 CAST(COALESCE(SUM(CASE WHEN last_seen_at >= ?1 THEN 1 ELSE 0 END), 0) AS BIGINT) \
                 FROM devices WHERE revoked_at IS NULL",
                params![ms(seen_since)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let forwards = all(
                c,
                "SELECT d.name, x.state, COUNT(*) FROM ( \
                     SELECT desk_id, state FROM forwards \
                     UNION ALL \
                     SELECT f.desk_id, m.state FROM message_forwards m \
                     JOIN forwards f ON f.ticket_number = m.ticket_number \
                 ) x JOIN desks d ON d.id = x.desk_id \
                 GROUP BY d.name, x.state ORDER BY d.name, x.state",
                params![],
                |r| {
                    let n: i64 = r.get(2)?;
                    Ok((r.get(0)?, r.get(1)?, n.max(0) as u64))
                },
            )?;
            let size = match c.backend() {
                Backend::Sqlite => {
                    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
                }
                Backend::Postgres => "SELECT pg_database_size(current_database())",
            };
            let bytes: i64 = one(c, size, params![], |r| r.get(0))?;
            Ok(Gauges {
                tickets,
                devices_enrolled: enrolled.max(0) as u64,
                devices_seen: seen.max(0) as u64,
                database_bytes: bytes.max(0) as u64,
                forwards,
            })
        })
    }

    fn clock_skews(&self, since: OffsetDateTime) -> StoreResult<Vec<(String, i64)>> {
        self.read(|c| {
            let skew = match c.backend() {
                Backend::Sqlite => "json_extract(snapshot, '$.clock_skew_secs')",
                Backend::Postgres => {
                    "CAST(ROUND((snapshot::jsonb ->> 'clock_skew_secs')::numeric) AS BIGINT)"
                }
            };
            all(
                c,
                &format!(
                    "SELECT device_id, {skew} FROM tickets \
                     WHERE number IN (SELECT MAX(number) FROM tickets \
                         WHERE received_at >= ?1 AND {skew} IS NOT NULL \
                         GROUP BY device_id) \
                     ORDER BY device_id"
                ),
                params![ms(since)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
    }
}
