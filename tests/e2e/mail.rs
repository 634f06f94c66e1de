//! Forwarding to desks that speak mail, end to end: the real server and agent binaries,
//! real mail servers from Debian's packages on loopback (`handraise_testkit::mail`:
//! Postfix delivering to Dovecot, private configurations in a temporary directory), and
//! for osTicket the stand-in of its documented API (`handraise_testkit::osticket`), since
//! osTicket itself cannot be installed here.
//!
//! Without Postfix, Dovecot or root these tests skip and say why; under
//! `HANDRAISE_REQUIRE_PEERS=1` (`cargo xtask test`) they fail instead.

use crate::desks::local_bodies;
use crate::harness::{Agent, PNG, Server, enrolled_pair, sync_until_done};
use anyhow::{Context, Result};
use handraise_testkit::last_line;
use handraise_testkit::mail::{DESK, HANDRAISE, MailPeer};
use serde_json::Value;
use std::time::Duration;
use tokio::task::block_in_place;
/// [`harness::wait_for`](crate::harness::wait_for) over a check that blocks (a CLI run,
/// a mailbox read), kept off the runtime's worker.
async fn wait_for<T>(
    what: &str,
    within: Duration,
    mut check: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    crate::harness::wait_for(what, within, || {
        std::future::ready(block_in_place(&mut check))
    })
    .await
}

/// Reports a ticket with a screenshot (the agent never touches the network to do it),
/// then syncs; its client id.
fn report_with_screenshot(agent: &Agent, summary: &str) -> Result<String> {
    let shot = agent.dir().join("shot.png");
    std::fs::write(&shot, PNG)?;
    let id = last_line(&agent.ok(&[
        "report",
        "--category",
        "printer",
        "--summary",
        summary,
        "--details",
        "Tray 2 jams on every job.",
        "--urgency",
        "now",
        "--room",
        "B12",
        "--screenshot",
        shot.to_str().context("utf-8 path")?,
    ])?);
    sync_until_done(agent, 5)?;
    Ok(id)
}

/// `desk list --json` of the server.
fn desks(server: &Server) -> Result<Vec<Value>> {
    Ok(serde_json::from_str(
        &server.cli(&["desk", "list", "--json"])?,
    )?)
}

/// Bodies of the messages on ticket `id` in `handraise-agent status --json`, after a sync.
fn replies_on_device(agent: &Agent, id: &str) -> Result<Vec<String>> {
    agent.sync()?;
    local_bodies(agent, id)
}

/// A header's value in a raw mail (the first one, unfolded).
fn header(raw: &str, name: &str) -> Option<String> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    let mut lines = raw.lines().take_while(|l| !l.trim().is_empty()).peekable();
    while let Some(l) = lines.next() {
        if l.to_ascii_lowercase().starts_with(&prefix) {
            let mut v = l[prefix.len()..].trim().to_owned();
            while let Some(next) = lines.peek().filter(|n| n.starts_with([' ', '\t'])) {
                v.push(' ');
                v.push_str(next.trim());
                lines.next();
            }
            return Some(v);
        }
    }
    None
}

