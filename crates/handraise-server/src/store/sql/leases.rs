//! Leases of background jobs.

use super::rows::ms;
use super::{SqlStore, exec, params};
use crate::store::{LeaseStore, StoreResult};
use std::time::Duration;
use time::OffsetDateTime;

impl LeaseStore for SqlStore {
    fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> StoreResult<bool> {
        let ttl = time::Duration::try_from(ttl).unwrap_or(time::Duration::DAY);
        let changed = self.read(|c| {
            exec(
                c,
                "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (name) DO UPDATE \
                 SET holder = excluded.holder, expires_at = excluded.expires_at \
                 WHERE leases.holder = excluded.holder OR leases.expires_at <= ?4",
                params![name, holder, ms(now + ttl), ms(now)],
            )
        })?;
        Ok(changed == 1)
    }

    fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        self.read(|c| {
            exec(
                c,
                "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
                params![name, holder],
            )
        })?;
        Ok(())
    }

    fn clear_leases(&self) -> StoreResult<()> {
        self.read(|c| exec(c, "DELETE FROM leases", params![]))?;
        Ok(())
    }
}
