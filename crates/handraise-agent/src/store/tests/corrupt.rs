//! A newer schema is refused untouched; a damaged value is an error naming where it is.

use super::{T0, article, page, ticket};
use crate::error::StoreError;
use crate::store::{SCHEMA_VERSION, Store};
use crate::sync::plan::BackoffState;
use handraise_wire::{
    Announcement, AnnouncementKind, AnnouncementList, Category, DeviceSnapshot, KbChanges,
    NewMessage,
};
use std::path::Path;
use uuid::Uuid;

fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("raw connection")
}

fn user_version(path: &Path) -> i64 {
    raw(path)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("user_version")
}

#[test]
fn a_newer_schema_is_refused_naming_the_version_and_left_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("agent.db");
    let (store, _) = Store::open(&path, T0).expect("create");
    store
        .insert_ticket(&ticket(1, 0), None, T0)
        .expect("ticket");
    drop(store);
    let newer = SCHEMA_VERSION + 1;
    raw(&path)
        .pragma_update(None, "user_version", newer)
        .expect("as a newer agent would leave it");

    let err = Store::open(&path, T0).expect_err("refused");
    match &err {
        StoreError::SchemaTooNew {
            path: p,
            found,
            known,
        } => {
            assert_eq!(
                (p.as_path(), *found, *known),
                (path.as_path(), newer, SCHEMA_VERSION)
            );
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains(&format!("schema version {newer}")), "{text}");

    // Not treated as corruption: nothing moved aside, nothing migrated, the data kept.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("corrupt")), "{names:?}");
    assert_eq!(user_version(&path), i64::from(newer));
    let tickets: i64 = raw(&path)
        .query_row("SELECT COUNT(*) FROM tickets", [], |r| r.get(0))
        .expect("count");
    assert_eq!(tickets, 1);
}

/// A store with a row in every table a reader parses.
fn filled() -> Store {
    let s = Store::open_in_memory().expect("open");
    s.insert_ticket(&ticket(1, 0), None, T0).expect("ticket");
    s.insert_message(
        Uuid::from_u128(1),
        &NewMessage {
            client_id: Uuid::from_u128(2),
            created_at: T0,
            body: "any news?".into(),
        },
    )
    .expect("message");
    s.apply_updates(&page(), T0).expect("a status and a reply");
    s.set_backoff(BackoffState {
        attempt: 2,
        next_attempt_at: Some(T0),
    })
    .expect("backoff");
    s.replace_announcements(
        &AnnouncementList {
            announcements: vec![Announcement {
                id: 1,
                kind: AnnouncementKind::Outage,
                title: "Wi-Fi down".into(),
                message: "We are on it".into(),
                school: None,
                building: None,
                category: Some(Category::Wifi),
                starts_at: T0,
                ends_at: None,
            }],
            server_time: T0,
        },
        T0,
    )
    .expect("announcements");
    s.apply_kb(
        &KbChanges {
            version: 1,
            articles: vec![article(
                "wifi",
                "Wi-Fi",
                "Reconnect.",
                &[Category::Wifi],
                &[],
            )],
        },
        T0,
    )
    .expect("kb");
    s.store_snapshot(&DeviceSnapshot::default(), T0, true)
        .expect("snapshot");
    s
}

type Read = fn(&Store) -> Result<(), StoreError>;

fn tickets(s: &Store) -> Result<(), StoreError> {
    s.tickets().map(drop)
}

#[test]
fn damaged_values_are_errors_naming_table_and_column() {
    let cases: &[(&str, Read, &str, &str)] = &[
        (
            "PRAGMA foreign_keys = OFF; UPDATE tickets SET client_id = 'not-a-uuid'",
            tickets,
            "tickets",
            "client_id",
        ),
        (
            "UPDATE tickets SET created_at = 'yesterday'",
            tickets,
            "tickets",
            "created_at",
        ),
        (
            "UPDATE tickets SET category = 'toaster'",
            tickets,
            "tickets",
            "category",
        ),
        (
            "UPDATE tickets SET status = 'lost'",
            tickets,
            "tickets",
            "status",
        ),
        (
            "PRAGMA ignore_check_constraints = ON; UPDATE tickets SET state = 'limbo'",
            tickets,
            "tickets",
            "state",
        ),
        (
            "UPDATE outgoing_messages SET created_ms = 9223372036854775807",
            tickets,
            "outgoing_messages",
            "created_ms",
        ),
        (
            "UPDATE incoming_messages SET author = 'robot'",
            tickets,
            "incoming_messages",
            "author",
        ),
        (
            "UPDATE incoming_messages SET id = 'x'",
            tickets,
            "incoming_messages",
            "id",
        ),
        (
            "UPDATE tickets SET payload = '{'",
            |s| s.ticket_payload(Uuid::from_u128(1)).map(drop),
            "tickets",
            "payload",
        ),
        (
            "UPDATE outgoing_messages SET created_at = 'soon'",
            |s| s.message_payload(Uuid::from_u128(2)).map(drop),
            "outgoing_messages",
            "created_at",
        ),
        (
            "UPDATE tickets SET state = 'queued', created_ms = -9223372036854775807",
            |s| s.sync_state(true).map(drop),
            "tickets",
            "created_ms",
        ),
        (
            "UPDATE meta SET value = 'many' WHERE key = 'backoff_attempt'",
            |s| s.sync_state(true).map(drop),
            "meta",
            "backoff_attempt",
        ),
        (
            "UPDATE meta SET value = 'later' WHERE key = 'backoff_next_attempt_at'",
            |s| s.backoff().map(drop),
            "meta",
            "backoff_next_attempt_at",
        ),
        (
            "UPDATE meta SET value = 'eight' WHERE key = 'updates_cursor'",
            |s| s.cursor().map(drop),
            "meta",
            "updates_cursor",
        ),
        (
            "UPDATE announcements SET json = 'not json'",
            |s| s.announcements(T0).map(drop),
            "announcements",
            "json",
        ),
        (
            "UPDATE kb_articles SET categories = 'wifi toaster'",
            |s| s.kb_article("wifi").map(drop),
            "kb_articles",
            "categories",
        ),
        (
            "UPDATE kb_articles SET categories = 'toaster'",
            |s| s.kb_browse(None).map(drop),
            "kb_articles",
            "categories",
        ),
        (
            "UPDATE snapshot_cache SET json = '[]'",
            |s| s.cached_snapshot().map(drop),
            "snapshot_cache",
            "json",
        ),
    ];
    for (sql, read, table, column) in cases {
        let s = filled();
        read(&s).unwrap_or_else(|e| panic!("{sql}: readable before the damage: {e}"));
        s.conn.execute_batch(sql).expect(sql);
        match read(&s) {
            Err(StoreError::Corrupt {
                table: t,
                column: c,
                ..
            }) => assert_eq!((t, c), (*table, *column), "{sql}"),
            other => panic!("{sql}: expected a corrupt {table}.{column}, got {other:?}"),
        }
    }
}

#[test]
fn the_corrupt_error_says_where_and_what() {
    let s = filled();
    s.conn
        .execute_batch("UPDATE tickets SET category = 'toaster'")
        .expect("damage");
    let text = s.tickets().expect_err("corrupt").to_string();
    assert!(text.contains("tickets.category"), "{text}");
    assert!(text.contains("toaster"), "{text}");
}
