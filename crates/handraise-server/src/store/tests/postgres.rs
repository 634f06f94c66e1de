//! What only several server nodes on one PostgreSQL database can show: nodes
//! starting together apply the schema once, and a repeat received by two
//! nodes at the same instant answers with the one receipt. Skipped (saying
//! so) when `HANDRAISE_TEST_POSTGRES` names no test server.

use super::*;
use std::sync::{Arc, Barrier};

/// A fresh database's URL, or `None` (with a note) when tests run on SQLite.
fn database(test: &str) -> Option<String> {
    let url = handraise_testkit::postgres::test_database().expect("a test database");
    if url.is_none() {
        eprintln!("{test}: skipped: HANDRAISE_TEST_POSTGRES is not set");
    }
    url
}

#[test]
fn nodes_starting_together_apply_each_migration_once() -> R {
    let Some(url) = database("nodes_starting_together_apply_each_migration_once") else {
        return Ok(());
    };
    let nodes = 3;
    let start = Arc::new(Barrier::new(nodes));
    let handles: Vec<_> = (0..nodes)
        .map(|_| {
            let (url, start) = (url.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                SqlStore::open_postgres(&url)
            })
        })
        .collect();
    let mut stores = Vec::new();
    for h in handles {
        stores.push(h.join().map_err(|_| "a node panicked")??);
    }
    for s in &stores {
        assert_eq!(s.schema_version()?, s.known_schema_version());
        // Opening again applies nothing.
        assert_eq!(s.migrate()?, 0);
    }
    // One row per migration, and the schema works for all of them.
    let applied = SqlStore::open_postgres(&url)?.schema_version()?;
    assert_eq!(applied as usize, PG_MIGRATIONS.len());
    let a = enroll(&stores[0], None);
    assert!(
        stores[2].device(a)?.is_some(),
        "every node sees one database"
    );
    Ok(())
}

#[test]
fn a_repeat_received_by_two_nodes_at_once_answers_the_first_receipt() -> R {
    let Some(url) = database("a_repeat_received_by_two_nodes_at_once_answers_the_first_receipt")
    else {
        return Ok(());
    };
    let nodes: Vec<Arc<SqlStore>> = vec![
        Arc::new(SqlStore::open_postgres(&url)?),
        Arc::new(SqlStore::open_postgres(&url)?),
    ];
    let device = enroll(nodes[0].as_ref(), None);
    for round in 0..20 {
        let t = ticket(device, &format!("Projector {round}"));
        let start = Arc::new(Barrier::new(nodes.len()));
        let handles: Vec<_> = nodes
            .iter()
            .map(|node| {
                let (node, t, start) = (node.clone(), t.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    node.insert_ticket(&t)
                })
            })
            .collect();
        let mut answers = Vec::new();
        for h in handles {
            answers.push(h.join().map_err(|_| "a node panicked")??);
        }
        let created = answers.iter().filter(|a| a.is_created()).count();
        assert_eq!(
            created, 1,
            "round {round}: one node stores it, the other repeats"
        );
        let numbers: Vec<i64> = answers.into_iter().map(|a| a.into_inner().number).collect();
        assert_eq!(numbers[0], numbers[1], "round {round}: one receipt");
    }
    assert_eq!(nodes[1].list_tickets(None)?.len(), 20);
    Ok(())
}

#[test]
fn a_postgres_backup_is_a_custom_format_dump() -> R {
    let Some(url) = database("a_postgres_backup_is_a_custom_format_dump") else {
        return Ok(());
    };
    let s = SqlStore::open_postgres(&url)?;
    let device = enroll(&s, None);
    s.insert_ticket(&ticket(device, "Printer jammed"))?;
    let dir = tempfile::tempdir()?;
    let dump = dir.path().join("backup.dump");
    s.backup(&dump)?;
    let bytes = std::fs::read(&dump)?;
    // pg_dump's custom format starts with its magic.
    assert!(bytes.starts_with(b"PGDMP"), "a custom-format dump");
    assert!(!dir.path().join(".backup.dump.partial").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&dump)?.permissions().mode() & 0o777,
            0o600
        );
    }
    Ok(())
}
