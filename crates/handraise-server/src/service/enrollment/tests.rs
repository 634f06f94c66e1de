use super::*;
use crate::store::{AdminStore, now_utc};

fn labelled(label: &str) -> EnrollTokenInput<'_> {
    EnrollTokenInput {
        label,
        ..Default::default()
    }
}

#[test]
fn tokens_are_checked_and_stored_as_hashes() {
    let store = crate::store::tests::store();
    assert!(matches!(
        create_enroll_token(&store, &labelled("  "), now_utc()),
        Err(AppError::Invalid(_))
    ));
    let created = create_enroll_token(&store, &labelled(" Lab A "), now_utc()).expect("token");
    assert_eq!(created.of.label, "Lab A");
    assert_eq!(created.of.expires_at, None, "without days it never expires");
    let listed = store.list_enroll_tokens().expect("list");
    assert_eq!(listed.len(), 1);
    revoke_enroll_token(&store, listed[0].id, now_utc()).expect("revoke");
    assert!(matches!(
        revoke_enroll_token(&store, 999, now_utc()),
        Err(AppError::NotFound)
    ));
    let now = now_utc();
    let tech = create_tech_token(&store, TokenOwner::Name(" Sam "), None, now).expect("tech");
    assert_eq!(tech.of.user.technician_name, "Sam");
    assert_eq!(tech.of.expires_at, now + Duration::days(90));
    let found = tech_token_user(&store, &tech.token, now).expect("lookup");
    assert_eq!(found.map(|u| u.technician_name), Some("Sam".to_owned()));
    assert!(create_tech_token(&store, TokenOwner::Name(""), None, now).is_err());
    assert!(create_tech_token(&store, TokenOwner::Name("Sam"), Some(0), now).is_err());
    assert!(matches!(
        create_tech_token(&store, TokenOwner::Email("nobody@example.org"), None, now),
        Err(AppError::NotFound)
    ));
}

/// A store, and a way to make tokens on it.
fn arc_store() -> Arc<dyn Store> {
    Arc::new(crate::store::tests::store())
}

fn token(store: &Arc<dyn Store>, input: EnrollTokenInput<'_>, now: OffsetDateTime) -> String {
    create_enroll_token(store.as_ref(), &input, now)
        .expect("token")
        .token
}

fn request(token: &str, school: Option<&str>, machine: Option<&str>) -> wire::EnrollRequest {
    wire::EnrollRequest {
        token: token.into(),
        hostname: "lab-pc".into(),
        school: school.map(Into::into),
        building: Some("Annex".into()),
        os: None,
        model: None,
        agent_version: None,
        machine_id: machine.map(Into::into),
    }
}

async fn enroll_at(
    store: &Arc<dyn Store>,
    req: &wire::EnrollRequest,
    now: OffsetDateTime,
) -> Result<Enrolled, AppError> {
    enroll(store, hash_secret(&new_secret()), req, now).await
}

fn refused(r: Result<Enrolled, AppError>) -> Option<EnrollRefusal> {
    match r {
        Err(AppError::EnrollRefused(why)) => Some(why),
        _ => None,
    }
}

#[test]
fn token_limits_are_checked() {
    let store = crate::store::tests::store();
    let now = now_utc();
    for bad in [
        EnrollTokenInput {
            expires_days: Some(0),
            ..labelled("x")
        },
        EnrollTokenInput {
            expires_days: Some(MAX_ENROLL_TOKEN_DAYS + 1),
            ..labelled("x")
        },
        EnrollTokenInput {
            max_uses: Some(0),
            ..labelled("x")
        },
        EnrollTokenInput {
            expires_at: Some(now),
            ..labelled("already over")
        },
        EnrollTokenInput {
            expires_days: Some(1),
            expires_at: Some(now + Duration::hours(1)),
            ..labelled("both")
        },
    ] {
        assert!(matches!(
            create_enroll_token(&store, &bad, now),
            Err(AppError::Invalid(_))
        ));
    }
    let made = create_enroll_token(
        &store,
        &EnrollTokenInput {
            school: Some("  Lincoln "),
            building: Some(" "),
            expires_days: Some(7),
            max_uses: Some(30),
            ..labelled("fall")
        },
        now,
    )
    .expect("token");
    let t = made.of;
    assert_eq!(t.school.as_deref(), Some("Lincoln"));
    assert_eq!(t.building, None, "blank is none");
    assert_eq!(t.expires_at, Some(now + Duration::days(7)));
    assert_eq!(t.max_uses, Some(30));
    assert_eq!(store.list_enroll_tokens().expect("list")[0], t);
}

