//! `migrate` on a district the suite made: moved from SQLite to PostgreSQL while its server is
//! stopped, it serves again from PostgreSQL and its agents carry on from their cursors, with
//! no reply missed or applied twice and no ticket sent again. Skipped without
//! `HANDRAISE_TEST_POSTGRES`.

use crate::harness::{Agent, bin, file_and_sync};
use anyhow::{Context, Result};
use handraise_testkit::Launch;
use handraise_testkit::http::Api;
use serde_json::{Value, json};
use std::process::Command;

/// The bodies of `client_id`'s messages on `agent`.
fn bodies(agent: &Agent, client_id: &str) -> Result<Vec<String>> {
    Ok(agent.ticket(client_id)?["messages"]
        .as_array()
        .context("messages")?
        .iter()
        .filter_map(|m| m["body"].as_str().map(str::to_owned))
        .collect())
}

fn once(bodies: &[String], body: &str) -> bool {
    bodies.iter().filter(|b| *b == body).count() == 1
}

#[tokio::test(flavor = "multi_thread")]
async fn a_district_moved_to_postgres_carries_on_from_the_agents_cursors() -> Result<()> {
    let Some(target) = handraise_testkit::postgres::test_database()? else {
        eprintln!("migrate: skipped, HANDRAISE_TEST_POSTGRES is not set");
        return Ok(());
    };
    // A data directory of the test's own: SQLite, whatever the suite's database.
    let dir = tempfile::tempdir()?;
    let mut server = Launch::new(bin("handraise-server")?)
        .data_dir(dir.path())
        .start()?;
    let (a, b) = (Agent::new()?, Agent::new()?);
    for agent in [&a, &b] {
        agent.enroll(&server.url, &server.enroll_token("migrate")?)?;
    }
    let api = Api::new(&server.url);
    let tech = server.tech_token("Sam Rivera")?;
    let (printer, printer_no) = file_and_sync(&a, "printer", "Printer offline")?;
    let (wifi, wifi_no) = file_and_sync(&b, "wifi", "No Wi-Fi")?;
    let (code, body) = api
        .ticket_action(
            &tech,
            printer_no,
            "reply",
            json!({"body": "before the move"}),
        )
        .await?;
    assert_eq!(code, 200, "{body}");
    b.ok(&["message", "--ticket", &wifi, "--body", "still down"])?;
    for agent in [&a, &b] {
        assert!(agent.sync()?.0);
    }
    assert!(once(&bodies(&a, &printer)?, "before the move"));

    // Stopped, moved, pointed at PostgreSQL, started again on the same address.
    let port = server.port;
    server.stop()?;
    let out = Command::new(server.bin())
        .args(["migrate", "--from"])
        .arg(format!("sqlite:{}", server.data_dir().display()))
        .args(["--to", &target])
        .output()?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    for table in ["tickets", "messages", "updates", "devices", "api_tokens"] {
        let line = said
            .lines()
            .find(|l| l.split_whitespace().next() == Some(table))
            .with_context(|| format!("no {table} line: {said}"))?;
        let counts: Vec<&str> = line.split_whitespace().skip(1).collect();
        assert!(counts.len() == 2 && counts[0] == counts[1], "{line}");
    }
    let config = server.data_dir().join("config.toml");
    let text = std::fs::read_to_string(&config)?;
    anyhow::ensure!(text.contains("database_url = \"sqlite\""), "{text}");
    std::fs::write(
        &config,
        text.replace(
            "database_url = \"sqlite\"",
            &format!("database_url = {target:?}"),
        ),
    )?;
    server.serve(port)?;

    // Replies after the move reach each device once; nothing before it comes again.
    for (number, body) in [(printer_no, "after the move"), (wifi_no, "on my way")] {
        let (code, answer) = api
            .ticket_action(&tech, number, "reply", json!({"body": body}))
            .await?;
        assert_eq!(code, 200, "{answer}");
    }
    for agent in [&a, &b] {
        assert!(agent.sync()?.0);
        assert!(agent.sync()?.0);
    }
    let printer_bodies = bodies(&a, &printer)?;
    assert!(
        once(&printer_bodies, "before the move"),
        "{printer_bodies:?}"
    );
    assert!(
        once(&printer_bodies, "after the move"),
        "{printer_bodies:?}"
    );
    let wifi_bodies = bodies(&b, &wifi)?;
    assert!(once(&wifi_bodies, "on my way"), "{wifi_bodies:?}");
    let (code, ticket) = api.tech_ticket(&tech, wifi_no).await?;
    assert_eq!(code, 200);
    let teacher: Vec<&Value> = ticket["messages"]
        .as_array()
        .context("messages")?
        .iter()
        .filter(|m| m["body"] == "still down")
        .collect();
    assert_eq!(teacher.len(), 1, "{ticket}");

    // A new ticket takes the next number; every ticket is there once.
    let (_, next) = file_and_sync(&a, "other", "Bell rings early")?;
    assert_eq!(next, printer_no.max(wifi_no) + 1);
    let tickets = server.tickets()?;
    assert_eq!(tickets.len(), 3, "{tickets:?}");
    Ok(())
}
