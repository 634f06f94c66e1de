//! Who reported it: the agent names its OS account from its user id, so a ticket filed from
//! a process without `USER`, `LOGNAME` or `USERNAME` still says who filed it, with the email
//! the district's policy makes (`email_domain`).

use crate::harness::{Agent, Api, Server};
use anyhow::{Context, Result};
use handraise_testkit::last_line;

#[tokio::test(flavor = "multi_thread")]
async fn a_ticket_filed_without_user_env_still_names_the_account_and_policy_email() -> Result<()> {
    let server = tokio::task::block_in_place(Server::start)?;
    let agent = Agent::new()?;
    // The isolated agent's system file: the district's policy.
    std::fs::write(
        agent.dir().join("no-system.toml"),
        "[policy]\nemail_domain = \"Lincoln.Example\"\n",
    )?;
    tokio::task::block_in_place(|| -> Result<()> {
        agent.enroll(&server.url, &server.enroll_token("e2e")?)
    })?;
    let out = tokio::task::block_in_place(|| {
        agent
            .cmd(&[
                "report",
                "--category",
                "printer",
                "--summary",
                "Jammed again",
            ])
            .env_remove("USER")
            .env_remove("LOGNAME")
            .env_remove("USERNAME")
            .output()
    })?;
    anyhow::ensure!(
        out.status.success(),
        "report: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = last_line(&String::from_utf8_lossy(&out.stdout));
    let (ok, err) = tokio::task::block_in_place(|| agent.sync())?;
    anyhow::ensure!(ok, "sync: {err}");
    let number = agent.ticket(&id)?["number"]
        .as_i64()
        .context("no number after sync")?;

    let api = Api::new(&server.url);
    let tech = server.tech_token("Sam")?;
    let (status, ticket) = api.tech_ticket(&tech, number).await?;
    assert_eq!(status, 200, "{ticket}");
    let reporter = &ticket["reporter"];
    // The account database's name for this user id, as `id` reads it.
    let id_out = std::process::Command::new("id").arg("-un").output()?;
    let account = String::from_utf8(id_out.stdout)?.trim().to_owned();
    assert_eq!(reporter["os_user"], account.as_str(), "{ticket}");
    assert_eq!(
        reporter["email"],
        format!("{}@lincoln.example", account.to_lowercase()).as_str(),
        "{ticket}"
    );
    Ok(())
}
