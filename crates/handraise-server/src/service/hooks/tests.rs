//! Webhooks against a receiver in the test that checks every signature as a
//! district's would: the events made, delivered once, retried after a 500,
//! `Retry-After` honoured, and never a routing target.

use super::*;
use crate::desk::webhook::{HEADER_EVENT, HEADER_EVENT_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use crate::service::forward::file_ticket;
use crate::store::tests as fixtures;
use crate::store::{DeskSecret, NewAnnouncement, NewMeToo, NewTeacherMessage, Quota, utc_day};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Mutex;
use time::Duration as TimeDuration;
use uuid::Uuid;

type R = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const SECRET: &str = "whsec-test-1";

/// One request the receiver took, its signature checked.
#[derive(Debug, Clone)]
struct Received {
    kind: String,
    event_id: String,
    body: Value,
    signature_ok: bool,
}

#[derive(Debug, Default)]
struct Receiver {
    got: Vec<Received>,
    /// Answers to give, first first; then 200.
    script: Vec<(u16, Option<u64>)>,
}

type Shared = Arc<Mutex<Receiver>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Receiver> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// Checks the signature as the documentation tells a receiver to.
fn verify(headers: &HeaderMap, body: &[u8]) -> bool {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()) else {
        return false;
    };
    mac.update(h(HEADER_TIMESTAMP).as_bytes());
    mac.update(b".");
    mac.update(body);
    let Some(hex_sig) = h(HEADER_SIGNATURE).strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let fresh = h(HEADER_TIMESTAMP)
        .parse::<i64>()
        .is_ok_and(|t| (now_utc().unix_timestamp() - t).abs() < 300);
    fresh && mac.verify_slice(&sig).is_ok()
}

async fn receive(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut r = lock(&s);
    r.got.push(Received {
        kind: h(HEADER_EVENT),
        event_id: h(HEADER_EVENT_ID),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        signature_ok: verify(&headers, &body),
    });
    let (status, retry) = if r.script.is_empty() {
        (200, None)
    } else {
        r.script.remove(0)
    };
    let mut out = HeaderMap::new();
    if let Some(secs) = retry
        && let Ok(v) = secs.to_string().parse()
    {
        out.insert("retry-after", v);
    }
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        out,
        "ok",
    )
        .into_response()
}

async fn receiver() -> (String, Shared) {
    let shared: Shared = Arc::default();
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(Arc::clone(&shared));
    let addr = handraise_testkit::router::serve_on_loopback(app)
        .await
        .expect("serve on loopback");
    (format!("http://{addr}/hook?channel=it"), shared)
}

fn input(url: &str) -> DeskInput<'_> {
    DeskInput {
        kind: "webhook",
        name: "IT chat",
        url,
        secret: DeskSecret(SECRET.into()),
        queue: None,
        poll_secs: None,
        options: Default::default(),
        mailbox_secret: None,
    }
}

fn add_hook(store: &dyn Store, url: &str, threshold: Option<u32>) -> i64 {
    add(store, input(url), threshold, now_utc()).expect("webhook")
}

