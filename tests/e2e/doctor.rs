//! `handraise-server doctor` against a real server: one line per check, `skipped` where a
//! check does not apply, a non-zero exit only when one fails.

use crate::harness::{Agent, Server, bin, file_and_sync};
use anyhow::{Context, Result};
use serde_json::Value;
use std::process::Command;

/// `doctor --json` on `server`'s data directory with `env`: (exit ok, outcome by check).
fn doctor(server: &Server, env: &[(&str, String)]) -> Result<(bool, Vec<(String, String)>)> {
    let out = Command::new(bin("handraise-server")?)
        .args(["doctor", "--json", "--data-dir"])
        .arg(server.data_dir())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()?;
    let checks: Vec<Value> = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "doctor printed no JSON: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let outcomes = checks
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap_or_default().to_owned(),
                format!(
                    "{} {}",
                    c["outcome"].as_str().unwrap_or_default(),
                    c["detail"]
                ),
            )
        })
        .collect();
    Ok((out.status.success(), outcomes))
}

fn outcome<'a>(checks: &'a [(String, String)], name: &str) -> &'a str {
    checks
        .iter()
        .find(|(c, _)| c == name)
        .map_or("missing", |(_, o)| o.as_str())
}

#[test]
fn doctor_checks_a_running_server_and_fails_only_on_a_failure() -> Result<()> {
    let mut server = Server::start()?;
    let agent = Agent::new()?;
    agent.enroll(&server.url, &server.enroll_token("doctor")?)?;
    // The first sync measures the clock; the second ticket carries it.
    file_and_sync(&agent, "printer", "Printer offline")?;
    file_and_sync(&agent, "printer", "Printer still offline")?;
    let listen = (
        "HANDRAISE_SERVER_LISTEN",
        format!("127.0.0.1:{}", server.port),
    );

    let (ok, checks) = doctor(&server, std::slice::from_ref(&listen))?;
    assert!(ok, "{checks:?}");
    for (name, want) in [
        ("configuration", "ok"),
        ("database", "ok"),
        ("listen", "ok"),
        ("tls", "skipped"),
        ("backup", "skipped"),
        ("clock skew", "ok"),
    ] {
        let got = outcome(&checks, name);
        assert!(got.starts_with(want), "{name}: {got}");
    }
    assert!(
        outcome(&checks, "database").contains("2 tickets"),
        "{checks:?}"
    );

    // An expired certificate fails, and the exit says so.
    let dir = tempfile::tempdir()?;
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])?;
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let key = rcgen::KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    let (cert_file, key_file) = (dir.path().join("old.pem"), dir.path().join("old.key"));
    std::fs::write(&cert_file, cert.pem())?;
    std::fs::write(&key_file, key.serialize_pem())?;
    let tls = [
        ("HANDRAISE_SERVER_TLS_CERT", cert_file.display().to_string()),
        ("HANDRAISE_SERVER_TLS_KEY", key_file.display().to_string()),
    ];
    let (ok, checks) = doctor(&server, &tls)?;
    assert!(!ok, "{checks:?}");
    assert!(outcome(&checks, "tls").starts_with("fail"), "{checks:?}");
    assert!(outcome(&checks, "tls").contains("expired"), "{checks:?}");

    // No server running: the listen check does not apply; nothing fails.
    server.stop()?;
    let (ok, checks) = doctor(&server, &[listen])?;
    assert!(ok, "{checks:?}");
    assert!(
        outcome(&checks, "listen").starts_with("skipped"),
        "{checks:?}"
    );
    Ok(())
}
