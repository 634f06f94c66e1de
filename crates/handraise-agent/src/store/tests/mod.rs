use super::*;
use crate::sync::plan::BackoffState;
use handraise_wire::{
    Announcement, AnnouncementKind, AnnouncementList, Article, Author, Category, DeviceSnapshot,
    KbChanges, NewMessage, NewTicket, Reporter, TicketMessage, TicketReceipt, TicketStatus, Update,
    UpdateKind, UpdatesPage, Urgency,
};
use time::macros::datetime;
use uuid::Uuid;

const T0: OffsetDateTime = datetime!(2025-03-03 08:30 UTC);

fn ticket(n: u128, secs: u64) -> NewTicket {
    NewTicket {
        client_id: Uuid::from_u128(n),
        created_at: T0 + Duration::from_secs(secs),
        category: Category::Printer,
        summary: format!("ticket {n}"),
        details: Some("the printer in room 4 jams".into()),
        urgency: Some(Urgency::Soon),
        scope: None,
        room: Some("4".into()),
        reporter: Some(Reporter {
            os_user: Some("msmith".into()),
            ..Default::default()
        }),
        snapshot: Some(DeviceSnapshot {
            schema_version: 1,
            hostname: Some("lab-04".into()),
            ..Default::default()
        }),
        self_help: vec![],
        offline_at_submit: Some(true),
        announcement_id: None,
    }
}

fn count(s: &Store, sql: &str) -> i64 {
    s.conn.query_row(sql, [], |r| r.get(0)).expect("count")
}

fn receipt(n: u128, number: i64) -> TicketReceipt {
    TicketReceipt {
        client_id: Uuid::from_u128(n),
        number,
        status: TicketStatus::New,
        received_at: T0,
    }
}

#[test]
fn report_writes_one_row_with_full_payload_and_screenshot() {
    let s = Store::open_in_memory().expect("open");
    let t = ticket(1, 0);
    s.insert_ticket(&t, Some((b"\x89PNG\r\n\x1a\nxx", "image/png")), T0)
        .expect("insert");
    assert_eq!(count(&s, "SELECT COUNT(*) FROM tickets"), 1);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM screenshots"), 1);
    // The whole request body is stored, snapshot included.
    assert_eq!(s.ticket_payload(t.client_id).expect("payload"), t);
    // Saving the same id again changes nothing.
    s.insert_ticket(&t, None, T0).expect("repeat");
    assert_eq!(count(&s, "SELECT COUNT(*) FROM tickets"), 1);
    let views = s.tickets().expect("views");
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].state, ItemState::Queued);
    assert_eq!(views[0].number, None);
    assert_eq!(
        views[0].screenshot.as_ref().map(|x| (x.state, x.bytes)),
        Some((ItemState::Queued, 10))
    );
    assert_eq!(
        s.queue_counts().expect("counts"),
        QueueCounts {
            tickets: 1,
            screenshots: 1,
            messages: 0,
            events: 0
        }
    );
}

#[test]
fn states_move_and_nothing_is_deleted() {
    let s = Store::open_in_memory().expect("open");
    for (n, secs) in [(1, 0), (2, 10), (3, 20)] {
        s.insert_ticket(&ticket(n, secs), None, T0).expect("insert");
    }
    let msg = NewMessage {
        client_id: Uuid::from_u128(100),
        created_at: T0,
        body: "any news?".into(),
    };
    s.insert_message(Uuid::from_u128(2), &msg).expect("message");
    assert!(matches!(
        s.insert_message(Uuid::from_u128(99), &msg),
        Err(StoreError::UnknownTicket(_))
    ));
    s.mark_ticket_sent(&receipt(1, 1001), T0).expect("sent");
    s.mark_ticket_rejected(Uuid::from_u128(2), "summary too long", T0)
        .expect("rejected");
    let views = s.tickets().expect("views");
    assert_eq!(views.len(), 3, "nothing deleted");
    assert_eq!(views[0].state, ItemState::Sent);
    assert_eq!(views[0].number, Some(1001));
    assert_eq!(views[0].status, Some(TicketStatus::New));
    assert_eq!(views[1].state, ItemState::Rejected);
    assert_eq!(views[1].reject_reason.as_deref(), Some("summary too long"));
    // Its queued message cannot go without it; kept, rejected.
    assert_eq!(views[1].messages.len(), 1);
    assert_eq!(views[1].messages[0].state, ItemState::Rejected);
    assert_eq!(views[2].state, ItemState::Queued);
    let state = s.sync_state(true).expect("state");
    assert_eq!(
        state
            .tickets
            .iter()
            .map(|t| t.client_id)
            .collect::<Vec<_>>(),
        vec![Uuid::from_u128(3)]
    );
    assert!(state.messages.is_empty());
    // A rejected ticket is not un-rejected by a late "sent" of another ticket.
    s.mark_ticket_rejected(Uuid::from_u128(1), "x", T0)
        .expect("noop");
    assert_eq!(s.tickets().expect("views")[0].state, ItemState::Sent);
}