#[tokio::test]
async fn a_token_s_school_and_building_win_over_the_device_s() {
    let store = arc_store();
    let now = now_utc();
    let bound = token(
        &store,
        EnrollTokenInput {
            school: Some("Lincoln"),
            ..labelled("Lincoln only")
        },
        now,
    );
    let e = enroll_at(&store, &request(&bound, Some("Washington"), None), now)
        .await
        .expect("enrolled");
    assert_eq!(e.school.as_deref(), Some("Lincoln"));
    assert_eq!(e.building.as_deref(), Some("Annex"), "the token names none");
    let stored = store.device(e.device_id).expect("read").expect("stored");
    assert_eq!(stored.school.as_deref(), Some("Lincoln"));

    let open = token(&store, labelled("any school"), now);
    let e = enroll_at(&store, &request(&open, Some("Washington"), None), now)
        .await
        .expect("enrolled");
    assert_eq!(e.school.as_deref(), Some("Washington"), "as today");
}

#[tokio::test]
async fn expired_used_up_revoked_and_unknown_tokens_are_refused() {
    let store = arc_store();
    let now = now_utc();
    let week = token(
        &store,
        EnrollTokenInput {
            expires_days: Some(7),
            ..labelled("a week")
        },
        now,
    );
    let later = now + Duration::days(7);
    assert!(
        enroll_at(
            &store,
            &request(&week, None, None),
            later - Duration::seconds(1)
        )
        .await
        .is_ok()
    );
    assert_eq!(
        refused(enroll_at(&store, &request(&week, None, None), later).await),
        Some(EnrollRefusal::TokenExpired)
    );

    let two = token(
        &store,
        EnrollTokenInput {
            max_uses: Some(2),
            ..labelled("two")
        },
        now,
    );
    for _ in 0..2 {
        enroll_at(&store, &request(&two, None, None), now)
            .await
            .expect("within the limit");
    }
    assert_eq!(
        refused(enroll_at(&store, &request(&two, None, None), now).await),
        Some(EnrollRefusal::TokenUsedUp)
    );

    let gone = token(&store, labelled("gone"), now);
    let id = store.list_enroll_tokens().expect("list")[0].id;
    revoke_enroll_token(store.as_ref(), id, now).expect("revoke");
    assert_eq!(
        refused(enroll_at(&store, &request(&gone, None, None), now).await),
        Some(EnrollRefusal::TokenRevoked)
    );
    assert_eq!(
        refused(enroll_at(&store, &request("no such token", None, None), now).await),
        Some(EnrollRefusal::InvalidToken)
    );
    assert_eq!(
        refused(enroll_at(&store, &request(" ", None, None), now).await),
        Some(EnrollRefusal::InvalidToken)
    );
    // What the list says of each.
    let states: Vec<_> = list_enroll_tokens(store.as_ref(), later)
        .expect("list")
        .into_iter()
        .map(|v| (v.token.label, v.token.uses, v.refusal))
        .collect();
    assert_eq!(
        states,
        vec![
            ("gone".into(), 0, Some(EnrollRefusal::TokenRevoked)),
            ("two".into(), 2, Some(EnrollRefusal::TokenUsedUp)),
            ("a week".into(), 1, Some(EnrollRefusal::TokenExpired)),
        ]
    );
}

