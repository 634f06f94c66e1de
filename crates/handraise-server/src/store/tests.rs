use super::*;
use handraise_wire::{AnnouncementKind, Category, Scope, TicketStatus, Urgency};
use time::Duration;
use uuid::Uuid;

type R = Result<(), Box<dyn std::error::Error>>;

/// A fresh store: on PostgreSQL when `HANDRAISE_TEST_POSTGRES` names a test
/// server, else in memory on SQLite.
pub(crate) fn store() -> SqlStore {
    match handraise_testkit::postgres::test_database().expect("a test database") {
        Some(url) => SqlStore::open_postgres(&url).expect("the PostgreSQL store opens"),
        None => SqlStore::open_in_memory().expect("in-memory store"),
    }
}

/// Enrolls a device (of `school`) with a token of its own.
pub(crate) fn enroll(s: &dyn Store, school: Option<&str>) -> Uuid {
    let now = now_utc();
    // Each call adds its own token so tests can enroll many devices.
    let token = Uuid::new_v4().to_string();
    s.create_enroll_token(&NewEnrollToken::new(&token, "test"), now)
        .expect("token");
    let device = NewDevice {
        school: school.map(Into::into),
        ..NewDevice::new(
            Uuid::now_v7(),
            format!("hash-{}", Uuid::now_v7()),
            "room-101".into(),
            now,
        )
    };
    let id = device.id;
    enroll_as(s, &token, device, None).expect("enroll");
    id
}

/// Stores `device` with the token `token` as the store's caller decides: accepted as
/// it is (following `previous`), or refused when the token is unknown.
pub(crate) fn enroll_as(
    s: &dyn Store,
    token: &str,
    device: NewDevice,
    previous: Option<Uuid>,
) -> Result<(), handraise_wire::EnrollRefusal> {
    s.enroll_device(token, device.machine_id.as_deref(), &mut |ctx| {
        ctx.token
            .as_ref()
            .ok_or(handraise_wire::EnrollRefusal::InvalidToken)?;
        Ok(NewEnrollment {
            device: device.clone(),
            previous_device: previous,
        })
    })
    .expect("the store answers")
}

/// A fresh store with two devices enrolled (of no school).
fn two_devices() -> (SqlStore, Uuid, Uuid) {
    let s = store();
    let a = enroll(&s, None);
    let b = enroll(&s, None);
    (s, a, b)
}

/// A new ticket of `device`.
pub(crate) fn ticket(device: Uuid, summary: &str) -> NewTicketRecord {
    NewTicketRecord {
        client_id: Uuid::now_v7(),
        device_id: device,
        status: TicketStatus::New,
        created_at: now_utc(),
        received_at: now_utc(),
        category: Category::Printer,
        urgency: Urgency::Whenever,
        scope: Scope::Me,
        summary: summary.into(),
        details: None,
        room: None,
        reporter_json: None,
        snapshot_json: None,
        self_help_json: None,
        offline_at_submit: false,
        announcement_id: None,
    }
}

#[test]
fn migrations_are_idempotent_on_a_file() -> R {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("db.sqlite");
    let first = SqlStore::open(&path)?;
    assert_eq!(first.schema_version()? as usize, MIGRATIONS.len());
    assert_eq!(first.migrate()?, 0);
    drop(first);
    let again = SqlStore::open(&path)?;
    assert_eq!(again.schema_version()? as usize, MIGRATIONS.len());
    assert_eq!(again.migrate()?, 0);
    Ok(())
}

#[test]
fn a_refused_enrollment_stores_nothing() -> R {
    let s = store();
    let refused = enroll_as(
        &s,
        "nope",
        NewDevice::new(Uuid::now_v7(), "h".into(), "x".into(), now_utc()),
        None,
    );
    assert_eq!(refused, Err(handraise_wire::EnrollRefusal::InvalidToken));
    assert!(s.list_devices()?.is_empty());
    Ok(())
}

