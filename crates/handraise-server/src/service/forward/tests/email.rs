//! An email desk against real Postfix and Dovecot on loopback
//! (`handraise_testkit::mail`; skipped without them or root, failing under
//! `HANDRAISE_REQUIRE_PEERS`): a mail sent again after a kill between the
//! SMTP server's acceptance and the record is the same mail, with the same
//! Message-ID, and the forward says a duplicate may exist.

use super::*;
use crate::store::{DeskOptions, ForwardJob};
use handraise_testkit::mail::{DESK, HANDRAISE, MailPeer};

#[tokio::test(flavor = "multi_thread")]
async fn a_mail_sent_again_after_a_kill_has_the_same_message_id() -> R {
    let Some(mail) = tokio::task::block_in_place(MailPeer::start)? else {
        return Ok(());
    };
    let store: Arc<dyn Store> = Arc::new(fixtures::store());
    let device = fixtures::enroll(store.as_ref(), None);
    let id = desks::add(
        store.as_ref(),
        DeskInput {
            kind: "email",
            name: "Desk by mail",
            url: &mail.smtp_url(),
            secret: DeskSecret(String::new()),
            queue: None,
            poll_secs: None,
            options: DeskOptions {
                to: Some(DESK.0.into()),
                from: Some(HANDRAISE.0.into()),
                ..DeskOptions::default()
            },
            mailbox_secret: None,
        },
        now_utc(),
    )?;
    let desk = store.desk(id)?.expect("desk");
    desks::test(&desk).await?;
    let t = file(store.as_ref(), device, "Printer jams");
    screenshot(store.as_ref(), device, &t)?;
    // A worker held the forward, sent the mail, and was killed before recording it.
    let now = now_utc();
    store.hold_forward(t.number, now)?;
    let job = ForwardJob {
        forward: store.forward_of(t.number)?.expect("forward"),
        detail: store.ticket_detail(t.number)?.expect("detail"),
    };
    let client = Client::of(&desk)?;
    let shot = store.screenshot(t.number)?;
    let first = client
        .deliver_ticket(&desk, &job, shot, async { Ok(()) })
        .await??;
    // The restarted worker cannot ask SMTP whether it went: it sends it again, flagged.
    assert_eq!(pass(&store, &quiet, now).await?.delivered, 1);
    let f = store.forward_of(t.number)?.expect("forward");
    assert!(f.receipt_lost && !f.in_flight, "{f:?}");
    assert_eq!(f.external_id.as_deref(), Some(first.as_str()));
    let mails = tokio::task::block_in_place(|| {
        let end = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let got = mail.mails(DESK.0)?;
            if got.len() >= 2 || std::time::Instant::now() > end {
                return Ok::<_, anyhow::Error>(got);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .map_err(|e| format!("{e:#}\n{}", mail.logs()))?;
    assert_eq!(mails.len(), 2, "{}", mail.logs());
    let ids: Vec<&str> = mails
        .iter()
        .filter_map(|m| {
            m.raw
                .lines()
                .find_map(|l| l.strip_prefix("Message-ID: "))
                .map(str::trim)
        })
        .collect();
    assert_eq!(ids, [format!("<{first}>"), format!("<{first}>")]);
    assert!(mails[0].raw.contains("filename=\"screenshot.png\""));
    assert!(
        mails[0].raw.contains("lab-12"),
        "the facts: {}",
        mails[0].raw
    );
    Ok(())
}
