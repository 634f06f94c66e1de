//! The workflow rules the service decides and the store only writes.

use super::{FeedNotifier, announcements, tickets};
use crate::error::AppError;
use crate::store::tests as fixtures;
use crate::store::{FeedKind, MessageKind, Store, Technician, now_utc};
use handraise_wire::{self as wire, AnnouncementKind, TicketStatus};
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

type R = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn tech() -> Technician {
    Technician {
        id: 0,
        name: "Ada".into(),
    }
}

/// A store with one device and `n` new tickets of it, a notifier and the time.
fn desk(n: usize) -> (Arc<dyn Store>, Uuid, Vec<i64>, FeedNotifier, OffsetDateTime) {
    let store: Arc<dyn Store> = Arc::new(fixtures::store());
    let device = fixtures::enroll(store.as_ref(), None);
    let numbers = (0..n)
        .map(|i| {
            let t = fixtures::ticket(device, &format!("ticket {i}"));
            store.insert_ticket(&t).expect("ticket").into_inner().number
        })
        .collect();
    (store, device, numbers, FeedNotifier::default(), now_utc())
}

#[tokio::test]
async fn assigning_a_new_ticket_makes_it_assigned_and_tells_the_device() -> R {
    let (store, device, n, feed, now) = desk(2);
    let d = tickets::assign(&store, &feed, n[0], Some(" Sam "), now).await?;
    assert_eq!(d.ticket.status, TicketStatus::Assigned);
    assert_eq!(d.ticket.assignee.as_deref(), Some("Sam"));
    // Past `new`, assigning keeps the status; blank unassigns.
    tickets::set_status(&store, &feed, n[1], TicketStatus::InProgress, now).await?;
    let d = tickets::assign(&store, &feed, n[1], Some("Sam"), now).await?;
    assert_eq!(d.ticket.status, TicketStatus::InProgress);
    let d = tickets::assign(&store, &feed, n[1], Some("  "), now).await?;
    assert_eq!(d.ticket.assignee, None);
    let updates = store.updates(device, 0, 100)?;
    assert_eq!(
        updates[0].kind,
        FeedKind::Status {
            status: TicketStatus::Assigned,
            assignee: Some("Sam".into())
        }
    );
    // The same status again writes nothing.
    let before = store.updates(device, 0, 100)?.len();
    tickets::set_status(&store, &feed, n[1], TicketStatus::InProgress, now).await?;
    assert_eq!(store.updates(device, 0, 100)?.len(), before);
    Ok(())
}

#[tokio::test]
async fn replies_reach_the_feed_and_notes_do_not() -> R {
    let (store, device, n, feed, now) = desk(1);
    tickets::note(&store, &tech(), n[0], "internal", now).await?;
    tickets::reply(&store, &feed, &tech(), n[0], "on my way", now).await?;
    let updates = store.updates(device, 0, 100)?;
    assert_eq!(updates.len(), 1);
    assert!(matches!(&updates[0].kind, FeedKind::Reply(m) if m.body == "on my way"));
    assert!(matches!(
        tickets::reply(&store, &feed, &tech(), n[0], "  ", now).await,
        Err(AppError::Invalid(_))
    ));
    Ok(())
}

#[tokio::test]
async fn merging_closes_the_duplicate_once_with_a_note_on_both() -> R {
    let (store, device, n, feed, now) = desk(2);
    let (a, b) = (n[0], n[1]);
    let merged = tickets::merge(&store, &feed, &tech(), (b, a), now).await?;
    assert_eq!(merged.merged_into, Some(a));
    assert_eq!(merged.ticket.status, TicketStatus::Closed);
    assert_eq!(merged.messages.len(), 1);
    assert_eq!(merged.messages[0].kind, MessageKind::Note);
    assert_eq!(
        merged.messages[0].body,
        format!("Merged into #{a} as a duplicate.")
    );
    let target = store.ticket_detail(a)?.ok_or("a")?;
    assert_eq!(
        target.messages[0].body,
        format!("#{b} was merged into this ticket as a duplicate.")
    );
    for (dup, into) in [(b, a), (a, a), (a, b)] {
        assert!(matches!(
            tickets::merge(&store, &feed, &tech(), (dup, into), now).await,
            Err(AppError::Conflict(_))
        ));
    }
    assert!(matches!(
        store.updates(device, 0, 100)?.last().map(|e| &e.kind),
        Some(FeedKind::Status {
            status: TicketStatus::Closed,
            ..
        })
    ));
    Ok(())
}

#[tokio::test]
async fn ending_an_announcement_resolves_only_its_open_tickets() -> R {
    let (store, device, n, feed, now) = desk(3);
    let input = wire::AnnouncementInput {
        kind: AnnouncementKind::Outage,
        title: "Printers down".into(),
        message: "We are on it".into(),
        school: None,
        building: None,
        category: None,
        starts_at: None,
        ends_at: None,
    };
    let a = announcements::create(&store, input, now).await?;
    announcements::link_tickets(&store, n.clone(), Some(a.id), now).await?;
    tickets::set_status(&store, &feed, n[2], TicketStatus::Closed, now).await?;
    let before = store.updates(device, 0, 100)?.len();
    let (ended, resolved) =
        announcements::end(&store, &feed, a.id, Some((&tech(), "Fixed")), now).await?;
    assert_eq!(ended.ends_at, Some(now));
    let numbers: Vec<i64> = resolved.iter().map(|d| d.ticket.number).collect();
    assert_eq!(numbers, vec![n[0], n[1]]);
    for d in &resolved {
        assert_eq!(d.ticket.status, TicketStatus::Resolved);
        let last = d.messages.last().ok_or("reply")?;
        assert_eq!(
            (last.kind, last.body.as_str()),
            (MessageKind::Technician, "Fixed")
        );
    }
    // Each resolved ticket: a reply, then a status entry.
    let feed_after = store.updates(device, 0, 100)?;
    assert_eq!(feed_after.len(), before + 4);
    assert_eq!(
        store.ticket_detail(n[2])?.ok_or("n2")?.ticket.status,
        TicketStatus::Closed
    );
    // Ending without resolving changes no ticket.
    let (_, none) = announcements::end(&store, &feed, a.id, None, now).await?;
    assert!(none.is_empty());
    Ok(())
}

#[test]
fn screenshots_are_png_or_jpeg_by_header_and_by_bytes() {
    use super::intake::{screenshot_type, sniff_image};
    assert_eq!(screenshot_type(Some("image/jpg")).ok(), Some("image/jpeg"));
    assert_eq!(screenshot_type(Some("image/png")).ok(), Some("image/png"));
    assert!(matches!(
        screenshot_type(Some("image/gif")),
        Err(AppError::UnsupportedMediaType(_))
    ));
    assert!(screenshot_type(None).is_err());
    assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
    assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
    assert_eq!(sniff_image(b"GIF89a"), None);
}
