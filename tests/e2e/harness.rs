//! What the end-to-end tests share: the real binaries (started by `handraise-testkit`), the
//! HTTP client, and the few checks every suite makes.

use anyhow::{Result, bail};
pub use handraise_testkit::http::Api;
pub use handraise_testkit::{Agent, Server, bin, is_root};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;

/// `HANDRAISE_SOAK=1` (`cargo xtask test --soak`): the long versions of the bounded loops.
pub fn soak() -> bool {
    std::env::var_os("HANDRAISE_SOAK").is_some()
}

/// A fresh server and an agent enrolled against it.
pub fn enrolled_pair() -> Result<(Server, Agent)> {
    let server = Server::start()?;
    let agent = Agent::new()?;
    agent.enroll(&server.url, &server.enroll_token("e2e")?)?;
    Ok((server, agent))
}

/// A server, an agent enrolled against it that filed one ticket (synced), and a technician
/// with an API client.
pub struct Filed {
    pub server: Server,
    pub agent: Agent,
    pub id: String,
    pub number: i64,
    pub api: Api,
    pub tech: String,
}

/// [`Filed`]: the ticket in `category` with `summary`; the technician is `tech_name`.
pub fn filed(category: &str, summary: &str, tech_name: &str) -> Result<Filed> {
    let (server, agent) = enrolled_pair()?;
    let (id, number) = file_and_sync(&agent, category, summary)?;
    Ok(Filed {
        api: Api::new(&server.url),
        tech: server.tech_token(tech_name)?,
        server,
        agent,
        id,
        number,
    })
}

/// `report` then `sync`: the client id and the server's number of the new ticket.
pub fn file_and_sync(agent: &Agent, category: &str, summary: &str) -> Result<(String, i64)> {
    let id = agent.report(category, summary)?;
    let (ok, err) = agent.sync()?;
    anyhow::ensure!(ok, "sync failed: {err}");
    let number = agent.ticket(&id)?["number"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("ticket {id} has no number after a sync"))?;
    Ok((id, number))
}

/// `n` reports (`SUMMARY 0`, `SUMMARY 1`, ...): their client ids, oldest first.
pub fn report_many(agent: &Agent, n: usize, category: &str, summary: &str) -> Result<Vec<String>> {
    (0..n)
        .map(|i| agent.report(category, &format!("{summary} {i}")))
        .collect()
}

/// Each of `ids` is in `tickets` (a `tickets list --json`) exactly once.
pub fn assert_each_once(tickets: &[Value], ids: &[String]) {
    for id in ids {
        let n = tickets
            .iter()
            .filter(|t| t["client_id"] == id.as_str())
            .count();
        assert_eq!(n, 1, "{id} is stored {n} times");
    }
}

/// A new-ticket body as a device posts it.
pub fn ticket_body(category: &str, summary: &str) -> Value {
    json!({
        "client_id": uuid::Uuid::now_v7(),
        "created_at": "2026-11-28T09:00:00Z",
        "category": category,
        "summary": summary,
    })
}

/// Syncs until a pass exits 0, at most `tries` times.
pub fn sync_until_done(agent: &Agent, tries: usize) -> Result<()> {
    let mut last = String::new();
    for _ in 0..tries {
        let (ok, err) = agent.sync()?;
        if ok {
            return Ok(());
        }
        last = err;
        // The agent honours Retry-After itself; this only spaces out the passes.
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("sync never finished after {tries} passes; last: {last}")
}

/// `restore --from BACKUP --data-dir DATA` on the kind of database `server` runs on: SQLite in
/// `data`, or a fresh PostgreSQL database (a dump restores only into PostgreSQL). What it
/// printed, and that database (for `Launch::database` and `--database`; `None`: SQLite).
pub fn restore(
    server: &Server,
    backup: &std::path::Path,
    data: &std::path::Path,
) -> Result<(String, Option<String>)> {
    use anyhow::Context;
    let database = match server.database_url {
        Some(_) => Some(
            handraise_testkit::postgres::test_database()?
                .context("a server on PostgreSQL, but HANDRAISE_TEST_POSTGRES is not set")?,
        ),
        None => None,
    };
    let mut cmd = std::process::Command::new(bin("handraise-server")?);
    cmd.args(["restore", "--from"])
        .arg(backup)
        .arg("--data-dir")
        .arg(data);
    if let Some(url) = &database {
        cmd.args(["--database", url]);
    }
    let out = cmd.output()?;
    anyhow::ensure!(
        out.status.success(),
        "restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((String::from_utf8_lossy(&out.stdout).into_owned(), database))
}

/// `cmd` started with its output dropped (an agent's `sync` or `run` to be killed).
pub fn spawn_quiet(mut cmd: std::process::Command) -> Result<std::process::Child> {
    use anyhow::Context;
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("could not start {cmd:?}"))
}

/// Every reported id is on the server exactly once, and nothing else is.
pub fn assert_exactly_once(server: &Server, reported: &[String]) -> Result<()> {
    let tickets = server.tickets()?;
    let on_server: Vec<String> = tickets
        .iter()
        .filter_map(|t| t["client_id"].as_str().map(str::to_owned))
        .collect();
    let unique: HashSet<&String> = on_server.iter().collect();
    assert_eq!(unique.len(), on_server.len(), "a client id stored twice");
    let want: HashSet<&String> = reported.iter().collect();
    let missing: Vec<_> = want.difference(&unique).collect();
    let extra: Vec<_> = unique.difference(&want).collect();
    assert!(missing.is_empty(), "lost tickets: {missing:?}");
    assert!(extra.is_empty(), "tickets nobody reported: {extra:?}");
    Ok(())
}

/// An error body has the `{ "code", "message" }` shape.
pub fn is_error_shape(v: &Value) -> bool {
    v["code"].is_string() && v["message"].is_string()
}

/// A 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Polls `check` every 250 ms until it gives a value, at most `within`.
pub async fn wait_for<T, F, Fut>(what: &str, within: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if std::time::Instant::now() > deadline {
            bail!("{what}: not within {} s", within.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
