//! District settings an admin changes: the SLA policy.

use crate::error::AppError;
use crate::store::{SlaPolicy, Store};
use std::ops::RangeInclusive;

/// Every SLA target, in hours: from one hour to thirty days.
pub const SLA_HOURS: RangeInclusive<u32> = 1..=720;

/// Checks an SLA policy: every target within [`SLA_HOURS`].
pub fn check_sla_policy(policy: &SlaPolicy) -> Result<(), AppError> {
    let all = [
        policy.class_stopping_hours,
        policy.wide_hours,
        policy.room_hours,
        policy.individual_hours,
    ];
    if all.iter().all(|h| SLA_HOURS.contains(h)) {
        Ok(())
    } else {
        Err(AppError::Invalid(format!(
            "each value must be a whole number of hours from {} to {}",
            SLA_HOURS.start(),
            SLA_HOURS.end()
        )))
    }
}

/// Checks and saves the SLA policy.
pub fn set_sla_policy(store: &dyn Store, policy: &SlaPolicy) -> Result<(), AppError> {
    check_sla_policy(policy)?;
    Ok(store.set_sla_policy(policy)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_is_one_to_720_hours() {
        let ok = SlaPolicy {
            class_stopping_hours: 1,
            wide_hours: 720,
            room_hours: 8,
            individual_hours: 24,
        };
        assert!(check_sla_policy(&ok).is_ok());
        for bad in [0, 721] {
            let p = SlaPolicy {
                room_hours: bad,
                ..ok
            };
            assert!(matches!(check_sla_policy(&p), Err(AppError::Invalid(_))));
        }
    }
}
