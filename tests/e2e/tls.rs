//! HTTPS end to end: the real server with a certificate made here (on 127.0.0.1), the real
//! agent trusting it through the district policy's `ca_file`; SIGHUP reloads the certificate;
//! without one the server speaks plain HTTP; the agent refuses plain HTTP to another computer.

use crate::harness::{Agent, Server, bin};
use anyhow::{Context, Result, bail};
use handraise_testkit::Launch;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A self-signed certificate for 127.0.0.1 written as `NAME.pem` and `NAME.key` in `dir`.
fn certificate(dir: &Path, name: &str) -> Result<(PathBuf, PathBuf, String)> {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])?;
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let pem = made.cert.pem();
    std::fs::write(&cert, &pem)?;
    std::fs::write(&key, made.signing_key.serialize_pem())?;
    Ok((cert, key, pem))
}

/// `GET url` from a client trusting only the certificate `pem` (any root when `None`): the
/// status and `Strict-Transport-Security`, or the error of a refused connection.
fn get(pem: Option<&str>, url: &str) -> Result<Result<(u16, Option<String>)>> {
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(10));
    if let Some(pem) = pem {
        builder = builder.tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes())?]);
    }
    let client = builder.build()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(async {
        let resp = client.get(url).send().await?;
        let hsts = resp
            .headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok((resp.status().as_u16(), hsts))
    }))
}

#[test]
fn an_agent_trusting_the_district_ca_enrolls_and_syncs_over_https() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (cert, key, pem) = certificate(dir.path(), "server")?;
    let cert_arg = cert.to_string_lossy().into_owned();
    let key_arg = key.to_string_lossy().into_owned();
    let server = Launch::new(bin("handraise-server")?)
        .env("HANDRAISE_SERVER_TLS_CERT", &cert_arg)
        .env("HANDRAISE_SERVER_TLS_KEY", &key_arg)
        .start()?;
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let token = server.enroll_token("e2e")?;

    // The system's roots do not know this certificate: enrolling fails until the policy
    // names it.
    let agent = Agent::new()?;
    let refused = agent
        .cmd(&["enroll", "--server", &server.url, "--token", &token])
        .output()?;
    assert!(
        !refused.status.success(),
        "enrolled without trusting the certificate"
    );
    std::fs::write(
        agent.dir().join("no-system.toml"),
        format!("[policy]\nca_file = {:?}\n", cert_arg),
    )?;
    agent.enroll(&server.url, &token)?;
    let id = agent.report("printer", "Printer in room 12 is jammed")?;
    let (ok, err) = agent.sync()?;
    assert!(ok, "sync over https: {err}");
    assert_eq!(server.count(&id)?, 1);

    // HTTPS answers carry HSTS.
    let health = format!("{}/healthz", server.url);
    let hsts = Some("max-age=31536000".to_owned());
    assert_eq!(get(Some(&pem), &health)??, (200, hsts.clone()));

    // SIGHUP reloads the certificate; a bad file keeps the one in use.
    let (new_cert, new_key, new_pem) = certificate(dir.path(), "renewed")?;
    std::fs::rename(&new_cert, &cert)?;
    std::fs::rename(&new_key, &key)?;
    let pid = server.pid().context("server pid")?.to_string();
    let hangup = || Command::new("kill").args(["-HUP", &pid]).status();
    hangup()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(Some(&new_pem), &health)?.is_err() {
        if Instant::now() > deadline {
            bail!("the renewed certificate was not served within 30 s of SIGHUP");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        get(Some(&pem), &health)?.is_err(),
        "the old certificate is gone"
    );
    std::fs::write(&cert, "garbage")?;
    hangup()?;
    // The server logs why and keeps serving the renewed pair (and is still alive).
    assert_eq!(get(Some(&new_pem), &health)??, (200, hsts));
    Ok(())
}

#[test]
fn without_a_certificate_the_server_speaks_plain_http() -> Result<()> {
    let server = Server::start()?;
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );
    let health = format!("{}/healthz", server.url);
    assert_eq!(get(None, &health)??, (200, None));
    Ok(())
}

#[test]
fn the_agent_refuses_plain_http_to_another_computer_unless_the_policy_allows_it() -> Result<()> {
    let agent = Agent::new()?;
    let enroll = ["enroll", "--server", "http://help.invalid", "--token", "t"];
    let refused = agent.cmd(&enroll).output()?;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("allow_insecure_http = true"), "{stderr}");
    // Allowed, it gets as far as the network (the name does not resolve).
    std::fs::write(
        agent.dir().join("no-system.toml"),
        "[policy]\nallow_insecure_http = true\n",
    )?;
    let tried = agent.cmd(&enroll).output()?;
    let stderr = String::from_utf8_lossy(&tried.stderr);
    assert!(!stderr.contains("allow_insecure_http = true"), "{stderr}");
    Ok(())
}