/// A mail to HandRaise's mailbox from the desk.
fn desk_mail(extra_headers: &str, subject: &str, in_reply_to: &str, body: &str) -> String {
    let id = uuid::Uuid::now_v7();
    format!(
        "From: Sam Tech <{}>\r\nTo: {}\r\nSubject: {subject}\r\nMessage-ID: <{id}@desk.test>\r\n\
         In-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n{extra_headers}\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        DESK.0, HANDRAISE.0
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_reaches_an_email_desk_once_and_replies_thread_back() -> Result<()> {
    let Some(mail) = block_in_place(MailPeer::start)? else {
        return Ok(());
    };
    let (server, agent) = block_in_place(enrolled_pair)?;
    let desk = block_in_place(|| {
        server.cli_with_input(
            &[
                "desk",
                "add",
                "--kind",
                "email",
                "--name",
                "District desk by mail",
                "--url",
                &mail.smtp_url(),
                "--to",
                DESK.0,
                "--from",
                HANDRAISE.0,
                "--imap",
                &mail.imap_url(),
                "--imap-secret-file",
                "-",
                "--poll-secs",
                "5",
            ],
            HANDRAISE.1,
        )
    })?;
    let desk = last_line(&desk);
    let tested = block_in_place(|| server.cli(&["desk", "test", "--id", &desk]))?;
    assert!(tested.contains("nothing was sent"), "{tested}");
    assert!(tested.contains("mailbox logged in"), "{tested}");
    assert!(
        block_in_place(|| mail.mails(DESK.0))?.is_empty(),
        "the test sent nothing"
    );

    let id = block_in_place(|| report_with_screenshot(&agent, "Printer in B12 jams"))?;
    // In the desk's mailbox once, with the reference, the facts and the screenshot.
    let ticket_mail = wait_for("the ticket mail", Duration::from_secs(90), || {
        let got = mail.mails(DESK.0)?;
        Ok(got.first().map(|m| m.raw.clone()))
    })
    .await
    .with_context(|| mail.logs())?;
    let subject = header(&ticket_mail, "Subject").unwrap_or_default();
    assert!(subject.starts_with("Printer in B12 jams"), "{subject}");
    assert!(subject.contains(&format!("[HandRaise {id}]")), "{subject}");
    let message_id = header(&ticket_mail, "Message-ID").context("a Message-ID")?;
    assert_eq!(message_id, format!("<handraise.{id}@district.test>"));
    for want in [
        "Tray 2 jams on every job.",
        "B12",
        "Device facts",
        "hostname",
    ] {
        assert!(
            ticket_mail.contains(want),
            "{want:?} missing from:\n{ticket_mail}"
        );
    }
    assert!(
        ticket_mail.contains("filename=\"screenshot.png\""),
        "the screenshot is attached:\n{ticket_mail}"
    );
    let listed = block_in_place(|| desks(&server))?;
    assert_eq!(listed[0]["sent"], 1, "{listed:?}");
    assert_eq!(listed[0]["kind"], "email");
    assert_eq!(listed[0]["options"]["to"], DESK.0);
    let shown = block_in_place(|| server.cli(&["desk", "list"]))? + &tested;
    assert!(
        !shown.contains(HANDRAISE.1) && !listed[0].to_string().contains(HANDRAISE.1),
        "the mailbox password is never shown"
    );

    // The desk's auto-reply, a reply to a ticket HandRaise never sent, then a technician's
    // answer, all mailed to HandRaise's mailbox.
    block_in_place(|| {
        mail.send(
            DESK.0,
            HANDRAISE.0,
            &desk_mail(
                "Auto-Submitted: auto-replied\r\n",
                &format!("Received: {subject}"),
                &message_id,
                "We have received your request.",
            ),
        )?;
        mail.send(
            DESK.0,
            HANDRAISE.0,
            &desk_mail(
                "",
                "Re: something else",
                "<unknown@elsewhere.test>",
                "Who is this?",
            ),
        )?;
        mail.send(
            DESK.0,
            HANDRAISE.0,
            &desk_mail(
                "",
                &format!("Re: {subject}"),
                &message_id,
                "Open tray 2 and remove the torn sheet.\r\n\r\nOn Mon, HandRaise wrote:\r\n> Tray 2 jams",
            ),
        )
    })?;
    let bodies = wait_for("the reply on the device", Duration::from_secs(120), || {
        let bodies = replies_on_device(&agent, &id)?;
        Ok(bodies
            .iter()
            .any(|b| b == "Open tray 2 and remove the torn sheet.")
            .then_some(bodies))
    })
    .await
    .with_context(|| mail.logs())?;
    assert!(
        !bodies.iter().any(|b| b.contains("received your request")),
        "the auto-reply is ignored: {bodies:?}"
    );
    assert!(
        !bodies.iter().any(|b| b.contains("Who is this")),
        "{bodies:?}"
    );
    // The reply to an unknown reference is left unread in the mailbox and reported.
    let listed = wait_for("the stray mail reported", Duration::from_secs(60), || {
        let listed = desks(&server)?;
        Ok((listed[0]["unmatched_mail"] == 1).then_some(listed))
    })
    .await?;
    let error = listed[0]["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("answers no forwarded ticket"), "{error}");
    let inbox = block_in_place(|| mail.mails(HANDRAISE.0))?;
    assert_eq!(inbox.len(), 3);
    let unseen: Vec<&str> = inbox
        .iter()
        .filter(|m| !m.seen)
        .map(|m| m.raw.as_str())
        .collect();
    assert_eq!(unseen.len(), 1, "only the stray mail stays unread");
    assert!(unseen[0].contains("Who is this?"));

    // The teacher answers; the desk's mailbox gets it once, in the ticket's thread.
    block_in_place(|| {
        agent.ok(&[
            "message",
            "--ticket",
            &id,
            "--body",
            "Done, it prints again",
        ])?;
        sync_until_done(&agent, 5)
    })?;
    let follow_up = wait_for(
        "the teacher's reply in the desk",
        Duration::from_secs(90),
        || {
            let got = mail.mails(DESK.0)?;
            Ok(got
                .iter()
                .find(|m| m.raw.contains("Done, it prints again"))
                .map(|m| m.raw.clone()))
        },
    )
    .await?;
    assert_eq!(header(&follow_up, "In-Reply-To"), Some(message_id.clone()));
    assert!(
        header(&follow_up, "Subject").is_some_and(|s| s.contains(&format!("[HandRaise {id}]"))),
        "{follow_up}"
    );
    // Still one reply on the device after more polls: nothing was read twice.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let bodies = block_in_place(|| replies_on_device(&agent, &id))?;
    let answers = bodies
        .iter()
        .filter(|b| *b == "Open tray 2 and remove the torn sheet.")
        .count();
    assert_eq!(answers, 1, "{bodies:?}");
    assert_eq!(
        block_in_place(|| mail.mails(DESK.0))?.len(),
        2,
        "ticket and message, once each"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn osticket_gets_each_ticket_once_and_its_mail_replies_come_back() -> Result<()> {
    let Some(mail) = block_in_place(MailPeer::start)? else {
        return Ok(());
    };
    let key = "BA00B76BAA30F62E1940B46CC1C3C73C";
    let desk = handraise_testkit::osticket::start(key).await?;
    let (server, agent) = block_in_place(enrolled_pair)?;
    let secrets = tempfile::tempdir()?;
    let imap_secret = secrets.path().join("imap.secret");
    std::fs::write(&imap_secret, HANDRAISE.1)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&imap_secret, std::fs::Permissions::from_mode(0o600))?;
    }
    let id = block_in_place(|| {
        server.cli_with_input(
            &[
                "desk",
                "add",
                "--kind",
                "osticket",
                "--name",
                "District osTicket",
                "--url",
                &desk.url,
                "--secret-file",
                "-",
                "--from",
                HANDRAISE.0,
                "--imap",
                &mail.imap_url(),
                "--imap-secret-file",
                imap_secret.to_str().unwrap_or_default(),
                "--poll-secs",
                "5",
            ],
            key,
        )
    })?;
    let desk_id = last_line(&id);
    let tested = block_in_place(|| server.cli(&["desk", "test", "--id", &desk_id]))?;
    assert!(desk.desk().tickets.is_empty(), "the test created nothing");
    let shown = tested + &block_in_place(|| server.cli(&["desk", "list", "--json"]))?;
    assert!(
        !shown.contains(key) && !shown.contains(HANDRAISE.1),
        "{shown}"
    );

    // Created once, with the screenshot and the facts.
    let first = block_in_place(|| report_with_screenshot(&agent, "Projector in B12 is dark"))?;
    let number = wait_for("the osTicket ticket", Duration::from_secs(90), || {
        Ok(desk.desk().tickets.first().map(|t| t.number.clone()))
    })
    .await?;
    {
        let d = desk.desk();
        let t = &d.tickets[0];
        assert!(
            t.subject.contains(&format!("[HandRaise {first}]")),
            "{}",
            t.subject
        );
        assert_eq!(t.email, HANDRAISE.0);
        assert!(t.message.contains("Device facts"), "{}", t.message);
        assert_eq!(t.attachments.len(), 1);
        assert_eq!(t.attachments[0].2, PNG);
    }

    // A validation refusal (osTicket answers 500) is final.
    desk.desk().refuse_next = true;
    block_in_place(|| report_with_screenshot(&agent, "Banned requester"))?;
    wait_for("the refusal recorded", Duration::from_secs(90), || {
        Ok((desks(&server)?[0]["failed"] == 1).then_some(()))
    })
    .await?;
    // A lost receipt: created, the answer cut off; sent again, flagged as a possible duplicate.
    desk.desk().lose_next_receipt = true;
    block_in_place(|| report_with_screenshot(&agent, "Wifi drops"))?;
    let listed = wait_for("the lost receipt flagged", Duration::from_secs(150), || {
        let listed = desks(&server)?;
        Ok((listed[0]["receipts_lost"] == 1 && listed[0]["sent"] == 2).then_some(listed))
    })
    .await?;
    assert_eq!(listed[0]["failed"], 1, "{listed:?}");
    let wifi = desk
        .desk()
        .tickets
        .iter()
        .filter(|t| t.subject.starts_with("Wifi drops"))
        .count();
    assert_eq!(
        wifi, 2,
        "osTicket cannot be searched: the duplicate the flag warns of"
    );
    assert_eq!(desk.desk().tickets.len(), 3);

    // osTicket mails its requester (HandRaise) the agent's answer: it threads back.
    let subject = format!("Re: Projector in B12 is dark [HandRaise {first}] [#{number}]");
    block_in_place(|| {
        mail.send(
            DESK.0,
            HANDRAISE.0,
            &desk_mail(
                "",
                &subject,
                "<osticket.1@desk.test>",
                "The lamp was replaced.",
            ),
        )
    })?;
    wait_for(
        "the osTicket reply on the device",
        Duration::from_secs(120),
        || {
            Ok(replies_on_device(&agent, &first)?
                .iter()
                .any(|b| b == "The lamp was replaced.")
                .then_some(()))
        },
    )
    .await
    .with_context(|| mail.logs())?;
    Ok(())
}