fn file(store: &dyn Store, device: Uuid, summary: &str, urgency: Urgency) -> i64 {
    let mut t = fixtures::ticket(device, summary);
    t.urgency = urgency;
    t.room = Some("B-12".into());
    t.reporter_json = Some(r#"{"os_user":"ana","display_name":"Ana Smith"}"#.into());
    let quota = Quota::unlimited(utc_day(t.received_at));
    file_ticket(store, &t, &quota)
        .expect("filed")
        .into_inner()
        .number
}

#[tokio::test]
async fn events_are_signed_delivered_once_and_a_500_is_retried() -> R {
    let store: Arc<dyn Store> = Arc::new(fixtures::store());
    let device = fixtures::enroll(store.as_ref(), Some("Lincoln"));
    let before = file(store.as_ref(), device, "before the webhook", Urgency::Soon);
    let (url, rx) = receiver().await;
    lock(&rx).script.push((500, None));
    let hook = add_hook(store.as_ref(), &url, Some(2));
    let plain = file(store.as_ref(), device, "Printer jammed", Urgency::Soon);
    let urgent = file(store.as_ref(), device, "Projector dead", Urgency::Now);
    let client_id = store
        .ticket_detail(urgent)?
        .ok_or("ticket")?
        .ticket
        .client_id;
    let now = now_utc();
    crate::service::forward::file_message(
        store.as_ref(),
        device,
        client_id,
        &NewTeacherMessage {
            id: Uuid::now_v7(),
            body: "Still dead after a restart".into(),
            created_at: now,
            received_at: now,
        },
        &Quota::unlimited(utc_day(now)),
    )?;

    // The first pass: three events made; the receiver's 500 puts the first
    // back and the others wait for the next pass.
    let p = pass(&store, now).await?;
    assert_eq!((p.delivered, p.retried), (0, 3), "{p:?}");
    assert_eq!(
        lock(&rx).got.len(),
        1,
        "the webhook is not asked again in a pass"
    );
    let c = counts(store.as_ref(), hook)?;
    assert_eq!((c.queued, c.sent, c.failed), (3, 0, 0));
    assert!(c.oldest_queued.is_some());
    let desk = desks::get(store.as_ref(), hook)?;
    assert!(
        desk.last_error
            .as_deref()
            .is_some_and(|e| e.contains("500"))
    );

    // Not due before the backoff; then all delivered once, in order.
    assert_eq!(pass(&store, now).await?.delivered, 0);
    let later = now + TimeDuration::seconds(61);
    assert_eq!(pass(&store, later).await?.delivered, 3);
    assert_eq!(
        pass(&store, later + TimeDuration::seconds(61)).await?,
        Pass::default()
    );
    let got = lock(&rx).got.clone();
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(got.iter().all(|g| g.signature_ok), "{got:?}");
    assert_eq!(got[0].event_id, got[1].event_id, "the retry keeps its id");
    let kinds: Vec<&str> = got[1..].iter().map(|g| g.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["ticket.new", "ticket.urgent", "ticket.teacher_reply"]
    );
    let new = &got[1].body;
    assert_eq!(new["type"], "ticket.new");
    assert_eq!(new["id"], got[1].event_id.as_str());
    assert_eq!(new["ticket"]["number"], plain);
    assert_eq!(new["ticket"]["school"], "Lincoln");
    assert_eq!(new["ticket"]["reporter"]["display_name"], "Ana Smith");
    assert!(
        new["text"]
            .as_str()
            .is_some_and(|t| t.contains("Printer jammed")
                && t.contains("Ana Smith")
                && t.contains("room B-12")),
        "{new}"
    );
    assert!(got.iter().all(|g| g.body["ticket"]["number"] != before));
    assert_eq!(
        got[3].body["ticket"]["message"]["body"],
        "Still dead after a restart"
    );
    let listed = desks::list(store.as_ref())?;
    assert_eq!((listed[0].queued, listed[0].sent), (0, 3));
    Ok(())
}

#[tokio::test]
async fn retry_after_is_honoured_and_a_refusal_is_retried_or_skipped_by_an_admin() -> R {
    let store: Arc<dyn Store> = Arc::new(fixtures::store());
    let device = fixtures::enroll(store.as_ref(), None);
    let (url, rx) = receiver().await;
    lock(&rx).script.extend([(429, Some(120)), (422, None)]);
    let hook = add_hook(store.as_ref(), &url, None);
    file(store.as_ref(), device, "Wi-Fi down", Urgency::Soon);
    let now = now_utc();
    assert_eq!(pass(&store, now).await?.retried, 1);
    // Well past the doubling backoff but before Retry-After: not asked.
    assert_eq!(
        pass(&store, now + TimeDuration::seconds(90)).await?,
        Pass::default()
    );
    assert_eq!(lock(&rx).got.len(), 1);
    // After it: asked, and this time refused for good (422).
    let p = pass(&store, now + TimeDuration::seconds(121)).await?;
    assert_eq!(p.failed, 1, "{p:?}");
    let failed = failed(store.as_ref(), hook)?;
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("422"))
    );
    // An admin's retry posts it again, and it goes.
    retry(
        store.as_ref(),
        failed[0].id,
        now + TimeDuration::seconds(122),
    )?;
    assert!(
        retry(store.as_ref(), failed[0].id, now).is_err(),
        "not failed any more"
    );
    let p = pass(&store, now + TimeDuration::seconds(122)).await?;
    assert_eq!(p.delivered, 1, "{p:?}");
    // A skipped event is never made again.
    lock(&rx).script.push((400, None));
    file(store.as_ref(), device, "Sound gone", Urgency::Soon);
    let later = now + TimeDuration::seconds(130);
    assert_eq!(pass(&store, later).await?.failed, 1);
    let id = failed_id(store.as_ref(), hook)?;
    skip(store.as_ref(), id)?;
    assert_eq!(pass(&store, later).await?, Pass::default());
    assert_eq!(counts(store.as_ref(), hook)?.failed, 0);
    Ok(())
}