#[test]
fn enrollments_are_counted_per_token_and_a_machine_s_devices_are_found() -> R {
    let s = store();
    let now = now_utc();
    let token = NewEnrollToken {
        school: Some("Lincoln"),
        expires_at: Some(now + Duration::days(3)),
        max_uses: Some(5),
        ..NewEnrollToken::new("hash-a", "Lincoln rollout")
    };
    let id = s.create_enroll_token(&token, now)?;
    let device = |machine: Option<&str>| NewDevice {
        machine_id: machine.map(Into::into),
        ..NewDevice::new(
            Uuid::now_v7(),
            Uuid::now_v7().to_string(),
            "lab".into(),
            now,
        )
    };
    let first = device(Some("m1"));
    let first_id = first.id;
    enroll_as(&s, "hash-a", first, None)?;
    // What the caller sees inside the transaction: the token with its uses, the
    // machine's earlier devices.
    let mut seen = None;
    let second = device(Some("m1"));
    let second_id = second.id;
    s.enroll_device("hash-a", Some("m1"), &mut |ctx| {
        seen = Some(ctx.clone());
        Ok(NewEnrollment {
            device: second.clone(),
            previous_device: Some(first_id),
        })
    })??;
    let seen = seen.ok_or("not asked")?;
    let t = seen.token.ok_or("no token")?;
    assert_eq!((t.id, t.uses, t.max_uses), (id, 1, Some(5)));
    assert_eq!(t.school.as_deref(), Some("Lincoln"));
    assert_eq!(t.expires_at, Some(now + Duration::days(3)));
    assert_eq!(seen.same_machine.len(), 1);
    assert_eq!(seen.same_machine[0].id, first_id);
    assert_eq!(seen.same_machine[0].machine_id.as_deref(), Some("m1"));
    enroll_as(&s, "hash-a", device(None), None)?;
    let listed = s.list_enroll_tokens()?;
    assert_eq!((listed[0].uses, listed[0].last_used_at), (3, Some(now)));
    assert_eq!(s.enrollment_times()?, vec![(id, now); 3]);

    // Re-enrollments are listed; allowing marks only revoked devices of the machine.
    let again = s.list_reenrollments(10)?;
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].previous_device, again[0].device),
        (first_id, second_id)
    );
    assert_eq!(again[0].token_label.as_deref(), Some("Lincoln rollout"));
    assert_eq!(s.allow_reenrollment("m1", now)?, 0, "nothing revoked yet");
    s.revoke_device(first_id, now)?;
    assert_eq!(s.allow_reenrollment("m1", now)?, 1);
    assert_eq!(s.allow_reenrollment("m1", now)?, 0, "already allowed");
    let first = s.device(first_id)?.ok_or("gone")?;
    assert!(first.revoked && first.reenroll_allowed);
    Ok(())
}

