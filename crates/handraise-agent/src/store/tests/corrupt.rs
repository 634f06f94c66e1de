//! A newer schema is refused untouched; a damaged value is an error naming where it is.

use super::{T0, announcement, article, page, ticket};
use crate::error::StoreError;
use crate::store::{SCHEMA_VERSION, Store};
use crate::sync::plan::BackoffState;
use handraise_wire::{AnnouncementList, Category, DeviceSnapshot, KbChanges, NewMessage};
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
            announcements: vec![announcement(1, None)],
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

const ONE: Uuid = Uuid::from_u128(1);
const TWO: Uuid = Uuid::from_u128(2);
const NO_CHECKS: &str = "PRAGMA ignore_check_constraints = ON; PRAGMA foreign_keys = OFF; ";

#[test]
fn damaged_values_are_errors_naming_table_and_column() {
    let tickets: Read = |s| s.tickets().map(drop);
    let payload: Read = |s| s.ticket_payload(ONE).map(drop);
    let message: Read = |s| s.message_payload(TWO).map(drop);
    let sync: Read = |s| s.sync_state(true).map(drop);
    let backoff: Read = |s| s.backoff().map(drop);
    let cursor: Read = |s| s.cursor().map(drop);
    let notices: Read = |s| s.announcements(T0).map(drop);
    let article: Read = |s| s.kb_article("wifi").map(drop);
    let browse: Read = |s| s.kb_browse(None).map(drop);
    let snapshot: Read = |s| s.cached_snapshot().map(drop);
    // i64::MAX milliseconds is no time.
    let cases: &[(&str, Read, &str)] = &[
        (
            "UPDATE tickets SET client_id = 'x'",
            tickets,
            "tickets.client_id",
        ),
        (
            "UPDATE tickets SET created_at = 'yesterday'",
            tickets,
            "tickets.created_at",
        ),
        (
            "UPDATE tickets SET category = 'toaster'",
            tickets,
            "tickets.category",
        ),
        (
            "UPDATE tickets SET status = 'lost'",
            tickets,
            "tickets.status",
        ),
        (
            "UPDATE tickets SET state = 'limbo'",
            tickets,
            "tickets.state",
        ),
        (
            "UPDATE outgoing_messages SET created_ms = 9223372036854775807",
            tickets,
            "outgoing_messages.created_ms",
        ),
        (
            "UPDATE incoming_messages SET author = 'robot'",
            tickets,
            "incoming_messages.author",
        ),
        (
            "UPDATE incoming_messages SET id = 'x'",
            tickets,
            "incoming_messages.id",
        ),
        (
            "UPDATE tickets SET payload = '{'",
            payload,
            "tickets.payload",
        ),
        (
            "UPDATE outgoing_messages SET created_at = 'soon'",
            message,
            "outgoing_messages.created_at",
        ),
        (
            "UPDATE tickets SET state = 'queued', created_ms = 9223372036854775807",
            sync,
            "tickets.created_ms",
        ),
        (
            "UPDATE meta SET value = 'x' WHERE key = 'backoff_attempt'",
            sync,
            "meta.backoff_attempt",
        ),
        (
            "UPDATE meta SET value = 'x' WHERE key = 'backoff_next_attempt_at'",
            backoff,
            "meta.backoff_next_attempt_at",
        ),
        (
            "UPDATE meta SET value = 'x' WHERE key = 'updates_cursor'",
            cursor,
            "meta.updates_cursor",
        ),
        (
            "UPDATE announcements SET json = 'not json'",
            notices,
            "announcements.json",
        ),
        (
            "UPDATE kb_articles SET categories = 'wifi toaster'",
            article,
            "kb_articles.categories",
        ),
        (
            "UPDATE kb_articles SET categories = 'toaster'",
            browse,
            "kb_articles.categories",
        ),
        (
            "UPDATE snapshot_cache SET json = '[]'",
            snapshot,
            "snapshot_cache.json",
        ),
    ];
    for (sql, read, place) in cases {
        let s = filled();
        read(&s).unwrap_or_else(|e| panic!("{sql}: readable before the damage: {e}"));
        s.conn
            .execute_batch(&format!("{NO_CHECKS}{sql}"))
            .expect(sql);
        match read(&s) {
            Err(StoreError::Corrupt { table, column, .. }) => {
                assert_eq!(format!("{table}.{column}"), *place, "{sql}");
            }
            other => panic!("{sql}: expected a corrupt {place}, got {other:?}"),
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
