//! The store's accounts, tokens, settings, quotas and schema checks.

use super::*;

fn new_user(email: &str, name: &str) -> NewUser {
    NewUser {
        email: email.into(),
        role: Role::Technician,
        password_hash: "$argon2id$placeholder".into(),
        technician_name: name.into(),
    }
}

#[test]
fn users_link_to_technicians_and_sessions_expire_or_end() -> R {
    let s = store();
    let now = now_utc();
    let script = s.script_user("Ada", now)?;
    let token = NewTechTokenRecord {
        token_hash: "token-hash",
        user_id: script.id,
        expires_at: None,
    };
    s.create_tech_token(&token, now)?;
    let ada = s.create_user(&new_user("Ada@Example.org", "Ada"), now)?;
    assert_eq!(
        (ada.id, ada.technician_id),
        (script.id, script.technician_id),
        "a user takes over the API token's password-less user"
    );
    assert_eq!(
        s.tech_token_user("token-hash", now)?.map(|u| u.email),
        Some("Ada@Example.org".to_owned())
    );
    assert!(matches!(
        s.script_user("Ada", now),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.create_user(&new_user("ada@example.org", "Other"), now),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.create_user(&new_user("b@example.org", "Ada"), now),
        Err(StoreError::Conflict(_))
    ));
    let (found, hash) = s.user_by_email("ADA@example.org")?.ok_or("no user")?;
    assert_eq!((found.id, hash.as_str()), (ada.id, "$argon2id$placeholder"));

    for (token_hash, csrf_token) in [("s1", "csrf1"), ("s2", "csrf2")] {
        let session = NewSessionRecord {
            token_hash,
            user_id: ada.id,
            csrf_token,
            expires_at: now + Duration::hours(1),
        };
        s.create_session(&session, now)?;
    }
    assert_eq!(
        s.session("s1", now)?.map(|x| x.csrf_token),
        Some("csrf1".into())
    );
    assert!(
        s.session("s1", now + Duration::hours(2))?.is_none(),
        "expired"
    );
    s.delete_session("s1", now)?;
    assert!(s.session("s1", now)?.is_none(), "signed out");
    s.set_user_disabled(ada.id, true, now)?;
    assert!(s.session("s2", now)?.is_none(), "disabling ends sessions");
    Ok(())
}

#[test]
fn a_change_is_all_or_nothing_and_merges_once() -> R {
    let s = store();
    let device = enroll(&s, None);
    let now = now_utc();
    let a = s
        .insert_ticket(&ticket(device, "first"))?
        .into_inner()
        .number;
    let b = s
        .insert_ticket(&ticket(device, "again"))?
        .into_inner()
        .number;
    let merge = |s: &SqlStore| {
        s.change_tickets(&[b], now, &mut |_| {
            Ok(vec![TicketChange {
                merged_into: Some(a),
                status: Some(TicketStatus::Closed),
                ..TicketChange::of(b)
            }])
        })
    };
    let merged = merge(&s)?;
    assert_eq!(merged[0].merged_into, Some(a));
    assert_eq!(merged[0].ticket.status, TicketStatus::Closed);
    assert!(matches!(merge(&s), Err(StoreError::Conflict(_))));
    // Unknown tickets are NotFound before anything is decided.
    assert!(matches!(
        s.change_tickets(&[a, 999], now, &mut |_| Ok(Vec::new())),
        Err(StoreError::NotFound)
    ));
    // A failing decision leaves everything as it was.
    let before = s.ticket_detail(a)?.ok_or("a")?;
    let failed = s.change_tickets(&[a], now, &mut |_| {
        Ok(vec![
            TicketChange {
                status: Some(TicketStatus::InProgress),
                ..TicketChange::of(a)
            },
            TicketChange::of(999),
        ])
    });
    assert!(matches!(failed, Err(StoreError::NotFound)));
    assert_eq!(s.ticket_detail(a)?.ok_or("a")?, before);
    Ok(())
}

#[test]
fn a_database_from_a_newer_binary_is_refused() -> R {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("db.sqlite");
    let known = SqlStore::open(&path)?.schema_version()?;
    {
        let conn = rusqlite::Connection::open(&path)?;
        conn.pragma_update(None, "user_version", known + 1)?;
    }
    match SqlStore::open(&path) {
        Err(StoreError::SchemaTooNew { database, binary }) => {
            assert_eq!((database, binary), (known + 1, known));
            let message = StoreError::SchemaTooNew { database, binary }.to_string();
            assert!(
                message.contains(&format!("schema version {}", known + 1)),
                "{message}"
            );
            assert!(
                message.contains(&format!("up to version {known}")),
                "{message}"
            );
        }
        other => return Err(format!("expected SchemaTooNew, got {other:?}").into()),
    }
    // Nothing was changed: the version is still the newer one.
    let conn = rusqlite::Connection::open(&path)?;
    let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    assert_eq!(version, known + 1);
    Ok(())
}

