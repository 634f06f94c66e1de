//! Forwarding against a small stand-in of RT's REST2 (the real RT is used
//! by the end-to-end tests): routing, the outbox, exactly once, Retry-After,
//! replies and status back, and HandRaise's own correspondence left alone.

use super::*;
use crate::service::desks::{self, DeskInput};
use crate::store::tests as fixtures;
use crate::store::{DeskSecret, FeedKind, ForwardState, NewTeacherMessage};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use handraise_wire::TicketStatus;
use serde_json::{Value, json};
use std::sync::Mutex;
use time::Duration as TimeDuration;

type R = Result<(), Box<dyn std::error::Error + Send + Sync>>;

#[derive(Debug, Clone)]
struct FakeTicket {
    id: i64,
    subject: String,
    content: String,
    priority: Option<i64>,
    attachments: usize,
}

#[derive(Debug, Clone)]
struct FakeTxn {
    id: i64,
    ticket: i64,
    kind: &'static str,
    data: String,
    new_value: String,
    content: String,
}

#[derive(Debug, Default)]
struct Fake {
    tickets: Vec<FakeTicket>,
    txns: Vec<FakeTxn>,
    next_txn: i64,
    /// Every request answers this status (with `Retry-After` when set).
    fail: Option<(u16, Option<u64>)>,
    requests: usize,
    /// Creates the ticket, then drops the connection without answering.
    drop_create_answers: bool,
}

type Shared = Arc<Mutex<Fake>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Fake> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

impl Fake {
    fn txn(
        &mut self,
        ticket: i64,
        kind: &'static str,
        data: &str,
        new_value: &str,
        content: &str,
    ) -> i64 {
        self.next_txn += 1;
        let id = self.next_txn;
        self.txns.push(FakeTxn {
            id,
            ticket,
            kind,
            data: data.into(),
            new_value: new_value.into(),
            content: content.into(),
        });
        id
    }
}

fn failing(s: &Shared) -> Option<Response> {
    let mut f = lock(s);
    f.requests += 1;
    let (status, retry) = f.fail?;
    let mut h = HeaderMap::new();
    if let Some(r) = retry {
        h.insert("retry-after", r.to_string().parse().ok()?);
    }
    Some(
        (
            StatusCode::from_u16(status).ok()?,
            h,
            Json(json!({"message": "unavailable"})),
        )
            .into_response(),
    )
}

