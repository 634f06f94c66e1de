//! Several `handraise-server serve` nodes on one PostgreSQL database, as a large district runs
//! them: two behind Debian's HAProxy while one of them is SIGKILLed and restarted at random
//! instants, a technician's reply crossing from one node to a device long-polling the other,
//! and three nodes started at once on an empty database. Only on PostgreSQL
//! (`HANDRAISE_TEST_POSTGRES`, set by `cargo xtask test`'s PostgreSQL phase); skipped, saying
//! so, otherwise.

use crate::harness::{
    Agent, Api, Server, assert_exactly_once, bin, file_and_sync, soak, spawn_quiet, sync_until_done,
};
use anyhow::{Context, Result, anyhow, bail};
use handraise_testkit::haproxy::HaProxy;
use handraise_testkit::postgres::{TEST_POSTGRES_ENV, psql, test_database};
use handraise_testkit::process::wait_or_kill;
use handraise_testkit::{Guard, Launch};
use serde_json::json;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// How soon a reply must reach a device whose long-poll is held by the other node. The
/// agent's long-poll lasts 25 s (`handraise_agent::agent::LONG_POLL_SECS`) and is seen held
/// just before the reply is posted, so a reply later than this came with the poll's end, not
/// with the node's wake-up (which takes well under a second).
const WOKEN_WITHIN: Duration = Duration::from_secs(15);

/// A fresh database for this test, or `None` (said on stderr) when the tests run on SQLite.
fn database() -> Result<Option<String>> {
    let url = test_database()?;
    if url.is_none() {
        eprintln!(
            "skipped: {TEST_POSTGRES_ENV} is not set (several nodes share one PostgreSQL \
             database; `cargo xtask test` sets it in its PostgreSQL phase)"
        );
    }
    Ok(url)
}

/// A node on `database`, its metrics on a listener of their own (to see its long-polls).
fn node(database: &str) -> Result<Server> {
    Launch::new(bin("handraise-server")?)
        .database(database)
        .env("HANDRAISE_SERVER_METRICS_LISTEN", "127.0.0.1:0")
        .start()
}

/// xorshift64: the random instants, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15)
            | 1;
        eprintln!("random instants from seed {seed:#x}");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn agents_sync_through_haproxy_while_a_node_is_killed_and_restarted() -> Result<()> {
    let Some(database) = database()? else {
        return Ok(());
    };
    let mut nodes = [node(&database)?, node(&database)?];
    let Some(lb) = HaProxy::start(&[nodes[0].port, nodes[1].port])? else {
        return Ok(());
    };
    lb.wait_all_up(Duration::from_secs(60))?;
    let agents = (0..3)
        .map(|i| {
            let agent = Agent::new()?;
            agent.enroll(&lb.url(), &nodes[i % 2].enroll_token("nodes")?)?;
            Ok(agent)
        })
        .collect::<Result<Vec<Agent>>>()?;

    let rounds = if soak() { 50 } else { 10 };
    let mut rng = Rng::seeded();
    let mut reported = Vec::new();
    let mut last_killed = 0;
    for round in 0..rounds {
        let mut passes = Vec::new();
        for (i, agent) in agents.iter().enumerate() {
            for n in 0..=rng.below(3) {
                let summary = format!("No Wi-Fi, round {round}, agent {i}, report {n}");
                reported.push(agent.report("wifi", &summary)?);
            }
            passes.push(spawn_quiet(agent.cmd(&["sync"]))?);
        }
        // At a random instant of the passes one node dies without a word, and comes back on
        // its port while they go on.
        std::thread::sleep(Duration::from_millis(rng.below(400)));
        last_killed = rng.below(2) as usize;
        let victim = &mut nodes[last_killed];
        let port = victim.port;
        victim.kill9()?;
        victim.serve(port)?;
        for mut pass in passes {
            wait_or_kill(&mut pass, Duration::from_secs(180))?
                .context("an agent's sync pass did not end within 180 s")?;
        }
        lb.wait_all_up(Duration::from_secs(60))?;
    }
    for agent in &agents {
        sync_until_done(agent, 20)?;
    }
    assert_exactly_once(&nodes[0], &reported)?;
    assert_eq!(
        nodes[1].tickets()?.len(),
        reported.len(),
        "both nodes read the one database"
    );
    for agent in &agents {
        for ticket in agent.status()? {
            assert_eq!(ticket["state"], "sent", "{ticket}");
        }
    }
    eprintln!(
        "{rounds} SIGKILLs of a node under 3 agents: {} tickets, each on the database once",
        reported.len()
    );
    // The node killed last posts a reply; a device long-polling the other one gets it.
    reply_reaches_a_device_long_polling_the_other_node(&nodes[last_killed], &nodes[1 - last_killed])
}

