use super::*;
use crate::store::ItemState;
use handraise_wire::{Category, TextField};
use uuid::Uuid;

fn input(summary: &str) -> ReportInput {
    ReportInput::new(Category::Wifi, summary)
}

/// The longest accepted value of every field (padded with spaces, which do not count, and
/// made of characters that are two UTF-16 units each) and one character more, through
/// `Agent::report` and `Agent::send_message`. The limits are the wire's, which the server
/// checks too (its handler test `every_field_takes_its_longest_value_and_refuses_one_more`
/// sends the same values) and the UI's generated `TEXT_LIMITS`.
#[tokio::test]
async fn every_field_takes_its_longest_value_and_refuses_one_more() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = agent_in(dir.path());
    let ticket = agent.report(input("ok")).await.expect("report");
    for field in TextField::ALL {
        let longest = format!(" {} ", "😀".repeat(field.max_chars()));
        let past = "é".repeat(field.max_chars() + 1);
        for (value, ok) in [(longest, true), (past, false)] {
            let mut report = input("ok");
            match field {
                TextField::Summary => report.summary = value.clone(),
                TextField::Details => report.details = Some(value.clone()),
                TextField::Room => report.room = Some(value.clone()),
                TextField::Message => {}
            }
            let r = match field {
                TextField::Message => agent.send_message(ticket, &value).await,
                _ => agent.report(report).await,
            };
            match r {
                Ok(_) => assert!(
                    ok,
                    "{field:?} accepted {} characters",
                    value.chars().count()
                ),
                Err(AgentError::Invalid(m)) => {
                    assert!(!ok, "{field:?} refused its longest value: {m}");
                    assert!(m.contains(&field.max_chars().to_string()), "{m}");
                }
                Err(e) => panic!("{field:?}: {e}"),
            }
        }
    }
    let empty = validate_report(&ReportInput {
        details: Some("  ".into()),
        room: Some("  ".into()),
        ..input("  ")
    });
    assert!(matches!(empty, Err(AgentError::Invalid(_))), "{empty:?}");
    let payload = agent
        .db(move |s| s.ticket_payload(ticket))
        .await
        .expect("payload");
    assert_eq!(payload.summary, "ok");
    assert!(validate_message(" hi ").is_ok_and(|m| m == "hi"));
    assert!(validate_message("  ").is_err());
    assert!(validate_report(&input("ok")).is_ok());
}

#[test]
fn a_screenshot_must_be_the_image_it_says() {
    let shot = |bytes: &[u8], content_type: &str| ReportInput {
        screenshot: Some(Screenshot {
            bytes: bytes.to_vec(),
            content_type: content_type.into(),
        }),
        ..input("ok")
    };
    assert!(validate_report(&shot(b"\x89PNG\r\n\x1a\n....", "image/png")).is_ok());
    assert!(validate_report(&shot(&[0xFF, 0xD8, 0xFF, 0xE0], "image/jpeg")).is_ok());
    assert!(validate_report(&shot(b"GIF89a", "image/png")).is_err());
    assert!(validate_report(&shot(b"\x89PNG\r\n\x1a\n....", "image/jpeg")).is_err());
    assert!(validate_report(&shot(b"GIF89a", "image/gif")).is_err());
}

fn agent_in(dir: &Path) -> Agent {
    Agent::open(Config::with_data_dir(dir)).expect("open agent")
}

#[tokio::test]
async fn report_is_local_quick_and_durable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = agent_in(dir.path());
    let start = std::time::Instant::now();
    let id = agent.report(input("Projector dark")).await.expect("report");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(id.get_version_num(), 7);
    let tickets = agent.tickets().await.expect("tickets");
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].client_id, id);
    assert_eq!(tickets[0].state, ItemState::Queued);
    drop(agent);
    // Another handle on the same directory (another process, after a restart) sees it.
    let again = agent_in(dir.path());
    let t = again.tickets().await.expect("tickets");
    assert_eq!(t.len(), 1);
    let payload = again
        .db(move |s| s.ticket_payload(id))
        .await
        .expect("payload");
    assert_eq!(payload.summary, "Projector dark");
    assert!(payload.snapshot.is_some(), "a snapshot is attached");
    assert!(payload.reporter.is_some());
    // Messages need a known ticket.
    assert!(again.send_message(Uuid::now_v7(), "hello").await.is_err());
    let m = again.send_message(id, "any news?").await.expect("message");
    let t = again.tickets().await.expect("tickets");
    assert_eq!(t[0].messages.len(), 1);
    assert_eq!(t[0].messages[0].id, m);
    assert_eq!(t[0].messages[0].state, ItemState::Queued);
}