#[test]
fn enrollment_tokens_from_before_keep_their_id_and_never_expire() -> R {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("db.sqlite");
    {
        let conn = rusqlite::Connection::open(&path)?;
        // Every migration before the one that gave enrollment tokens their limits.
        let ours = MIGRATIONS
            .iter()
            .position(|m| m.contains("CREATE TABLE enroll_tokens_new"))
            .ok_or("no enrollment-token migration")?;
        for (i, sql) in MIGRATIONS[..ours].iter().enumerate() {
            conn.execute_batch(sql)?;
            conn.pragma_update(None, "user_version", (i + 1) as u32)?;
        }
        conn.execute_batch(
            "INSERT INTO enroll_tokens (token_hash, label, created_at, revoked_at) VALUES \
                 ('h1', 'old', 1000, NULL), ('h2', 'gone', 1000, 2000);
             INSERT INTO devices (id, secret_hash, hostname, enrolled_at) \
                 VALUES ('0190a5a0-0000-7000-8000-000000000001', 's', 'old-pc', 1000);",
        )?;
    }
    let s = SqlStore::open(&path)?;
    let tokens = s.list_enroll_tokens()?;
    let summary: Vec<_> = tokens
        .iter()
        .map(|t| {
            (
                t.id,
                t.label.as_str(),
                t.revoked,
                t.expires_at,
                t.max_uses,
                t.uses,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (2, "gone", true, None, None, 0),
            (1, "old", false, None, None, 0)
        ]
    );
    let device = &s.list_devices()?[0].device;
    assert_eq!(
        (device.machine_id.as_deref(), device.reenroll_allowed),
        (None, false)
    );
    enroll_as(
        &s,
        "h1",
        NewDevice::new(Uuid::now_v7(), "s2".into(), "new-pc".into(), now_utc()),
        None,
    )?;
    assert_eq!(s.list_enroll_tokens()?[1].uses, 1);
    Ok(())
}

#[test]
fn insert_is_idempotent_per_device_and_conflicts_across_devices() -> R {
    let (s, a, b) = two_devices();
    let t = ticket(a, "Printer jammed");
    let first = s.insert_ticket(&t)?;
    assert!(first.is_created());
    let first = first.into_inner();

    // A repeat with different content returns the stored ticket unchanged.
    let mut repeat = t.clone();
    repeat.summary = "changed".into();
    repeat.received_at = now_utc() + Duration::seconds(5);
    let again = s.insert_ticket(&repeat)?;
    assert!(!again.is_created());
    assert_eq!(again.into_inner(), first);
    let stored = s.device_ticket(a, t.client_id)?.ok_or("missing")?;
    assert_eq!(stored.summary, "Printer jammed");
    assert_eq!(stored.received_at, first.received_at);

    // Another device with the same client id: conflict; and it cannot read it.
    let mut other = t.clone();
    other.device_id = b;
    assert!(matches!(
        s.insert_ticket(&other),
        Err(StoreError::Conflict(_))
    ));
    assert!(s.device_ticket(b, t.client_id)?.is_none());

    // Numbers keep increasing.
    let second = s.insert_ticket(&ticket(a, "Projector"))?.into_inner();
    assert_eq!(second.number, first.number + 1);
    Ok(())
}

#[test]
fn feed_is_ordered_per_device_and_skips_notes() -> R {
    let (s, a, b) = two_devices();
    let ta = s.insert_ticket(&ticket(a, "A"))?.into_inner();
    let tb = s.insert_ticket(&ticket(b, "B"))?.into_inner();
    let now = now_utc();

    // What the service decides for: assigning, a status change, a note, a
    // reply, resolving; the store writes each as given.
    let status = |number, status, assignee: Option<&str>| TicketChange {
        status: Some(status),
        feed: vec![FeedWrite::Status {
            status,
            assignee: assignee.map(Into::into),
        }],
        ..TicketChange::of(number)
    };
    let message = |number, kind, body: &str| {
        let id = Uuid::now_v7();
        TicketChange {
            messages: vec![NewTechMessage {
                id,
                kind,
                author: "Sam".into(),
                body: body.into(),
            }],
            feed: if kind == MessageKind::Technician {
                vec![FeedWrite::Reply { message_id: id }]
            } else {
                Vec::new()
            },
            ..TicketChange::of(number)
        }
    };
    let mut changes = vec![
        TicketChange {
            assignee: Some(Some("Sam".into())),
            ..status(ta.number, TicketStatus::Assigned, Some("Sam"))
        },
        status(tb.number, TicketStatus::InProgress, None),
        message(ta.number, MessageKind::Note, "internal"),
        message(ta.number, MessageKind::Technician, "on my way"),
        status(ta.number, TicketStatus::Resolved, Some("Sam")),
        // An empty change writes nothing.
        TicketChange::of(ta.number),
    ];
    for change in changes.drain(..) {
        let number = change.number;
        let mut once = Some(change);
        let out = s.change_tickets(&[number], now, &mut |_| {
            Ok(once.take().into_iter().collect())
        })?;
        assert_eq!(out.len(), 1);
    }
    let after = s.ticket_detail(ta.number)?.ok_or("ta")?;
    assert_eq!(after.ticket.assignee.as_deref(), Some("Sam"));
    assert_eq!(after.ticket.status, TicketStatus::Resolved);

    let feed = s.updates(a, 0, 100)?;
    assert_eq!(feed.len(), 3);
    assert!(feed.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(feed.iter().all(|e| e.ticket_client_id == ta.client_id));
    assert_eq!(
        feed[0].kind,
        FeedKind::Status {
            status: TicketStatus::Assigned,
            assignee: Some("Sam".into())
        }
    );
    assert!(matches!(&feed[1].kind, FeedKind::Reply(m) if m.body == "on my way"));
    assert_eq!(
        feed[2].kind,
        FeedKind::Status {
            status: TicketStatus::Resolved,
            assignee: Some("Sam".into())
        }
    );

    // Paging by cursor.
    let rest = s.updates(a, feed[0].seq, 1)?;
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].seq, feed[1].seq);

    // Device b sees only its own status change.
    let fb = s.updates(b, 0, 100)?;
    assert_eq!(fb.len(), 1);
    assert_eq!(fb[0].ticket_number, tb.number);

    // Notes stay out of the device's view of messages.
    assert_eq!(s.messages(ta.number, false)?.len(), 1);
    assert_eq!(s.messages(ta.number, true)?.len(), 2);
    Ok(())
}

