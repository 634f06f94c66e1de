//! Forwarding to osTicket, against the stand-in of its documented ticket API
//! (`handraise_testkit::osticket`; osTicket itself cannot be installed
//! here): created once with the facts and the screenshot, a validation
//! refusal (500) final, a lost receipt flagged, a kill between sending and
//! recording flagged, and teacher messages without an SMTP server refused.

use super::*;
use crate::store::DeskOptions;
use crate::store::{DeskStore, TicketStore};
use handraise_testkit::osticket;

const KEY: &str = "BA00B76BAA30F62E1940B46CC1C3C73C";

fn add_osticket(store: &dyn Store, url: &str) -> i64 {
    desks::add(
        store,
        DeskInput {
            kind: "osticket",
            name: "District osTicket",
            url,
            secret: DeskSecret(KEY.into()),
            queue: None,
            poll_secs: None,
            options: DeskOptions {
                from: Some("handraise@district.test".into()),
                ..DeskOptions::default()
            },
            mailbox_secret: None,
        },
        now_utc(),
    )
    .expect("desk")
}

#[tokio::test]
async fn a_ticket_reaches_osticket_once_with_its_facts_and_screenshot() -> R {
    let desk = osticket::start(KEY).await?;
    let store: Arc<dyn Store> = Arc::new(fixtures::store());
    let device = fixtures::enroll(store.as_ref(), None);
    let id = add_osticket(store.as_ref(), &desk.url);
    crate::service::desks::test(&store.desk(id)?.expect("desk")).await?;
    assert!(desk.desk().tickets.is_empty(), "the test created nothing");
    let t = file(store.as_ref(), device, "Printer jams");
    screenshot(store.as_ref(), device, &t)?;
    let now = now_utc();
    assert_eq!(pass(&store, &quiet, now).await?.delivered, 1);
    pass(&store, &quiet, now + TimeDuration::seconds(5)).await?;
    let d = desk.desk();
    assert_eq!(d.tickets.len(), 1, "delivered once");
    let made = &d.tickets[0];
    assert!(
        made.subject
            .contains(&format!("[HandRaise {}]", t.client_id))
    );
    assert_eq!(
        made.email, "handraise@district.test",
        "replies come to HandRaise"
    );
    assert!(made.message.contains("Tray 2 jams on every job."));
    assert!(made.message.contains("lab-12"), "{}", made.message);
    assert_eq!(made.priority_id, Some(3));
    assert_eq!(made.attachments.len(), 1);
    assert_eq!(made.attachments[0].1, "image/png");
    assert_eq!(made.attachments[0].2, b"\x89PNG\r\n\x1a\n");
    let f = store.forward_of(t.number)?.expect("forward");
    assert_eq!(f.state, ForwardState::Sent);
    assert_eq!(f.external_id.as_deref(), Some(made.number.as_str()));
    assert!(!f.receipt_lost);
    Ok(())
}

#[tokio::test]
async fn a_validation_refusal_is_final_and_a_wrong_key_is_retried() -> R {
    let desk = osticket::start(KEY).await?;
    let store: Arc<dyn Store> = Arc::new(fixtures::store());
    let device = fixtures::enroll(store.as_ref(), None);
    add_osticket(store.as_ref(), &desk.url);
    desk.desk().refuse_next = true;
    let t = file(store.as_ref(), device, "Banned");
    let p = pass(&store, &quiet, now_utc()).await?;
    assert_eq!(p.failed, 1, "{p:?}");
    let f = store.forward_of(t.number)?.expect("forward");
    assert_eq!(f.state, ForwardState::Failed);
    assert!(
        f.last_error
            .as_deref()
            .is_some_and(|e| e.contains("validation")),
        "{f:?}"
    );
    assert!(desk.desk().tickets.is_empty());

    // A key osTicket does not accept is the desk's setup: retried.
    let other = add_osticket(store.as_ref(), &desk.url);
    store.set_default_desk(Some(other))?;
    let e = crate::service::desks::test(&DeskRecord {
        secret: DeskSecret("wrong".into()),
        ..store.desk(other)?.expect("desk")
    })
    .await
    .expect_err("refused key");
    assert!(e.to_string().contains("401"), "{e}");
    Ok(())
}

