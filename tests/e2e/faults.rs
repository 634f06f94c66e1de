//! Fault injection: a hostile network, SIGKILLed agents and a SIGKILLed server. Every loop is
//! bounded in count and time; `HANDRAISE_SOAK=1` (`cargo xtask test --soak`) runs the long
//! versions.

use crate::harness::{
    Agent, Server, assert_exactly_once, bin, is_root, report_many, soak, spawn_quiet,
    sync_until_done,
};
use crate::proxy::Proxy;
use anyhow::{Context, Result};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
async fn bad_network_converges_without_loss_or_duplicates() -> Result<()> {
    let server = Server::start()?;
    let target = format!("127.0.0.1:{}", server.port).parse()?;
    let proxy = Proxy::start(target, 0x5eed_cafe).await?;
    let agent = Agent::new()?;
    let proxied = proxy.url();
    tokio::task::block_in_place(|| {
        agent.ok(&[
            "enroll",
            "--server",
            &proxied,
            "--token",
            &server.enroll_token("e2e")?,
        ])
    })?;

    proxy.healthy_percent.store(35, Ordering::Relaxed);
    let n = if soak() { 200 } else { 30 };
    let reported: Vec<String> =
        tokio::task::block_in_place(|| report_many(&agent, n, "wifi", "Wi-Fi drops, report"))?;
    // A hostile network: some passes fail, none may lose or duplicate anything.
    let mut passes = 0;
    let deadline = Instant::now() + Duration::from_secs(if soak() { 600 } else { 180 });
    loop {
        passes += 1;
        let (ok, _) = tokio::task::block_in_place(|| agent.sync())?;
        if ok || Instant::now() > deadline || passes >= 60 {
            break;
        }
    }
    proxy.healthy_percent.store(100, Ordering::Relaxed);
    tokio::task::block_in_place(|| sync_until_done(&agent, 5))?;
    tokio::task::block_in_place(|| assert_exactly_once(&server, &reported))?;
    for id in &reported {
        assert_eq!(agent.ticket(id)?["state"], "sent", "{id}");
    }
    let c = &proxy.counts;
    eprintln!(
        "proxy: {} connections, {} passed, {} delayed, {} cut, {} reset, {} answered with errors; {passes} faulty passes",
        c.connections.load(Ordering::Relaxed),
        c.passed.load(Ordering::Relaxed),
        c.delayed.load(Ordering::Relaxed),
        c.cut.load(Ordering::Relaxed),
        c.reset.load(Ordering::Relaxed),
        c.answered.load(Ordering::Relaxed),
    );
    assert!(
        c.cut.load(Ordering::Relaxed)
            + c.reset.load(Ordering::Relaxed)
            + c.answered.load(Ordering::Relaxed)
            > 0,
        "the proxy injected faults"
    );
    Ok(())
}

fn kill9(child: &mut Child) {
    let _ = child.kill(); // SIGKILL on Unix
    let _ = child.wait();
}

#[test]
fn agent_killed_at_random_instants_loses_and_duplicates_nothing() -> Result<()> {
    let server = Server::start()?;
    let agent = Agent::new()?;
    agent.enroll(&server.url, &server.enroll_token("e2e")?)?;
    let kills = if soak() { 200 } else { 30 };
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut reported = Vec::new();
    for round in 0..kills {
        // A few new reports, then a sync pass (or the long-running loop) killed mid-flight.
        for i in 0..(1 + next() % 3) {
            reported.push(agent.report("computer", &format!("Slow laptop {round}.{i}"))?);
        }
        let mut cmd = agent.cmd(if next() % 2 == 0 { &["sync"] } else { &["run"] });
        cmd.env("HANDRAISE_SYNC_INTERVAL_SECS", "1");
        let mut child = spawn_quiet(cmd)?;
        std::thread::sleep(Duration::from_millis(5 + next() % 120));
        kill9(&mut child);
    }
    sync_until_done(&agent, 5)?;
    assert_exactly_once(&server, &reported)?;
    eprintln!(
        "{kills} SIGKILLs, {} tickets, all exactly once",
        reported.len()
    );
    Ok(())
}