#[test]
fn teacher_messages_are_idempotent_and_scoped_to_the_device() -> R {
    let (s, a, b) = two_devices();
    let t = s.insert_ticket(&ticket(a, "A"))?.into_inner();
    let m = NewTeacherMessage {
        id: Uuid::now_v7(),
        body: "still broken".into(),
        created_at: now_utc(),
        received_at: now_utc(),
    };
    assert!(s.insert_teacher_message(a, t.client_id, &m)?.is_created());
    assert!(!s.insert_teacher_message(a, t.client_id, &m)?.is_created());
    assert!(matches!(
        s.insert_teacher_message(b, t.client_id, &m),
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.messages(t.number, false)?.len(), 1);
    Ok(())
}

#[test]
fn kb_versions_include_unpublished_changes() -> R {
    let s = store();
    let now = now_utc();
    let input = |slug: &str| ArticleRecordInput {
        slug: slug.into(),
        title: "Title".into(),
        body: "1. Do this".into(),
        categories: vec![Category::Wifi],
        keywords: vec!["wifi".into()],
        published: true,
    };
    let a = s.save_article(&input("a"), false, now)?;
    let b = s.save_article(&input("b"), false, now)?;
    assert!(matches!(
        s.save_article(&input("a"), false, now),
        Err(StoreError::Conflict(_))
    ));
    assert!(b.version > a.version);
    let (v, all) = s.kb_changes(0)?;
    assert_eq!((v, all.len()), (b.version, 2));

    let un = s.unpublish_article("a", now)?;
    assert!(!un.published);
    let (v2, changed) = s.kb_changes(v)?;
    assert_eq!(v2, un.version);
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].slug, "a");
    assert!(!changed[0].published);
    assert!(matches!(
        s.unpublish_article("zzz", now),
        Err(StoreError::NotFound)
    ));
    Ok(())
}

#[test]
fn announcements_are_scoped_and_time_bounded() -> R {
    let s = store();
    let now = now_utc();
    let mk = |title: &str,
              school: Option<&str>,
              building: Option<&str>,
              start: i64,
              end: Option<i64>| {
        NewAnnouncement {
            kind: AnnouncementKind::Outage,
            title: title.into(),
            message: "m".into(),
            school: school.map(Into::into),
            building: building.map(Into::into),
            category: None,
            starts_at: now + Duration::minutes(start),
            ends_at: end.map(|e| now + Duration::minutes(e)),
        }
    };
    s.create_announcement(&mk("district", None, None, -5, None), now)?;
    s.create_announcement(&mk("lincoln", Some("Lincoln"), None, -5, Some(60)), now)?;
    s.create_announcement(&mk("lincoln-b", Some("Lincoln"), Some("B"), -5, None), now)?;
    s.create_announcement(&mk("other", Some("Other"), None, -5, None), now)?;
    s.create_announcement(&mk("future", None, None, 10, None), now)?;
    let ended = s.create_announcement(&mk("ended", None, None, -10, None), now)?;
    s.end_announcement(ended.id, now, &mut |_| Ok(Vec::new()))?;

    let titles = |school, building| -> Result<Vec<String>, StoreError> {
        let mut t: Vec<String> = s
            .active_announcements(now, school, building)?
            .into_iter()
            .map(|a| a.title)
            .collect();
        t.sort();
        Ok(t)
    };
    assert_eq!(titles(None, None)?, ["district"]);
    assert_eq!(titles(Some("Lincoln"), Some("A"))?, ["district", "lincoln"]);
    assert_eq!(
        titles(Some("Lincoln"), Some("B"))?,
        ["district", "lincoln", "lincoln-b"]
    );
    assert_eq!(titles(Some("Other"), None)?, ["district", "other"]);
    Ok(())
}