#[test]
fn sync_state_orders_and_flags_ticket_sent() {
    let s = Store::open_in_memory().expect("open");
    s.insert_ticket(&ticket(2, 5), Some((b"\xFF\xD8\xFFx", "image/jpeg")), T0)
        .expect("insert");
    s.insert_ticket(&ticket(1, 10), None, T0).expect("insert");
    s.mark_ticket_sent(&receipt(2, 7), T0).expect("sent");
    s.insert_message(
        Uuid::from_u128(2),
        &NewMessage {
            client_id: Uuid::from_u128(50),
            created_at: T0,
            body: "hi".into(),
        },
    )
    .expect("msg");
    let st = s.sync_state(true).expect("state");
    assert_eq!(st.tickets.len(), 1);
    assert_eq!(st.tickets[0].client_id, Uuid::from_u128(1));
    assert_eq!(st.screenshots.len(), 1);
    assert!(st.screenshots[0].ticket_sent);
    assert_eq!(st.messages.len(), 1);
    assert!(st.messages[0].ticket_sent);
    s.mark_screenshot(Uuid::from_u128(2), ItemState::Dropped, Some("too large"))
        .expect("drop");
    let v = s.tickets().expect("views");
    let t2 = v
        .iter()
        .find(|t| t.client_id == Uuid::from_u128(2))
        .expect("t2");
    assert_eq!(
        t2.screenshot.as_ref().map(|x| x.state),
        Some(ItemState::Dropped)
    );
    assert!(t2.unread, "teacher is told about the dropped screenshot");
    assert_eq!(t2.state, ItemState::Sent, "ticket stays sent");
}

#[test]
fn a_screenshot_leaves_this_computer_once_the_server_has_it() {
    let s = Store::open_in_memory().expect("open");
    let png = b"\x89PNG\r\n\x1a\n-an-image".as_slice();
    for n in [1, 2] {
        s.insert_ticket(&ticket(n, 5), Some((png, "image/png")), T0)
            .expect("insert");
    }
    s.mark_screenshot(Uuid::from_u128(1), ItemState::Sent, None)
        .expect("sent");
    s.mark_ticket_rejected(Uuid::from_u128(2), "refused", T0)
        .expect("rejected");
    for n in [1, 2] {
        let (bytes, _) = s.screenshot(Uuid::from_u128(n)).expect("row");
        assert!(bytes.is_empty(), "ticket {n}: the image is gone");
    }
    let views = s.tickets().expect("views");
    for v in &views {
        let shot = v.screenshot.as_ref().expect("still shown");
        assert_eq!(shot.bytes, png.len() as u64, "its size is kept");
    }
}