fn failed_id(store: &dyn Store, hook: i64) -> Result<i64, AppError> {
    failed(store, hook)?
        .first()
        .map(|e| e.id)
        .ok_or(AppError::NotFound)
}

#[tokio::test]
async fn an_outage_makes_one_event_when_its_me_toos_reach_the_threshold() -> R {
    let store: Arc<dyn Store> = Arc::new(fixtures::store());
    let (url, rx) = receiver().await;
    add_hook(store.as_ref(), &url, Some(2));
    let now = now_utc();
    let a = store.create_announcement(
        &NewAnnouncement {
            kind: handraise_wire::AnnouncementKind::Outage,
            title: "Wi-Fi down in building B".into(),
            message: String::new(),
            school: None,
            building: None,
            category: None,
            starts_at: now - TimeDuration::minutes(1),
            ends_at: None,
        },
        now,
    )?;
    let me_too = |store: &dyn Store| -> R {
        let device = fixtures::enroll(store, None);
        let record = store.device(device)?.ok_or("device")?;
        store.insert_me_too(
            &record,
            &NewMeToo {
                client_id: Uuid::now_v7(),
                announcement_id: a.id,
                room: None,
                reporter_json: None,
                created_at: now,
                received_at: now,
            },
        )?;
        Ok(())
    };
    me_too(store.as_ref())?;
    assert_eq!(pass(&store, now).await?, Pass::default(), "one is below 2");
    me_too(store.as_ref())?;
    me_too(store.as_ref())?;
    assert_eq!(pass(&store, now).await?.delivered, 1);
    assert_eq!(pass(&store, now).await?, Pass::default(), "once per outage");
    let got = lock(&rx).got.clone();
    assert_eq!(got[0].kind, "outage.me_too");
    assert_eq!(got[0].body["announcement"]["me_too_count"], 3);
    assert_eq!(got[0].body["announcement"]["threshold"], 2);
    Ok(())
}

#[tokio::test]
async fn a_webhook_is_never_where_tickets_are_worked() -> R {
    let store: Arc<dyn Store> = Arc::new(fixtures::store());
    let s = store.as_ref();
    let hook = add_hook(s, "http://127.0.0.1:9/hook", None);
    // The first desk added, yet not the default: tickets stay in HandRaise.
    assert_eq!(s.default_desk()?, None);
    let e = desks::set_default(s, Some(hook)).expect_err("refused");
    assert!(e.to_string().contains("cannot be the default"), "{e}");
    let e = desks::add_route(s, None, None, None, Some(hook), now_utc()).expect_err("refused");
    assert!(e.to_string().contains("routing target"), "{e}");
    let device = fixtures::enroll(s, None);
    let n = file(s, device, "stays here", Urgency::Soon);
    assert_eq!(s.forward_of(n)?, None);
    // Checked like any desk; a threshold out of range is refused.
    let bad = |url: &'static str, threshold| add(s, input(url), threshold, now_utc());
    assert!(bad("ftp://chat.example/hook", None).is_err());
    assert!(bad("https://chat.example/hook", Some(0)).is_err());
    assert!(bad("https://chat.example/hook?key=1", Some(3)).is_ok());
    Ok(())
}
