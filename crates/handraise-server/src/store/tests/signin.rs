//! The store's side of sign-in across server nodes: failures per key held
//! and written in one transaction, and OpenID Connect sign-ins under way,
//! taken once and never after they expire.

use super::*;
use crate::limits::Failures;
use crate::oidc::Purpose;
use time::macros::datetime;

#[test]
fn failures_are_handed_over_in_order_and_written_back_only_when_asked() -> R {
    let s = store();
    let mut seen = Vec::new();
    s.change_sign_in_failures(&["email:a", "ip:1"], &mut |f| {
        seen = f.to_vec();
        f[0].level_milli = 2000;
        f[1].level_milli = 1000;
        f.iter_mut().for_each(|f| f.last_ms = 5);
        true
    })?;
    assert_eq!(seen, vec![Failures::default(); 2], "new keys start at zero");
    s.change_sign_in_failures(&["ip:1", "email:a"], &mut |f| {
        seen = f.to_vec();
        f[0].level_milli = 99_000;
        false
    })?;
    let at = |level_milli| Failures {
        level_milli,
        at_ms: 0,
        last_ms: 5,
    };
    assert_eq!(seen, vec![at(1000), at(2000)], "in the order asked");
    s.change_sign_in_failures(&["ip:1"], &mut |f| {
        seen = f.to_vec();
        true
    })?;
    assert_eq!(seen, vec![at(1000)], "not written back");
    s.clear_sign_in_failures("email:a")?;
    s.change_sign_in_failures(&["email:a"], &mut |f| {
        seen = f.to_vec();
        false
    })?;
    assert_eq!(seen, vec![Failures::default()], "cleared");
    // One failure fades in 10 s: "ip:1" (1 failure, last at 5 ms) is gone 10 s on.
    assert_eq!(
        s.forget_faded_sign_in_failures(9_000, 10_000)?,
        1,
        "the zero row"
    );
    assert_eq!(s.forget_faded_sign_in_failures(10_005, 10_000)?, 1);
    s.change_sign_in_failures(&["ip:1"], &mut |f| {
        seen = f.to_vec();
        false
    })?;
    assert_eq!(seen, vec![Failures::default()]);
    Ok(())
}

fn pending(n: u8, at: time::OffsetDateTime) -> PendingSignInRecord {
    PendingSignInRecord {
        state_hash: format!("state-{n}"),
        purpose: if n.is_multiple_of(2) {
            Purpose::Console
        } else {
            Purpose::Report
        },
        nonce: format!("nonce-{n}"),
        verifier: format!("verifier-{n}"),
        browser_hash: format!("browser-{n}"),
        created_at: at,
        expires_at: at + Duration::minutes(10),
    }
}

#[test]
fn a_pending_sign_in_is_taken_once_before_it_expires_and_the_oldest_make_room() -> R {
    let s = store();
    let t0 = datetime!(2026-12-02 01:00:00 UTC);
    let at = |mins: i64| t0 + Duration::minutes(mins);
    s.insert_pending_sign_in(&pending(1, at(0)), at(0), 3)?;
    assert_eq!(
        s.take_pending_sign_in("state-1", at(9))?,
        Some(pending(1, at(0)))
    );
    assert_eq!(
        s.take_pending_sign_in("state-1", at(9))?,
        None,
        "single use"
    );
    s.insert_pending_sign_in(&pending(2, at(0)), at(0), 3)?;
    assert_eq!(s.take_pending_sign_in("state-2", at(10))?, None, "expired");
    assert_eq!(s.take_pending_sign_in("state-2", at(0))?, None, "and gone");
    for n in 3..=6 {
        s.insert_pending_sign_in(&pending(n, at(i64::from(n))), at(i64::from(n)), 3)?;
    }
    assert_eq!(
        s.take_pending_sign_in("state-3", at(6))?,
        None,
        "pushed out"
    );
    for n in 4..=6 {
        let taken = s.take_pending_sign_in(&format!("state-{n}"), at(6))?;
        assert_eq!(taken.map(|p| p.nonce), Some(format!("nonce-{n}")));
    }
    // Expired ones are forgotten when another is kept.
    s.insert_pending_sign_in(&pending(7, at(0)), at(0), 3)?;
    s.insert_pending_sign_in(&pending(8, at(20)), at(20), 3)?;
    assert_eq!(s.take_pending_sign_in("state-7", at(0))?, None);
    Ok(())
}