fn page() -> UpdatesPage {
    let reply = TicketMessage {
        id: Uuid::from_u128(900),
        author: Author::Technician,
        author_name: Some("Sam".into()),
        body: "On my way".into(),
        at: T0 + Duration::from_secs(60),
    };
    UpdatesPage {
        generation: None,
        updates: vec![
            Update {
                seq: 5,
                ticket_client_id: Uuid::from_u128(1),
                ticket_number: 1001,
                at: T0,
                kind: UpdateKind::Status {
                    status: TicketStatus::Assigned,
                    assignee: Some("Sam".into()),
                },
            },
            Update {
                seq: 6,
                ticket_client_id: Uuid::from_u128(1),
                ticket_number: 1001,
                at: T0,
                kind: UpdateKind::Reply { message: reply },
            },
            Update {
                seq: 7,
                ticket_client_id: Uuid::from_u128(1),
                ticket_number: 1001,
                at: T0,
                kind: UpdateKind::Unknown,
            },
            Update {
                seq: 8,
                ticket_client_id: Uuid::from_u128(77),
                ticket_number: 1077,
                at: T0,
                kind: UpdateKind::Status {
                    status: TicketStatus::Resolved,
                    assignee: None,
                },
            },
        ],
        cursor: 8,
        more: false,
    }
}

#[test]
fn applying_updates_is_idempotent() {
    let s = Store::open_in_memory().expect("open");
    // Sent before a crash, never marked sent: the feed proves it arrived.
    s.insert_ticket(&ticket(1, 0), None, T0).expect("insert");
    let changed = s.apply_updates(&page(), T0).expect("apply");
    assert_eq!(changed, 2);
    let first = s.tickets().expect("views");
    assert_eq!(s.cursor().expect("cursor"), 8);
    let t = &first[0];
    assert_eq!(t.state, ItemState::Sent);
    assert_eq!(t.number, Some(1001));
    assert_eq!(t.status, Some(TicketStatus::Assigned));
    assert_eq!(t.assignee.as_deref(), Some("Sam"));
    assert!(t.unread);
    assert_eq!(t.messages.len(), 1);
    assert_eq!(t.messages[0].author, Author::Technician);
    assert_eq!(t.messages[0].state, ItemState::Received);
    assert_eq!(t.messages[0].body, "On my way");

    s.mark_read(t.client_id).expect("read");
    let again = s.apply_updates(&page(), T0).expect("apply twice");
    assert_eq!(again, 0, "nothing new the second time");
    let second = s.tickets().expect("views");
    let mut expected = first.clone();
    expected[0].unread = false;
    assert_eq!(second, expected);
    assert_eq!(s.cursor().expect("cursor"), 8);
    // An older page never moves the cursor back.
    let mut old = page();
    old.cursor = 3;
    s.apply_updates(&old, T0).expect("old page");
    assert_eq!(s.cursor().expect("cursor"), 8);
}

fn article(slug: &str, title: &str, body: &str, cats: &[Category], kw: &[&str]) -> Article {
    Article {
        slug: slug.into(),
        title: title.into(),
        body: body.into(),
        categories: cats.to_vec(),
        keywords: kw.iter().map(|k| (*k).to_owned()).collect(),
        published: true,
        version: 1,
    }
}