/// The number after `key` in a TicketSQL query.
fn number_after(query: &str, key: &str) -> Option<i64> {
    let rest = &query[query.find(key)? + key.len()..];
    rest.trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

async fn search(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    if let Some(r) = failing(&s) {
        return r;
    }
    let query = q.get("query").cloned().unwrap_or_default();
    let needle = query.split('\'').nth(1).unwrap_or_default().to_owned();
    let f = lock(&s);
    let items: Vec<Value> = f
        .tickets
        .iter()
        .filter(|t| t.subject.contains(&needle))
        .map(|t| json!({"id": t.id.to_string(), "type": "ticket"}))
        .collect();
    Json(json!({"items": items, "pages": 1, "total": items.len()})).into_response()
}

async fn create(State(s): State<Shared>, Json(body): Json<Value>) -> Response {
    if let Some(r) = failing(&s) {
        return r;
    }
    let mut f = lock(&s);
    let id = f.tickets.len() as i64 + 1;
    f.tickets.push(FakeTicket {
        id,
        subject: body["Subject"].as_str().unwrap_or_default().into(),
        content: body["Content"].as_str().unwrap_or_default().into(),
        priority: body["Priority"].as_i64(),
        attachments: body["Attachments"].as_array().map_or(0, Vec::len),
    });
    f.txn(id, "Create", "", "", "");
    if f.drop_create_answers {
        drop(f);
        // Ends this connection's task: the client hears nothing.
        panic!("the stand-in drops this answer on purpose");
    }
    (StatusCode::CREATED, Json(json!({"id": id.to_string()}))).into_response()
}

async fn correspond(
    State(s): State<Shared>,
    Path(id): Path<i64>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = failing(&s) {
        return r;
    }
    let mut f = lock(&s);
    let txn = f.txn(
        id,
        "Correspond",
        body["Subject"].as_str().unwrap_or("No Subject"),
        "",
        body["Content"].as_str().unwrap_or_default(),
    );
    let mut h = HeaderMap::new();
    h.insert(
        "location",
        format!("/REST/2.0/transaction/{txn}")
            .parse()
            .expect("header"),
    );
    (
        StatusCode::CREATED,
        h,
        Json(json!(["Correspondence added"])),
    )
        .into_response()
}

async fn transactions(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = failing(&s) {
        return r;
    }
    let query = q.get("query").cloned().unwrap_or_default();
    let ticket = number_after(&query, "ObjectId =").unwrap_or(-1);
    let after = number_after(&query, "id >").unwrap_or(0);
    let f = lock(&s);
    let items: Vec<Value> = f
        .txns
        .iter()
        .filter(|t| t.ticket == ticket && t.id > after)
        .filter(|t| query.contains(&format!("Type = '{}'", t.kind)))
        .map(|t| {
            json!({"id": t.id.to_string(), "Type": t.kind, "Data": t.data,
                   "NewValue": t.new_value, "Creator": {"id": "sam"}})
        })
        .collect();
    Json(json!({"items": items, "pages": 1})).into_response()
}

async fn attachments(State(s): State<Shared>, Path(id): Path<i64>) -> Response {
    if let Some(r) = failing(&s) {
        return r;
    }
    let f = lock(&s);
    let items: Vec<Value> = f
        .txns
        .iter()
        .filter(|t| t.id == id)
        .map(|t| json!({"ContentType": "text/plain", "Content": t.content}))
        .collect();
    Json(json!({"items": items, "pages": 1})).into_response()
}

/// The stand-in on 127.0.0.1; its base URL and state.
async fn fake_rt() -> (String, Shared) {
    let shared: Shared = Arc::default();
    let app = Router::new()
        .route("/REST/2.0/tickets", get(search))
        .route("/REST/2.0/ticket", post(create))
        .route("/REST/2.0/ticket/{id}/correspond", post(correspond))
        .route("/REST/2.0/transactions", get(transactions))
        .route("/REST/2.0/transaction/{id}/attachments", get(attachments))
        .with_state(Arc::clone(&shared));
    let addr = handraise_testkit::router::serve_on_loopback(app)
        .await
        .expect("serve on loopback");
    (format!("http://{addr}"), shared)
}

fn add_desk(store: &dyn Store, url: &str) -> i64 {
    desks::add(
        store,
        DeskInput {
            kind: "rt",
            name: "District RT",
            url,
            secret: DeskSecret("1-14-token".into()),
            queue: None,
            poll_secs: None,
            options: Default::default(),
            mailbox_secret: None,
        },
        now_utc(),
    )
    .expect("desk")
}

fn file(store: &dyn Store, device: Uuid, summary: &str) -> TicketRecord {
    let mut t = fixtures::ticket(device, summary);
    // Received a while ago: its screenshot grace is over.
    t.received_at -= SCREENSHOT_GRACE;
    t.details = Some("Tray 2 jams on every job.".into());
    t.urgency = handraise_wire::Urgency::Now;
    t.snapshot_json = Some(r#"{"schema_version":1,"hostname":"lab-12"}"#.into());
    let quota = crate::store::Quota::unlimited(crate::store::utc_day(t.received_at));
    file_ticket(store, &t, &quota).expect("filed").into_inner()
}

fn message(store: &dyn Store, device: Uuid, ticket: &TicketRecord, body: &str) -> Uuid {
    let id = Uuid::now_v7();
    let now = now_utc();
    file_message(
        store,
        device,
        ticket.client_id,
        &NewTeacherMessage {
            id,
            body: body.into(),
            created_at: now,
            received_at: now,
        },
        &crate::store::Quota::unlimited(crate::store::utc_day(now)),
    )
    .expect("message");
    id
}

fn quiet(_: Uuid) {}

/// Uploads a (tiny) PNG screenshot of ticket `t`.
fn screenshot(store: &dyn Store, device: Uuid, t: &TicketRecord) -> StoreResult<i64> {
    store.put_screenshot(
        device,
        &crate::store::NewScreenshot {
            ticket_client_id: t.client_id,
            content_type: "image/png",
            bytes: b"\x89PNG\r\n\x1a\n",
            uploaded_at: now_utc(),
        },
    )
}

#[tokio::test]
async fn new_tickets_go_to_the_default_desk_and_older_ones_stay() -> R {
    let store: Arc<dyn Store> = Arc::new(fixtures::store());
    let device = fixtures::enroll(store.as_ref(), None);
    let before = file(store.as_ref(), device, "before any desk");
    let desk = add_desk(store.as_ref(), "http://127.0.0.1:9");
    let after = file(store.as_ref(), device, "after the desk");
    assert_eq!(store.forward_of(before.number)?, None);
    let f = store.forward_of(after.number)?.expect("forwarded");
    assert_eq!((f.desk_id, f.state), (desk, ForwardState::Queued));
    assert_eq!(f.next_at, after.received_at + SCREENSHOT_GRACE);
    // A message on the forwarded ticket is queued for the desk; one on the
    // other is not.
    message(store.as_ref(), device, &after, "still jammed");
    message(store.as_ref(), device, &before, "hello");
    let listed = store.list_desks()?;
    assert_eq!(listed[0].queued, 2, "the ticket and its message");
    // A forwarded ticket is worked in its desk: technicians here cannot change it.
    let feed = crate::service::FeedNotifier::default();
    let sam = crate::store::Technician {
        id: 0,
        name: "Sam".into(),
    };
    let reply = |n| crate::service::tickets::reply(&store, &feed, &sam, n, "On my way", now_utc());
    let e = reply(after.number).await.expect_err("refused");
    assert!(matches!(e, AppError::Conflict(_)), "{e:?}");
    reply(before.number).await?;
    // A disabled desk receives no new tickets.
    store.set_desk_enabled(desk, false)?;
    let off = file(store.as_ref(), device, "while disabled");
    assert_eq!(store.forward_of(off.number)?, None);
    Ok(())
}

#[test]
fn routing_rules_pick_the_desk_by_school_building_and_category() -> R {
    let store: Arc<dyn Store> = Arc::new(fixtures::store());
    let s = store.as_ref();
    let lincoln = fixtures::enroll(s, Some("Lincoln"));
    let elsewhere = fixtures::enroll(s, Some("Adams"));
    let first = add_desk(s, "http://127.0.0.1:9");
    let printers = add_desk(s, "http://127.0.0.1:9");
    let now = now_utc();
    desks::add_route(s, None, None, Some("printer"), Some(printers), now)?;
    desks::add_route(s, Some(" lincoln "), None, None, None, now)?;
    assert!(desks::add_route(s, None, None, Some("toaster"), None, now).is_err());
    assert!(desks::add_route(s, None, None, None, Some(99), now).is_err());
    let to = |device, category| {
        let mut t = fixtures::ticket(device, "x");
        t.category = category;
        route(s, &t).expect("route").map(|d| d.id)
    };
    use handraise_wire::Category::{Printer, Wifi};
    assert_eq!(
        to(lincoln, Printer),
        Some(printers),
        "the first matching rule"
    );
    assert_eq!(to(lincoln, Wifi), None, "Lincoln keeps its tickets");
    assert_eq!(
        to(elsewhere, Wifi),
        Some(first),
        "no rule: the default desk"
    );
    store.set_desk_enabled(printers, false)?;
    assert_eq!(
        to(elsewhere, Printer),
        None,
        "a disabled desk takes nothing"
    );
    let rules = store.routes()?;
    desks::remove_route(s, rules[0].id)?;
    assert_eq!(to(elsewhere, Printer), Some(first));
    Ok(())
}

#[tokio::test]
async fn a_ticket_reaches_rt_once_with_its_facts() -> R {
    let (url, rt) = fake_rt().await;
    let store: Arc<dyn Store> = Arc::new(fixtures::store());
    let device = fixtures::enroll(store.as_ref(), None);
    add_desk(store.as_ref(), &url);
    let t = file(store.as_ref(), device, "Printer jams");
    screenshot(store.as_ref(), device, &t)?;
    let now = now_utc();
    let p = pass(&store, &quiet, now).await?;
    assert_eq!(p.delivered, 1);
    {
        let f = lock(&rt);
        assert_eq!(f.tickets.len(), 1);
        let made = &f.tickets[0];
        assert!(made.subject.starts_with("Printer jams [HandRaise "));
        assert!(made.subject.contains(&t.client_id.to_string()));
        assert!(made.content.contains("Tray 2 jams on every job."));
        assert!(made.content.contains("hostname"), "{}", made.content);
        assert!(made.content.contains("lab-12"));
        assert_eq!(made.priority, Some(90));
        assert_eq!(made.attachments, 1, "the screenshot");
    }
    let f = store.forward_of(t.number)?.expect("forward");
    assert_eq!(f.state, ForwardState::Sent);
    assert_eq!(f.external_id.as_deref(), Some("1"));
    pass(&store, &quiet, now + TimeDuration::seconds(1)).await?;
    assert_eq!(lock(&rt).tickets.len(), 1, "delivered once");
    Ok(())
}

#[tokio::test]
async fn a_lost_receipt_finds_the_desk_ticket_instead_of_creating_another() -> R {
    let (url, rt) = fake_rt().await;
    let store: Arc<dyn Store> = Arc::new(fixtures::store());
    let device = fixtures::enroll(store.as_ref(), None);
    add_desk(store.as_ref(), &url);
    let t = file(store.as_ref(), device, "Projector dark");
    // RT created it, but the server died before recording the answer.
    lock(&rt).tickets.push(FakeTicket {
        id: 1,
        subject: format!("Projector dark [HandRaise {}]", t.client_id),
        content: String::new(),
        priority: None,
        attachments: 0,
    });
    pass(&store, &quiet, now_utc()).await?;
    assert_eq!(lock(&rt).tickets.len(), 1, "no second desk ticket");
    let f = store.forward_of(t.number)?.expect("forward");
    assert_eq!(f.external_id.as_deref(), Some("1"));
    Ok(())
}

#[tokio::test]
async fn a_desk_that_is_down_is_retried_when_it_says() -> R {
    let (url, rt) = fake_rt().await;
    let store: Arc<dyn Store> = Arc::new(fixtures::store());
    let device = fixtures::enroll(store.as_ref(), None);
    add_desk(store.as_ref(), &url);
    let a = file(store.as_ref(), device, "one");
    let b = file(store.as_ref(), device, "two");
    lock(&rt).fail = Some((503, Some(7)));
    let now = now_utc();
    let p = pass(&store, &quiet, now).await?;
    assert_eq!((p.delivered, p.retried), (0, 2));
    assert_eq!(
        lock(&rt).requests,
        1,
        "a desk that failed is not asked again this pass"
    );
    let f = store.forward_of(a.number)?.expect("forward");
    assert_eq!(f.state, ForwardState::Queued);
    assert_eq!(f.next_at, now + TimeDuration::seconds(7));
    let listed = store.list_desks()?;
    assert!(
        listed[0]
            .desk
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("503"))
    );
    // Not before the time asked for.
    lock(&rt).fail = None;
    let p = pass(&store, &quiet, now + TimeDuration::seconds(6)).await?;
    assert_eq!(p.delivered, 0);
    let p = pass(&store, &quiet, now + TimeDuration::seconds(7)).await?;
    assert_eq!(p.delivered, 2);
    assert_eq!(lock(&rt).tickets.len(), 2);
    assert_eq!(
        store.forward_of(b.number)?.map(|f| f.state),
        Some(ForwardState::Sent)
    );
    // A refusal of the item itself is not retried.
    lock(&rt).fail = Some((400, None));
    let c = file(store.as_ref(), device, "three");
    let p = pass(&store, &quiet, now + TimeDuration::seconds(8)).await?;
    assert_eq!(p.failed, 1);
    assert_eq!(
        store.forward_of(c.number)?.map(|f| f.state),
        Some(ForwardState::Failed)
    );
    // An admin fixes what was refused and retries it; another is taken back.
    lock(&rt).fail = None;
    let later = now + TimeDuration::seconds(9);
    desks::retry(store.as_ref(), c.number, later)?;
    assert!(
        desks::retry(store.as_ref(), c.number, later).is_err(),
        "nothing refused now"
    );
    assert_eq!(pass(&store, &quiet, later).await?.delivered, 1);
    assert!(matches!(
        desks::skip(store.as_ref(), c.number),
        Err(AppError::Conflict(_))
    ));
    lock(&rt).fail = Some((400, None));
    let d = file(store.as_ref(), device, "four");
    pass(&store, &quiet, later).await?;
    desks::skip(store.as_ref(), d.number)?;
    assert_eq!(store.forward_of(d.number)?, None);
    Ok(())
}

#[tokio::test]
async fn replies_and_status_come_back_and_our_own_messages_do_not() -> R {
    let (url, rt) = fake_rt().await;
    let store: Arc<dyn Store> = Arc::new(fixtures::store());
    let device = fixtures::enroll(store.as_ref(), None);
    add_desk(store.as_ref(), &url);
    let t = file(store.as_ref(), device, "No sound");
    let now = now_utc();
    pass(&store, &quiet, now).await?;
    // The teacher writes; it goes to RT as correspondence, once.
    let m = message(store.as_ref(), device, &t, "It is still silent");
    pass(&store, &quiet, now + TimeDuration::seconds(1)).await?;
    {
        let f = lock(&rt);
        let ours: Vec<&FakeTxn> = f.txns.iter().filter(|x| x.kind == "Correspond").collect();
        assert_eq!(ours.len(), 1);
        assert_eq!(ours[0].data, format!("HandRaise message {m}"));
        assert_eq!(ours[0].content, "It is still silent");
    }
    // A technician answers in RT, comments, and resolves.
    {
        let mut f = lock(&rt);
        f.txn(1, "Correspond", "No Subject", "", "Check the mute key.");
        f.txn(1, "Comment", "No Subject", "", "internal: cable?");
        f.txn(1, "Status", "", "resolved", "");
    }
    let woken = Arc::new(Mutex::new(Vec::new()));
    let w = Arc::clone(&woken);
    let notify = move |d: Uuid| w.lock().unwrap_or_else(|e| e.into_inner()).push(d);
    pass(&store, &notify, now + TimeDuration::seconds(40)).await?;
    let feed = store.updates(device, 0, 100)?;
    let replies: Vec<String> = feed
        .iter()
        .filter_map(|e| match &e.kind {
            FeedKind::Reply(m) => Some(m.body.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(replies, vec!["Check the mute key.".to_owned()]);
    assert!(feed.iter().any(|e| e.kind
        == FeedKind::Status {
            status: TicketStatus::Resolved,
            assignee: None
        }));
    let detail = store.ticket_detail(t.number)?.expect("ticket");
    assert_eq!(detail.ticket.status, TicketStatus::Resolved);
    assert!(!detail.messages.iter().any(|m| m.body.contains("internal")));
    assert_eq!(
        *woken.lock().unwrap_or_else(|e| e.into_inner()),
        vec![device]
    );
    // Read once: the next poll adds nothing.
    pass(&store, &quiet, now + TimeDuration::seconds(80)).await?;
    assert_eq!(store.updates(device, 0, 100)?.len(), feed.len());
    Ok(())
}

#[tokio::test]
async fn a_teacher_message_whose_receipt_was_lost_is_not_sent_again() -> R {
    let (url, rt) = fake_rt().await;
    let store: Arc<dyn Store> = Arc::new(fixtures::store());
    let device = fixtures::enroll(store.as_ref(), None);
    add_desk(store.as_ref(), &url);
    let t = file(store.as_ref(), device, "Wi-Fi drops");
    let now = now_utc();
    pass(&store, &quiet, now).await?;
    let m = message(store.as_ref(), device, &t, "again at 10:40");
    // RT added it, but the answer was never recorded.
    let txn = lock(&rt).txn(
        1,
        "Correspond",
        &format!("HandRaise message {m}\n"),
        "",
        "again",
    );
    pass(&store, &quiet, now + TimeDuration::seconds(40)).await?;
    let count = lock(&rt)
        .txns
        .iter()
        .filter(|x| x.kind == "Correspond")
        .count();
    assert_eq!(count, 1);
    assert_eq!(store.own_desk_entries(t.number)?, vec![txn.to_string()]);
    // And it is not read back as a technician's reply.
    let feed = store.updates(device, 0, 100)?;
    assert!(!feed.iter().any(|e| matches!(e.kind, FeedKind::Reply(_))));
    Ok(())
}

#[tokio::test]
async fn an_unanswered_create_is_not_searched_for_until_the_desk_has_finished() -> R {
    let (url, rt) = fake_rt().await;
    let store: Arc<dyn Store> = Arc::new(fixtures::store());
    let device = fixtures::enroll(store.as_ref(), None);
    add_desk(store.as_ref(), &url);
    let t = file(store.as_ref(), device, "Laptop will not boot");
    lock(&rt).drop_create_answers = true;
    let now = now_utc();
    let p = pass(&store, &quiet, now).await?;
    assert_eq!(p.retried, 1);
    let f = store.forward_of(t.number)?.expect("forward");
    assert_eq!(f.state, ForwardState::Queued);
    // RT may still be creating it: it is not searched for before the window ends.
    assert!(
        f.next_at >= now + IN_DOUBT,
        "{} < {}",
        f.next_at,
        now + IN_DOUBT
    );
    lock(&rt).drop_create_answers = false;
    let p = pass(&store, &quiet, now + IN_DOUBT - TimeDuration::seconds(1)).await?;
    assert_eq!(p, Pass::default());
    let p = pass(&store, &quiet, f.next_at).await?;
    assert_eq!(p.delivered, 1);
    assert_eq!(lock(&rt).tickets.len(), 1, "found, not created again");
    Ok(())
}

#[test]
fn backoff_doubles_to_a_cap_and_obeys_retry_after() {
    let now = now_utc();
    assert_eq!(next_try(1, None, now), now + TimeDuration::seconds(1));
    assert_eq!(next_try(3, None, now), now + TimeDuration::seconds(4));
    assert_eq!(next_try(30, None, now), now + TimeDuration::seconds(60));
    assert_eq!(
        next_try(1, Some(Duration::from_secs(120)), now),
        now + TimeDuration::seconds(120)
    );
}

mod email;
mod osticket;