#[test]
fn sla_policy_devices_and_enroll_tokens_round_trip() -> R {
    let s = store();
    assert_eq!(s.sla_policy()?, SlaPolicy::default());
    let p = SlaPolicy {
        individual_hours: 48,
        ..SlaPolicy::default()
    };
    s.set_sla_policy(&p)?;
    assert_eq!(s.sla_policy()?, p);
    let device = enroll(&s, Some("Lincoln"));
    s.insert_ticket(&ticket(device, "open one"))?;
    let list = s.list_devices()?;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].open_tickets, 1);
    let tokens = s.list_enroll_tokens()?;
    assert_eq!(tokens.len(), 1);
    s.revoke_enroll_token(tokens[0].id, now_utc())?;
    assert!(s.list_enroll_tokens()?[0].revoked);
    assert!(matches!(
        s.revoke_enroll_token(999, now_utc()),
        Err(StoreError::NotFound)
    ));
    Ok(())
}

#[test]
fn tech_tokens_from_before_users_owned_them_keep_working() -> R {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("db.sqlite");
    {
        let conn = rusqlite::Connection::open(&path)?;
        for (i, sql) in MIGRATIONS[..3].iter().enumerate() {
            conn.execute_batch(sql)?;
            conn.pragma_update(None, "user_version", (i + 1) as u32)?;
        }
        conn.execute_batch(
            "INSERT INTO technicians (id, name, created_at) VALUES \
                 (1, 'Sam', 1000), (2, 'Lead', 1000), (3, 'sam', 1000), (4, 'Idle', 1000);
             INSERT INTO users (email, role, password_hash, technician_id, created_at) \
                 VALUES ('lead@example.org', 'admin', 'h', 2, 1000);
             INSERT INTO tech_tokens (token_hash, technician_id, created_at, revoked_at) VALUES \
                 ('t-sam', 1, 2000, NULL), ('t-lead', 2, 2000, NULL), \
                 ('t-sam2', 3, 2000, NULL), ('t-old', 1, 1500, 1600);",
        )?;
    }
    let s = SqlStore::open(&path)?;
    let upgraded = now_utc();
    let user_of = |hash: &str| -> Result<Option<(String, Role)>, StoreError> {
        Ok(s.tech_token_user(hash, upgraded)?
            .map(|u| (u.email, u.role)))
    };
    assert_eq!(user_of("t-sam")?, Some(("Sam".into(), Role::Technician)));
    assert_eq!(
        user_of("t-sam2")?,
        Some(("sam #3".into(), Role::Technician))
    );
    assert_eq!(
        user_of("t-lead")?,
        Some(("lead@example.org".into(), Role::Admin)),
        "a technician with a console user: the token carries its role"
    );
    assert_eq!(user_of("t-old")?, None, "still revoked");
    let tokens = s.list_tech_tokens(None)?;
    assert_eq!(tokens.len(), 4);
    for t in &tokens {
        // They expire 90 days after the upgrade, as a new token would.
        let expires = t.expires_at.ok_or("an expiry")?;
        let lifetime = expires - upgraded;
        assert!(
            lifetime > Duration::days(89) && lifetime <= Duration::days(90),
            "{lifetime}"
        );
    }
    assert!(
        s.tech_token_user("t-sam", upgraded + Duration::days(91))?
            .is_none()
    );
    assert!(tokens.iter().all(|t| t.user_email != "Idle"));
    let (sam, hash) = s.user_by_email("Sam")?.ok_or("no Sam")?;
    assert_eq!((sam.technician_name.as_str(), hash.as_str()), ("Sam", ""));
    Ok(())
}

#[test]
fn a_tokens_use_is_written_at_most_once_a_minute() -> R {
    let s = store();
    let t0 = now_utc();
    let script = s.script_user("Ada", t0)?;
    let token = NewTechTokenRecord {
        token_hash: "use-hash",
        user_id: script.id,
        expires_at: None,
    };
    s.create_tech_token(&token, t0)?;
    let last_used =
        || -> StoreResult<Option<OffsetDateTime>> { Ok(s.list_tech_tokens(None)?[0].last_used_at) };
    assert!(s.tech_token_user("use-hash", t0)?.is_some());
    assert_eq!(last_used()?, Some(truncate_ms(t0)));
    // Within the minute: the token works, nothing is written.
    assert!(
        s.tech_token_user("use-hash", t0 + Duration::seconds(30))?
            .is_some()
    );
    assert_eq!(last_used()?, Some(truncate_ms(t0)));
    // A minute on: the use is recorded again.
    let later = t0 + Duration::seconds(61);
    assert!(s.tech_token_user("use-hash", later)?.is_some());
    assert_eq!(last_used()?, Some(truncate_ms(later)));
    Ok(())
}

