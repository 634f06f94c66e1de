//! Enrollment tokens worth little when borrowed, with the real server and agent binaries:
//! a token binds its school, expires and runs out, and a computer whose device was revoked
//! comes back only when an admin allows it (then listed as a re-enrollment).

use crate::harness::{Agent, Api, Server};
use anyhow::{Context, Result, bail};
use handraise_testkit::last_line;
use serde_json::{Value, json};
use std::process::Output;
use std::time::{Duration, Instant};
use tokio::task::block_in_place;

/// A new enrollment token made with `enroll-token create --label LABEL ARGS`.
fn token(server: &Server, label: &str, args: &[&str]) -> Result<String> {
    let mut all = vec!["enroll-token", "create", "--label", label];
    all.extend_from_slice(args);
    Ok(last_line(&server.cli(&all)?))
}

/// A command's JSON output.
fn json_of(server: &Server, args: &[&str]) -> Result<Vec<Value>> {
    serde_json::from_str(&server.cli(args)?).with_context(|| format!("{args:?} is not JSON"))
}

/// `handraise-agent enroll` (it may fail): the output.
fn enroll(agent: &Agent, server: &Server, token: &str, extra: &[&str]) -> Result<Output> {
    let mut args = vec!["enroll", "--server", server.url.as_str(), "--token", token];
    args.extend_from_slice(extra);
    Ok(agent.cmd(&args).output()?)
}

/// Fails unless the enrollment was refused and the agent said `plain`.
fn assert_refused(out: &Output, plain: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "refused: {err}");
    assert!(err.contains(plain), "says plainly {plain:?}: {err}");
}

/// What this agent stored at enrollment (`enrollment.json`).
fn enrollment(agent: &Agent) -> Result<Value> {
    let text = std::fs::read_to_string(agent.dir().join("enrollment.json"))?;
    Ok(serde_json::from_str(&text)?)
}

/// The device this agent enrolled as.
fn device_id(agent: &Agent) -> Result<String> {
    Ok(enrollment(agent)?["device_id"]
        .as_str()
        .context("no device_id")?
        .to_owned())
}