#[tokio::test]
async fn a_revoked_computer_enrolls_again_only_once_an_admin_allows_it() {
    let store = arc_store();
    let now = now_utc();
    let t = token(&store, labelled("district"), now);
    let machine = "AB".repeat(32);
    let first = enroll_at(&store, &request(&t, None, Some(&machine)), now)
        .await
        .expect("enrolled");
    assert_eq!(first.previous_device, None);
    // The same computer again while its device is active: recorded as re-enrollment.
    let second = enroll_at(&store, &request(&t, None, Some(&machine)), now)
        .await
        .expect("enrolled again");
    assert_eq!(second.previous_device, Some(first.device_id));
    let stored = store
        .device(second.device_id)
        .expect("read")
        .expect("stored");
    assert_eq!(stored.machine_id, Some("ab".repeat(32)), "kept lowercased");

    store.revoke_device(second.device_id, now).expect("revoke");
    assert_eq!(
        refused(enroll_at(&store, &request(&t, None, Some(&machine)), now).await),
        Some(EnrollRefusal::MachineRevoked)
    );
    // Another computer, or an agent that sends no machine id, is not held back.
    let other = "cd".repeat(32);
    assert!(
        enroll_at(&store, &request(&t, None, Some(&other)), now)
            .await
            .is_ok()
    );
    let old_agent = enroll_at(&store, &request(&t, None, None), now)
        .await
        .expect("old agent");

    // Allowing needs a revoked device with a machine id.
    assert!(matches!(
        allow_reenrollment(store.as_ref(), ReenrollTarget::Device(first.device_id), now),
        Err(AppError::Invalid(_))
    ));
    store
        .revoke_device(old_agent.device_id, now)
        .expect("revoke");
    assert!(matches!(
        allow_reenrollment(
            store.as_ref(),
            ReenrollTarget::Device(old_agent.device_id),
            now
        ),
        Err(AppError::Invalid(_))
    ));
    assert!(matches!(
        allow_reenrollment(store.as_ref(), ReenrollTarget::Machine(&other), now),
        Err(AppError::NotFound)
    ));
    assert_eq!(
        allow_reenrollment(
            store.as_ref(),
            ReenrollTarget::Device(second.device_id),
            now
        )
        .expect("allowed"),
        1
    );
    let third = enroll_at(&store, &request(&t, None, Some(&machine)), now)
        .await
        .expect("allowed back");
    assert_eq!(third.previous_device, Some(second.device_id));
    let again = store.list_reenrollments(10).expect("list");
    let pairs: Vec<_> = again
        .iter()
        .map(|r| (r.previous_device, r.device))
        .collect();
    assert_eq!(
        pairs,
        vec![
            (second.device_id, third.device_id),
            (first.device_id, second.device_id)
        ]
    );
    assert!(again[0].previous_revoked);

    // Revoked again: held back again until allowed again.
    store.revoke_device(third.device_id, now).expect("revoke");
    assert_eq!(
        refused(enroll_at(&store, &request(&t, None, Some(&machine)), now).await),
        Some(EnrollRefusal::MachineRevoked)
    );
    assert_eq!(
        allow_reenrollment(store.as_ref(), ReenrollTarget::Machine(&machine), now)
            .expect("allowed"),
        1
    );
    assert!(
        enroll_at(&store, &request(&t, None, Some(&machine)), now)
            .await
            .is_ok()
    );
}

#[test]
fn a_machine_id_is_64_hex_characters() {
    assert_eq!(check_machine_id(None).expect("none"), None);
    assert_eq!(check_machine_id(Some("  ")).expect("blank"), None);
    assert!(check_machine_id(Some(&"0".repeat(64))).is_ok());
    for bad in ["abc", &"g".repeat(64), &"0".repeat(65)] {
        assert!(matches!(
            check_machine_id(Some(bad)),
            Err(AppError::Invalid(_))
        ));
    }
}

#[test]
fn more_than_20_enrollments_within_10_minutes_are_a_burst() {
    let start = now_utc();
    let every = |n: usize, gap: Duration| -> Vec<OffsetDateTime> {
        (0..n).map(|i| start + gap * i as i32).collect()
    };
    assert_eq!(busiest_window(&[]), None);
    // 20 within a few seconds: a busy rollout, not flagged.
    let b = busiest_window(&every(20, Duration::seconds(1))).expect("some");
    assert_eq!((b.enrollments, b.is_burst()), (20, false));
    // 21 within 10 minutes (the last 9 min 58 s after the first): flagged.
    let b = busiest_window(&every(21, Duration::seconds(29))).expect("some");
    assert_eq!((b.enrollments, b.is_burst(), b.from), (21, true, start));
    // 21 spread over exactly 10 minutes: the first falls out of the last one's window.
    let b = busiest_window(&every(21, Duration::seconds(30))).expect("some");
    assert_eq!((b.enrollments, b.is_burst()), (20, false));
    // A burst later in the token's life is found and dated.
    let mut times = every(5, Duration::days(1));
    let late = start + Duration::days(10);
    times.extend((0..25).map(|i| late + Duration::seconds(i)));
    let b = busiest_window(&times).expect("some");
    assert_eq!((b.enrollments, b.from), (25, late));
}