#[test]
fn kb_search_ranks_and_boosts_category() {
    let s = Store::open_in_memory().expect("open");
    let mut articles = vec![
        article(
            "projector-no-signal",
            "Projector says No Signal",
            "Check the HDMI cable and press the input button on the remote.",
            &[Category::Display],
            &["hdmi", "beamer"],
        ),
        article(
            "printer-jam",
            "Printer paper jam",
            "Open the front door and remove the paper gently.",
            &[Category::Printer],
            &["jam"],
        ),
        article(
            "wifi-reconnect",
            "Reconnect to the Wi-Fi",
            "Turn Wi-Fi off and on. If the projector also fails, restart.",
            &[Category::Wifi],
            &["wireless", "internet"],
        ),
        article(
            "sound-hdmi",
            "No sound over HDMI",
            "Choose the HDMI output as the sound device.",
            &[Category::Sound],
            &["speaker"],
        ),
    ];
    for i in 0..300 {
        articles.push(article(
            &format!("filler-{i}"),
            &format!("Filler article {i}"),
            "Lorem ipsum classroom device guidance text that mentions nothing relevant.",
            &[Category::Other],
            &["misc"],
        ));
    }
    s.apply_kb(
        &KbChanges {
            version: 5,
            articles,
        },
        T0,
    )
    .expect("kb");
    assert_eq!(s.kb_version().expect("version"), 5);

    let start = std::time::Instant::now();
    let hits = s.search_kb("projector", None, 10).expect("search");
    let took = start.elapsed();
    assert!(took < Duration::from_millis(50), "{took:?}");
    // Title match ranks above a body mention.
    assert_eq!(hits[0].slug, "projector-no-signal");
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[1].slug, "wifi-reconnect");

    // Prefix match and keywords.
    let hits = s.search_kb("beam", None, 10).expect("search");
    assert_eq!(
        hits.first().map(|h| h.slug.as_str()),
        Some("projector-no-signal")
    );

    // "hdmi" matches two; the category decides.
    let plain = s.search_kb("hdmi", None, 10).expect("search");
    assert_eq!(plain.len(), 2);
    let sound = s
        .search_kb("hdmi", Some(Category::Sound), 10)
        .expect("search");
    assert_eq!(sound[0].slug, "sound-hdmi");
    let display = s
        .search_kb("hdmi", Some(Category::Display), 10)
        .expect("search");
    assert_eq!(display[0].slug, "projector-no-signal");

    // Operators in user text are harmless.
    assert!(s.search_kb("\"AND OR * (", None, 5).is_ok());
    assert!(s.search_kb("", None, 5).expect("empty").is_empty());
    let listed = s.search_kb("", Some(Category::Printer), 5).expect("list");
    assert_eq!(listed.len(), 1);

    // Unpublishing drops the article from the cache and the index.
    let mut gone = article("printer-jam", "x", "y", &[], &[]);
    gone.published = false;
    s.apply_kb(
        &KbChanges {
            version: 6,
            articles: vec![gone],
        },
        T0,
    )
    .expect("unpublish");
    assert!(s.search_kb("jam", None, 5).expect("search").is_empty());
    assert!(s.kb_article("printer-jam").expect("get").is_none());
    assert!(s.kb_article("sound-hdmi").expect("get").is_some());
}

#[test]
fn corrupt_database_is_moved_aside_and_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("agent.db");
    std::fs::write(
        &path,
        b"this is not a database at all, just garbage bytes".repeat(100),
    )
    .expect("garbage");
    let (store, aside) = Store::open(&path, T0).expect("recovers");
    let aside = aside.expect("moved aside");
    assert!(aside.exists());
    assert!(
        aside
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("agent.db.corrupt-"))
    );
    store.insert_ticket(&ticket(1, 0), None, T0).expect("works");
    drop(store);
    // Reopening the fresh one is clean and keeps the ticket.
    let (store, aside2) = Store::open(&path, T0).expect("reopen");
    assert!(aside2.is_none());
    assert_eq!(store.tickets().expect("views").len(), 1);
}

fn announcement(id: i64, ends_at: Option<OffsetDateTime>) -> Announcement {
    Announcement {
        id,
        kind: AnnouncementKind::Outage,
        title: "Wi-Fi down".into(),
        message: "We are on it".into(),
        school: None,
        building: None,
        category: Some(Category::Wifi),
        starts_at: T0,
        ends_at,
    }
}

#[test]
fn meta_backoff_pause_contact_and_announcements() {
    let s = Store::open_in_memory().expect("open");
    assert_eq!(s.paused().expect("p"), None);
    s.set_paused(Some("revoked")).expect("pause");
    assert_eq!(s.paused().expect("p").as_deref(), Some("revoked"));
    let b = BackoffState {
        attempt: 4,
        next_attempt_at: Some(T0),
    };
    s.set_backoff(b).expect("backoff");
    assert_eq!(s.backoff().expect("b"), b);
    assert_eq!(s.contact().expect("c").reachable(), None);
    s.record_failure(T0, "connection refused").expect("fail");
    assert_eq!(s.contact().expect("c").reachable(), Some(false));
    s.record_contact(
        T0 + Duration::from_secs(1),
        Duration::from_millis(42),
        Some(-2),
    )
    .expect("contact");
    let c = s.contact().expect("c");
    assert_eq!(c.reachable(), Some(true));
    assert_eq!(c.last_latency_ms, Some(42));
    assert_eq!(c.clock_skew_secs, Some(-2));

    s.replace_announcements(
        &AnnouncementList {
            announcements: vec![
                announcement(1, None),
                announcement(2, Some(T0 + Duration::from_secs(60))),
            ],
            server_time: T0,
        },
        T0,
    )
    .expect("ann");
    assert_eq!(s.announcements(T0).expect("a").len(), 2);
    assert_eq!(
        s.announcements(T0 + Duration::from_secs(120))
            .expect("a")
            .len(),
        1
    );
    s.record_deflection("wifi-reconnect", T0).expect("deflect");
    assert_eq!(count(&s, "SELECT COUNT(*) FROM deflections"), 1);
}