fn device(server: &Server, id: &str) -> Result<Value> {
    json_of(server, &["devices", "list", "--json"])?
        .into_iter()
        .find(|d| d["id"] == id)
        .with_context(|| format!("device {id} not listed"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_binds_its_school_expires_runs_out_and_a_revoked_computer_stays_out() -> Result<()>
{
    let server = block_in_place(Server::start)?;

    // A token naming a school and building: the device gets them, whatever it claims.
    let lincoln = block_in_place(|| {
        token(
            &server,
            "Lincoln",
            &["--school", "Lincoln Elementary", "--building", "Main"],
        )
    })?;
    let agent = Agent::new()?;
    let out = block_in_place(|| {
        enroll(
            &agent,
            &server,
            &lincoln,
            &["--school", "Washington High", "--building", "Gym"],
        )
    })?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = device_id(&agent)?;
    let d = block_in_place(|| device(&server, &first))?;
    assert_eq!(
        (&d["school"], &d["building"]),
        (&json!("Lincoln Elementary"), &json!("Main"))
    );
    let machine = d["machine_id"]
        .as_str()
        .context("the agent sent a machine id")?;
    assert_eq!(machine.len(), 64, "a hex SHA-256: {machine}");
    let raw = std::fs::read_to_string(agent.machine_id_file())?;
    assert!(
        !machine.contains(raw.trim()),
        "the raw id never leaves the machine"
    );

    // A used-up token is refused with its code, and the agent says so plainly.
    let once = block_in_place(|| token(&server, "one computer", &["--max-uses", "1"]))?;
    let out = block_in_place(|| enroll(&Agent::new()?, &server, &once, &[]))?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = block_in_place(|| enroll(&Agent::new()?, &server, &once, &[]))?;
    assert_refused(&out, "already enrolled as many computers as it allows");

    // An expired token: made to expire in a moment; once the server lists it expired,
    // it is refused.
    let soon = (time::OffsetDateTime::now_utc() + time::Duration::seconds(2))
        .format(&time::format_description::well_known::Rfc3339)?;
    let brief = block_in_place(|| token(&server, "brief", &["--expires-at", &soon]))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let listed = block_in_place(|| json_of(&server, &["enroll-token", "list", "--json"]))?;
        let t = listed
            .iter()
            .find(|t| t["label"] == "brief")
            .context("listed")?;
        assert!(t["expires_at"].is_string(), "{t}");
        if t["state"] == "token_expired" {
            break;
        }
        if Instant::now() > deadline {
            bail!("the token never expired: {t}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let api = Api::new(&server.url);
    let (code, body) = api
        .post(
            "/api/v1/enroll",
            "",
            json!({"token": brief, "hostname": "late"}),
        )
        .await?;
    assert_eq!(
        (code, &body["code"]),
        (401, &json!("token_expired")),
        "{body}"
    );
    let out = block_in_place(|| enroll(&Agent::new()?, &server, &brief, &[]))?;
    assert_refused(&out, "this enrollment token has expired");

    // The list shows every field, uses counted.
    let listed = block_in_place(|| json_of(&server, &["enroll-token", "list", "--json"]))?;
    let once_listed = listed
        .iter()
        .find(|t| t["label"] == "one computer")
        .context("listed")?;
    assert_eq!(
        (&once_listed["uses"], &once_listed["max_uses"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(once_listed["state"], "token_used_up");
    let lincoln_listed = listed
        .iter()
        .find(|t| t["label"] == "Lincoln")
        .context("listed")?;
    assert_eq!(lincoln_listed["school"], "Lincoln Elementary");
    assert_eq!(
        lincoln_listed["expires_at"],
        Value::Null,
        "no --expires-days: never"
    );
    assert_eq!(lincoln_listed["burst"], false);

    // Revoke the device; the same computer (same machine id, a fresh agent) is refused.
    let admin = block_in_place(|| server.admin_token("admin@example.org"))?;
    let (code, body) = api
        .post(
            &format!("/api/v1/tech/devices/{first}/revoke"),
            &admin,
            json!({}),
        )
        .await?;
    assert_eq!(code, 200, "{body}");
    let again = Agent::new()?;
    again.same_computer_as(&agent)?;
    let out = block_in_place(|| enroll(&again, &server, &lincoln, &[]))?;
    assert_refused(
        &out,
        "this computer was removed by your district's IT; ask them to allow it again",
    );
    let (code, body) = api
        .post(
            "/api/v1/enroll",
            "",
            json!({"token": lincoln, "hostname": "x", "machine_id": machine}),
        )
        .await?;
    assert_eq!(
        (code, &body["code"]),
        (403, &json!("machine_revoked")),
        "{body}"
    );
    // Another computer is not held back.
    let out = block_in_place(|| enroll(&Agent::new()?, &server, &lincoln, &[]))?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // An admin allows it: it enrolls, and is listed as a re-enrollment.
    block_in_place(|| server.cli(&["devices", "allow-reenroll", "--device", &first]))?;
    let out = block_in_place(|| enroll(&again, &server, &lincoln, &[]))?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second = device_id(&again)?;
    let listed = block_in_place(|| json_of(&server, &["devices", "reenrollments", "--json"]))?;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let r = &listed[0];
    assert_eq!(
        (&r["previous_device"], &r["device"]),
        (&json!(first), &json!(second))
    );
    assert_eq!(
        (&r["machine_id"], &r["token_label"]),
        (&json!(machine), &json!("Lincoln"))
    );
    assert_eq!(r["previous_revoked"], true);
    // The re-enrolled device works.
    let id = block_in_place(|| again.report("printer", "Back after being allowed"))?;
    assert!(block_in_place(|| again.sync())?.0, "syncs");
    assert_eq!(block_in_place(|| server.count(&id))?, 1);
    Ok(())
}