#[test]
fn backup_copies_a_consistent_database() -> R {
    let dir = tempfile::tempdir()?;
    let s = SqlStore::open(&dir.path().join("db.sqlite"))?;
    let a = enroll(&s, None);
    s.insert_ticket(&ticket(a, "kept"))?;
    let out = dir.path().join("copy.db");
    s.backup(&out)?;
    // Twice: an existing target is replaced.
    s.backup(&out)?;
    let copy = SqlStore::open(&out)?;
    let all = copy.list_tickets(None)?;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].ticket.summary, "kept");
    Ok(())
}

/// The database and its backups are the owner's alone.
#[cfg(unix)]
#[test]
fn database_and_backups_are_owner_only() -> R {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("db.sqlite");
    let s = SqlStore::open(&db)?;
    let out = dir.path().join("copy.db");
    s.backup(&out)?;
    let mode = |p: &std::path::Path| -> std::io::Result<u32> {
        Ok(std::fs::metadata(p)?.permissions().mode() & 0o777)
    };
    assert_eq!(mode(&db)?, 0o600);
    assert_eq!(mode(&dir.path().join("db.sqlite-wal"))?, 0o600);
    assert_eq!(mode(&out)?, 0o600);
    // An existing database of default mode is narrowed when opened.
    drop(s);
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644))?;
    drop(SqlStore::open(&db)?);
    assert_eq!(mode(&db)?, 0o600);
    Ok(())
}

/// A purged screenshot leaves no trace in the database's files.
#[test]
fn purged_screenshots_do_not_linger_in_free_pages() -> R {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("db.sqlite");
    let s = SqlStore::open(&db)?;
    let a = enroll(&s, None);
    let mut t = ticket(a, "finished");
    t.status = TicketStatus::Resolved;
    s.insert_ticket(&t)?;
    let marker = b"PURGE-ME-SCREEN-CONTENT";
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    for _ in 0..2000 {
        bytes.extend_from_slice(marker);
    }
    let shot = NewScreenshot {
        ticket_client_id: t.client_id,
        content_type: "image/png",
        bytes: &bytes,
        uploaded_at: now_utc(),
    };
    s.put_screenshot(a, &shot)?;
    let report = s.purge_media(now_utc() + Duration::days(1), now_utc())?;
    assert_eq!(report.screenshots, 1);
    for name in ["db.sqlite", "db.sqlite-wal"] {
        let path = dir.path().join(name);
        let content = std::fs::read(&path).unwrap_or_default();
        assert!(
            !content.windows(marker.len()).any(|w| w == marker),
            "{name} still holds the purged screenshot"
        );
    }
    Ok(())
}

#[test]
#[ignore = "benchmark"]
fn store_insert_throughput() -> R {
    let dir = tempfile::tempdir()?;
    let s = SqlStore::open(&dir.path().join("db.sqlite"))?;
    let a = enroll(&s, None);
    let t0 = std::time::Instant::now();
    for i in 0..5000 {
        s.insert_ticket(&ticket(a, &format!("t{i}")))?;
    }
    println!(
        "store: {:.0} inserts/s",
        5000.0 / t0.elapsed().as_secs_f64()
    );
    Ok(())
}

mod admin;
mod postgres;
mod signin;