#[test]
fn snapshot_cache_roundtrip() {
    let s = Store::open_in_memory().expect("open");
    assert!(s.cached_snapshot().expect("none").is_none());
    let snap = DeviceSnapshot {
        schema_version: 1,
        hostname: Some("lab".into()),
        ..Default::default()
    };
    s.store_snapshot(&snap, T0, false).expect("store");
    let c = s.cached_snapshot().expect("get").expect("some");
    assert_eq!(c.snapshot, snap);
    assert_eq!(c.collected_at, T0);
    assert!(!c.full);
}

#[test]
fn events_are_queued_once_planned_after_messages_and_kept_when_refused() {
    let s = Store::open_in_memory().expect("store");
    let at = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
    let id = Uuid::now_v7();
    let body = serde_json::json!({"client_id": id});
    s.insert_event(id, "me_too", "/announcements/7/me-too", &body, at)
        .expect("insert");
    s.insert_event(id, "me_too", "/announcements/7/me-too", &body, at)
        .expect("a repeat is ignored");
    assert_eq!(s.queue_counts().expect("counts").events, 1);
    assert_eq!(s.me_too_ids().expect("ids"), vec![7]);
    let state = s.sync_state(true).expect("state");
    assert_eq!(state.events.len(), 1);
    let plan = crate::sync::plan::plan(&state, at, &crate::sync::plan::PlanOptions::default());
    match plan {
        crate::sync::plan::Plan::Run(steps) => {
            assert_eq!(
                steps[0],
                crate::sync::plan::Step::SendEvent(id),
                "{steps:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    let (path, sent) = s.event_payload(id).expect("payload");
    assert_eq!((path.as_str(), sent), ("/announcements/7/me-too", body));
    s.mark_event(id, Some("announcement ended")).expect("mark");
    assert_eq!(s.queue_counts().expect("counts").events, 0);
    assert!(
        s.me_too_ids().expect("ids").is_empty(),
        "a refused me-too does not count"
    );
    assert!(s.event_payload(id).is_ok(), "kept, never deleted");
}

mod corrupt;

#[test]
fn a_restored_server_gets_again_what_was_sent() {
    let s = Store::open_in_memory().expect("open");
    for n in [1, 2] {
        s.insert_ticket(&ticket(n, 5), None, T0).expect("insert");
    }
    s.mark_ticket_sent(&receipt(1, 7), T0).expect("sent");
    s.insert_message(
        Uuid::from_u128(1),
        &NewMessage {
            client_id: Uuid::from_u128(50),
            created_at: T0,
            body: "still broken".into(),
        },
    )
    .expect("msg");
    s.mark_message_sent(&handraise_wire::MessageReceipt {
        client_id: Uuid::from_u128(50),
        ticket_number: 7,
        received_at: T0,
    })
    .expect("msg sent");
    s.apply_updates(&page(), T0).expect("apply");
    assert!(s.cursor().expect("cursor") > 0);

    // The first generation seen, and the same one again: nothing to do.
    assert!(!s.note_server_generation("g1").expect("note"));
    assert!(!s.note_server_generation("g1").expect("note"));
    assert_eq!(
        s.sync_state(true).expect("state").tickets.len(),
        1,
        "only the unsent one"
    );

    // A new generation: the server was restored.
    assert!(s.note_server_generation("g2").expect("note"));
    let state = s.sync_state(true).expect("state");
    assert_eq!(state.tickets.len(), 2, "the sent ticket goes again");
    assert_eq!(state.messages.len(), 1, "and its message");
    assert_eq!(
        s.cursor().expect("cursor"),
        0,
        "the feed is read from the start"
    );
    assert!(!s.note_server_generation("g2").expect("note"), "once");
}
