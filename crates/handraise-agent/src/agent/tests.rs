use super::*;
use crate::store::ItemState;
use handraise_wire::{Category, MAX_DETAILS_CHARS, MAX_MESSAGE_CHARS, MAX_SUMMARY_CHARS};
use uuid::Uuid;

fn input(summary: &str) -> ReportInput {
    ReportInput::new(Category::Wifi, summary)
}

#[test]
fn report_validation_matches_the_server() {
    let long = "x".repeat(MAX_SUMMARY_CHARS + 1);
    let exact = "é".repeat(MAX_SUMMARY_CHARS);
    let cases: Vec<(ReportInput, bool)> = vec![
        (input("No internet"), true),
        (input("   "), false),
        (input(""), false),
        (input(&long), false),
        (input(&exact), true),
        (
            ReportInput {
                details: Some("d".repeat(MAX_DETAILS_CHARS + 1)),
                ..input("ok")
            },
            false,
        ),
        (
            ReportInput {
                details: Some("d".repeat(MAX_DETAILS_CHARS)),
                ..input("ok")
            },
            true,
        ),
        (
            ReportInput {
                screenshot: Some(Screenshot {
                    bytes: b"\x89PNG\r\n\x1a\n....".to_vec(),
                    content_type: "image/png".into(),
                }),
                ..input("ok")
            },
            true,
        ),
        (
            ReportInput {
                screenshot: Some(Screenshot {
                    bytes: b"GIF89a".to_vec(),
                    content_type: "image/png".into(),
                }),
                ..input("ok")
            },
            false,
        ),
    ];
    for (i, (case, ok)) in cases.iter().enumerate() {
        let r = validate_report(case);
        assert_eq!(r.is_ok(), *ok, "case {i}: {r:?}");
        if !ok {
            assert!(matches!(r, Err(AgentError::Invalid(_))), "case {i}");
        }
    }
    assert!(validate_message(" hi ").is_ok_and(|m| m == "hi"));
    assert!(validate_message("  ").is_err());
    assert!(validate_message(&"m".repeat(MAX_MESSAGE_CHARS + 1)).is_err());
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