/// A technician replies through `tech_node` to a device whose agent is long-polling
/// `device_node`; the reply shows in the agent's status before the poll would have ended.
fn reply_reaches_a_device_long_polling_the_other_node(
    tech_node: &Server,
    device_node: &Server,
) -> Result<()> {
    const REPLY: &str = "Swap the HDMI cable for the spare one in the drawer.";
    let agent = Agent::new()?;
    agent.enroll(&device_node.url, &device_node.enroll_token("long-poll")?)?;
    let (id, number) = file_and_sync(&agent, "display", "Projector flickers")?;
    let tech = tech_node.tech_token("Tech on the other node")?;
    let metrics = device_node
        .metrics_url
        .clone()
        .context("the device's node printed its metrics address")?;
    let rt = tokio::runtime::Runtime::new()?;

    // The agent's loop: one pass, then it long-polls while idle; its timer is an hour away,
    // so only the long-poll can bring the reply soon.
    let mut run = agent.cmd(&["run"]);
    run.env("HANDRAISE_SYNC_INTERVAL_SECS", "3600");
    let _run = Guard(spawn_quiet(run)?);
    poll(
        "the device's long-poll held by its node",
        Duration::from_secs(60),
        || Ok(rt.block_on(long_polls_held(&metrics))? >= 1.0),
    )?;

    let posted = Instant::now();
    let (code, body) = rt.block_on(Api::new(&tech_node.url).ticket_action(
        &tech,
        number,
        "reply",
        json!({ "body": REPLY }),
    ))?;
    anyhow::ensure!(code == 200, "reply answered {code}: {body}");
    poll("the reply in the agent's status", WOKEN_WITHIN, || {
        let ticket = agent.ticket(&id)?;
        Ok(ticket["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["body"] == REPLY)))
    })?;
    eprintln!(
        "a reply posted through one node reached a device long-polling the other in {:?}",
        posted.elapsed()
    );
    Ok(())
}

/// `handraise_long_polls_held` on a node's metrics listener.
async fn long_polls_held(metrics_url: &str) -> Result<f64> {
    let text = reqwest::get(metrics_url).await?.text().await?;
    text.lines()
        .find_map(|l| l.strip_prefix("handraise_long_polls_held "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| anyhow!("no handraise_long_polls_held in the metrics"))
}

/// Polls `ok` every 50 ms until it is true or `timeout` passes (an error of `ok` is a
/// failure at once); the error names `what` was awaited.
fn poll(what: &str, timeout: Duration, mut ok: impl FnMut() -> Result<bool>) -> Result<()> {
    let end = Instant::now() + timeout;
    loop {
        if ok()? {
            return Ok(());
        }
        if Instant::now() >= end {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn three_nodes_started_at_once_on_an_empty_database_apply_the_schema_once() -> Result<()> {
    let Some(database) = database()? else {
        return Ok(());
    };
    let server = bin("handraise-server")?;
    let together = Arc::new(Barrier::new(3));
    let starting: Vec<_> = (0..3)
        .map(|_| {
            let (server, database, together) = (server.clone(), database.clone(), together.clone());
            std::thread::spawn(move || {
                together.wait();
                Launch::new(server).database(&database).start()
            })
        })
        .collect();
    let nodes = starting
        .into_iter()
        .map(|t| t.join().map_err(|_| anyhow!("a node's start panicked"))?)
        .collect::<Result<Vec<Server>>>()?;

    // Each migration recorded once, none skipped: versions 1 to N in N rows (a migration run
    // twice would have failed its node's start: its tables would exist already).
    let counts = psql(
        &database,
        "SELECT count(*), min(version), max(version) FROM schema_migrations",
    )?;
    let counts: Vec<i64> = counts
        .trim()
        .split('|')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .with_context(|| format!("schema_migrations counts: {counts:?}"))?;
    assert!(
        matches!(counts[..], [rows, 1, last] if rows == last),
        "schema_migrations holds versions 1 to N once each: rows, first, last = {counts:?}"
    );

    // One database: enrolled with a token of one node, through another, read by the third.
    let agent = Agent::new()?;
    agent.enroll(&nodes[1].url, &nodes[0].enroll_token("three nodes")?)?;
    let (id, _) = file_and_sync(&agent, "printer", "Printer offline")?;
    assert_eq!(nodes[2].count(&id)?, 1);
    Ok(())
}
