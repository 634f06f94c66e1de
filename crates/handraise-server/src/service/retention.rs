//! The retention policy: how long finished tickets keep their screenshots
//! and device snapshots, and the purge that applies it.

use super::run;
use crate::error::AppError;
use crate::store::{PurgeReport, Store, StoreError, utc_day};
use std::ops::RangeInclusive;
use std::sync::Arc;
use time::OffsetDateTime;

/// Days the policy may be set to.
pub const RETENTION_DAYS: RangeInclusive<u32> = 1..=3650;

/// Applies the retention policy at `now`: resolved and closed tickets
/// finished more than the policy's days before `now` lose their screenshots
/// and device snapshots. Devices' quota counts of days before yesterday
/// (UTC) are forgotten too. Returns the policy's days and what was removed.
pub fn purge(store: &dyn Store, now: OffsetDateTime) -> Result<(u32, PurgeReport), StoreError> {
    let days = store.retention_days()?;
    let cutoff = now - time::Duration::days(i64::from(days));
    let report = store.purge_media(cutoff, now)?;
    store.forget_usage_before(utc_day(now) - 1)?;
    Ok((days, report))
}

/// The policy's days.
pub async fn days(store: &Arc<dyn Store>) -> Result<u32, AppError> {
    run(store, |s| s.retention_days()).await
}

/// Sets the retention policy, 1 to 3650 days.
pub async fn set_days(store: &Arc<dyn Store>, days: u32) -> Result<(), AppError> {
    if !RETENTION_DAYS.contains(&days) {
        return Err(AppError::Invalid(
            "the retention period must be 1 to 3650 days".into(),
        ));
    }
    run(store, move |s| s.set_retention_days(days)).await
}