#[test]
fn server_killed_during_a_flush_loses_and_duplicates_nothing() -> Result<()> {
    let mut server = Server::start()?;
    let port = server.port;
    let agent = Agent::new()?;
    agent.enroll(&server.url, &server.enroll_token("e2e")?)?;
    let n = if soak() { 1000 } else { 150 };
    let reported = report_many(&agent, n, "printer", "Queued ticket")?;

    for crash in 0..3 {
        let mut sync = spawn_quiet(agent.cmd(&["sync"]))?;
        std::thread::sleep(Duration::from_millis(150 + 100 * crash));
        server.kill9()?;
        let _ = sync.wait();
        server.serve(port)?;
    }
    sync_until_done(&agent, 10)?;
    assert_exactly_once(&server, &reported)?;
    Ok(())
}

#[test]
fn agent_storage_faults() -> Result<()> {
    // A corrupt database is moved aside and the agent keeps working.
    let agent = Agent::new()?;
    agent.report("other", "before corruption")?;
    let db = agent.dir().join("agent.db");
    std::fs::write(
        &db,
        b"this is not a database, just garbage bytes ....".repeat(100),
    )?;
    let _ = std::fs::remove_file(agent.dir().join("agent.db-wal"));
    let _ = std::fs::remove_file(agent.dir().join("agent.db-shm"));
    let out = agent
        .cmd(&["report", "--category", "other", "--summary", "after"])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let moved = std::fs::read_dir(agent.dir())?
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().contains("corrupt"));
    assert!(moved, "the corrupt file is kept aside, not deleted");
    assert_eq!(agent.status()?.len(), 1);

    // A full disk: report fails with a clear message and the queue is unharmed.
    if !is_root() {
        eprintln!("skipping the full-disk case: mounting a tmpfs needs root");
        return Ok(());
    }
    let mnt = tempfile::tempdir()?;
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(mnt.path())
        .status()?;
    if !ok.success() {
        eprintln!("skipping the full-disk case: mount -t tmpfs failed here");
        return Ok(());
    }
    let result = (|| -> Result<()> {
        let data = mnt.path().join("agent");
        let agent_bin = bin("handraise-agent")?;
        let run = |args: &[&str]| {
            Command::new(&agent_bin)
                .args(args)
                .arg("--data-dir")
                .arg(&data)
                .env("HANDRAISE_SYSTEM_CONFIG", mnt.path().join("none.toml"))
                .output()
        };
        let first = run(&["report", "--category", "printer", "--summary", "kept"])?;
        assert!(first.status.success());
        let filler = mnt.path().join("filler");
        let _ = Command::new("dd")
            .args(["if=/dev/zero", "bs=64k"])
            .arg(format!("of={}", filler.display()))
            .stderr(Stdio::null())
            .status();
        let big = "x".repeat(19_000);
        let mut failed = None;
        for i in 0..50 {
            let out = run(&[
                "report",
                "--category",
                "printer",
                "--summary",
                &format!("full {i}"),
                "--details",
                &big,
            ])?;
            if !out.status.success() {
                failed = Some(String::from_utf8_lossy(&out.stderr).into_owned());
                break;
            }
        }
        let msg = failed.context("report never failed on a full disk")?;
        assert!(
            msg.to_lowercase().contains("disk") || msg.to_lowercase().contains("space"),
            "clear message: {msg}"
        );
        std::fs::remove_file(&filler)?;
        let status = run(&["status", "--json"])?;
        assert!(status.status.success());
        let list: Vec<serde_json::Value> = serde_json::from_slice(&status.stdout)?;
        assert!(
            list.iter().any(|t| t["summary"] == "kept"),
            "queued ticket unharmed"
        );
        Ok(())
    })();
    let _ = Command::new("umount").arg(mnt.path()).status();
    result
}