#[tokio::test]
async fn a_lost_receipt_is_flagged_as_a_possible_duplicate() -> R {
    let desk = osticket::start(KEY).await?;
    let store: Arc<dyn Store> = Arc::new(fixtures::store());
    let device = fixtures::enroll(store.as_ref(), None);
    add_osticket(store.as_ref(), &desk.url);
    desk.desk().lose_next_receipt = true;
    let t = file(store.as_ref(), device, "Wifi down");
    let now = now_utc();
    let p = pass(&store, &quiet, now).await?;
    assert_eq!(p.retried, 1, "{p:?}");
    let f = store.forward_of(t.number)?.expect("forward");
    assert!(f.receipt_lost, "{f:?}");
    assert!(!f.in_flight);
    assert!(f.next_at >= now + IN_DOUBT);
    // osTicket cannot be searched: the ticket is created again.
    assert_eq!(pass(&store, &quiet, f.next_at).await?.delivered, 1);
    assert_eq!(
        desk.desk().tickets.len(),
        2,
        "a create-only desk's duplicate"
    );
    let f = store.forward_of(t.number)?.expect("forward");
    assert_eq!(f.state, ForwardState::Sent);
    assert!(f.receipt_lost, "still flagged once delivered");
    assert_eq!(store.list_desks()?[0].receipts_lost, 1);
    let shown = crate::service::desks::forwarded(store.as_ref(), t.number)?.expect("forwarded");
    assert!(shown.receipt_lost);
    Ok(())
}

#[tokio::test]
async fn a_create_cut_short_by_a_kill_is_flagged_and_messages_need_smtp() -> R {
    let desk = osticket::start(KEY).await?;
    let store: Arc<dyn Store> = Arc::new(fixtures::store());
    let device = fixtures::enroll(store.as_ref(), None);
    add_osticket(store.as_ref(), &desk.url);
    let t = file(store.as_ref(), device, "Projector dark");
    // The worker held the forward and was killed before recording anything.
    let now = now_utc();
    store.hold_forward(t.number, now)?;
    assert!(store.forward_of(t.number)?.expect("forward").in_flight);
    assert_eq!(pass(&store, &quiet, now).await?.delivered, 1);
    let f = store.forward_of(t.number)?.expect("forward");
    assert!(f.receipt_lost && !f.in_flight, "{f:?}");

    // osTicket's API cannot add to a ticket: without --smtp a teacher
    // message is refused, saying why.
    message(store.as_ref(), device, &t, "still dark");
    let p = pass(&store, &quiet, now + TimeDuration::seconds(1)).await?;
    assert_eq!(p.failed, 1, "{p:?}");
    let listed = store.list_desks()?;
    assert_eq!(listed[0].failed, 1);
    assert!(
        listed[0]
            .desk
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("--smtp")),
        "{listed:?}"
    );
    Ok(())
}

#[test]
fn mail_read_from_a_mailbox_is_recorded_once() -> R {
    let store = fixtures::store();
    let device = fixtures::enroll(&store, None);
    let id = add_osticket(&store, "http://127.0.0.1:9");
    let t = file(&store, device, "Printer jams");
    let change = crate::service::tickets::tech_message(
        t.number,
        crate::store::MessageKind::Technician,
        "Sam",
        "Try the blue tray".into(),
    );
    let now = now_utc();
    assert!(store.record_desk_mail(id, "r1@desk.test", Some((t.number, &change)), now)?);
    assert!(!store.record_desk_mail(id, "r1@desk.test", Some((t.number, &change)), now)?);
    let replies = store
        .updates(device, 0, 100)?
        .into_iter()
        .filter(|e| matches!(e.kind, FeedKind::Reply(_)))
        .count();
    assert_eq!(replies, 1, "one reply however often it is read");
    assert!(store.record_desk_mail(id, "stray@desk.test", None, now)?);
    assert!(!store.record_desk_mail(id, "stray@desk.test", None, now)?);
    assert_eq!(store.list_desks()?[0].unmatched_mail, 1);
    Ok(())
}