#[test]
fn repeated_me_toos_and_deflections_of_a_device_are_folded_into_its_first() -> R {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("db.sqlite");
    let id = |n: u8| format!("00000000-0000-0000-0000-{n:012}");
    let (d1, d2) = (id(1), id(2));
    {
        let conn = rusqlite::Connection::open(&path)?;
        for (i, sql) in MIGRATIONS[..4].iter().enumerate() {
            conn.execute_batch(sql)?;
            conn.pragma_update(None, "user_version", (i + 1) as u32)?;
        }
        conn.execute_batch(&format!(
            "INSERT INTO devices (id, secret_hash, hostname, enrolled_at) VALUES \
                 ('{d1}', 'h1', 'a', 0), ('{d2}', 'h2', 'b', 0);
             INSERT INTO announcements (id, kind, title, message, starts_at, created_at) \
                 VALUES (7, 'outage', 'Wi-Fi', 'down', 0, 0);
             INSERT INTO me_too (client_id, announcement_id, device_id, room, created_at, \
                 received_at) VALUES \
                 ('m3', 7, '{d1}', 'late', 'x', 300), ('m1', 7, '{d1}', 'first', 'x', 100), \
                 ('m2', 7, '{d1}', 'again', 'x', 200), ('m4', 7, '{d2}', 'other', 'x', 150);
             INSERT INTO kb_deflections (client_id, slug, device_id, created_at, received_at) \
                 VALUES ('{k1}', 'printer', '{d1}', 'x', 100), \
                 ('{k2}', 'printer', '{d1}', 'x', 100), ('{k3}', 'printer', '{d2}', 'x', 100), \
                 ('{k4}', 'wifi', '{d1}', 'x', 100);",
            k1 = id(11),
            k2 = id(12),
            k3 = id(13),
            k4 = id(14),
        ))?;
    }
    let s = SqlStore::open(&path)?;
    let kept = s.me_too_by_room(7)?;
    let rooms: Vec<(Option<&str>, i64)> = kept
        .iter()
        .map(|r| (r.room.as_deref(), r.reports))
        .collect();
    assert_eq!(rooms, vec![(Some("first"), 1), (Some("other"), 1)]);
    let mut deflections: Vec<String> = s
        .deflections()?
        .into_iter()
        .map(|d| d.client_id.to_string())
        .collect();
    deflections.sort();
    assert_eq!(deflections, vec![id(11), id(13), id(14)]);
    Ok(())
}

#[test]
fn quota_counts_are_per_device_and_day_and_old_days_are_forgotten() -> R {
    let (s, a, b) = two_devices();
    let limit = |max: u64| move |_: QuotaKind, total: u64| total <= max;
    let at_most_two = limit(2);
    let day = |d: i64| Quota {
        day: d,
        admit: &at_most_two,
    };
    for _ in 0..2 {
        s.insert_ticket_within(&ticket(a, "a"), &day(100))?;
    }
    let refused = s.insert_ticket_within(&ticket(a, "a"), &day(100));
    assert!(matches!(
        refused,
        Err(StoreError::OverQuota(QuotaKind::Tickets))
    ));
    assert_eq!(
        s.list_tickets(None)?.len(),
        2,
        "nothing of the refused one is kept"
    );
    s.insert_ticket_within(&ticket(b, "b"), &day(100))?;
    s.insert_ticket_within(&ticket(a, "a"), &day(101))?;
    // Days before 101 are forgotten: day 100 counts from zero again.
    assert_eq!(s.forget_usage_before(101)?, 2);
    s.insert_ticket_within(&ticket(a, "a"), &day(100))?;
    Ok(())
}

#[test]
fn an_admin_taking_over_a_script_user_does_not_arm_its_tokens() -> R {
    let s = store();
    let now = now_utc();
    for (name, role, works) in [("Ada", Role::Technician, true), ("Bo", Role::Admin, false)] {
        let script = s.script_user(name, now)?;
        let hash = format!("{name}-hash");
        s.create_tech_token(
            &NewTechTokenRecord {
                token_hash: &hash,
                user_id: script.id,
                expires_at: None,
            },
            now,
        )?;
        let user = NewUser {
            email: format!("{name}@example.org"),
            role,
            password_hash: "h".into(),
            technician_name: name.into(),
        };
        let made = s.create_user(&user, now)?;
        assert_eq!(
            made.id, script.id,
            "{name}: the script user became the console user"
        );
        let holder = s.tech_token_user(&hash, now)?;
        assert_eq!(holder.is_some(), works, "{name} as {role:?}");
    }
    Ok(())
}