#[tokio::test]
async fn sync_without_enrollment_sends_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = agent_in(dir.path());
    agent
        .report(input("Printer offline"))
        .await
        .expect("report");
    let r = agent.sync_once().await.expect("sync");
    assert!(r.not_enrolled);
    assert!(!r.is_complete());
    assert_eq!(r.remaining.tickets, 1);
}

#[tokio::test]
async fn changes_from_another_process_are_announced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let window = Agent::open(Config::with_data_dir(dir.path())).expect("open");
    let other =
        Agent::open(Config::with_data_dir(dir.path())).expect("second handle, as another process");
    let mut changes = window.subscribe();
    changes.mark_unchanged();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let watcher = window.clone();
    let task = tokio::spawn(async move {
        watcher
            .watch_other_processes(Duration::from_millis(20), async {
                let _ = stop_rx.await;
            })
            .await
    });
    other
        .report(input("from the other process"))
        .await
        .expect("report");
    tokio::time::timeout(Duration::from_secs(5), changes.changed())
        .await
        .expect("announced in time")
        .expect("sender alive");
    assert_eq!(window.tickets().await.expect("tickets").len(), 1);
    let _ = stop_tx.send(());
    task.await.expect("watcher stops");
}

fn raw(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("agent.db")).expect("raw connection")
}

#[tokio::test]
async fn a_database_of_a_newer_agent_is_refused_not_moved_aside() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = agent_in(dir.path());
    agent.report(input("Projector dark")).await.expect("report");
    drop(agent);
    let newer = crate::store::SCHEMA_VERSION + 1;
    raw(dir.path())
        .pragma_update(None, "user_version", newer)
        .expect("as a newer agent would leave it");
    match Agent::open(Config::with_data_dir(dir.path())) {
        Err(AgentError::Store(StoreError::SchemaTooNew { found, .. })) => assert_eq!(found, newer),
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    assert!(dir.path().join("agent.db").exists());
    let tickets: i64 = raw(dir.path())
        .query_row("SELECT COUNT(*) FROM tickets", [], |r| r.get(0))
        .expect("count");
    assert_eq!(tickets, 1, "the newer agent's data is kept");
}

#[tokio::test]
async fn a_damaged_ticket_is_reported_and_a_damaged_snapshot_cache_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = agent_in(dir.path());
    agent.report(input("Projector dark")).await.expect("report");
    raw(dir.path())
        .execute_batch("UPDATE snapshot_cache SET json = 'not json'")
        .expect("damage the cache");
    // The report is not held up: a fresh snapshot replaces the unreadable one.
    agent
        .report(input("Printer jammed"))
        .await
        .expect("report despite the damaged cache");
    assert!(
        agent
            .db(|s| s.cached_snapshot())
            .await
            .expect("readable again")
            .is_some()
    );

    raw(dir.path())
        .execute_batch("UPDATE tickets SET created_at = 'yesterday'")
        .expect("damage a ticket");
    match agent.tickets().await {
        Err(AgentError::Store(StoreError::Corrupt { table, column, .. })) => {
            assert_eq!((table, column), ("tickets", "created_at"));
        }
        other => panic!("expected a corrupt ticket, got {other:?}"),
    }
}

/// A new data directory and its database are the user's alone.
#[cfg(unix)]
#[tokio::test]
async fn data_directory_and_database_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("handraise");
    let agent = agent_in(&dir);
    agent.report(input("private")).await.expect("report");
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    for name in ["agent.db", "agent.db-wal", "agent.db-shm"] {
        let p = dir.join(name);
        if name == "agent.db" || p.exists() {
            assert_eq!(mode(&p), 0o600, "{name}");
        }
    }
}
