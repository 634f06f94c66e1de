//! Several server nodes over one database, each with its own state (limits, long-polls,
//! caches), and their cluster notifiers on a real PostgreSQL server: the one named by
//! `HANDRAISE_TEST_POSTGRES` (an admin URL; each test makes a fresh database there).
//! Without it the tests that need it say so and pass.

use super::R;
use handraise_server::service::FeedNotifier;
use handraise_server::service::cluster::{ClusterNotifier, start};
use handraise_testkit::postgres;
use handraise_testkit::router::App;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_postgres::NoTls;
use uuid::Uuid;

/// Generous: a wake normally takes milliseconds.
const DEADLINE: Duration = Duration::from_secs(30);

/// An admin connection and a fresh database's URL on the server of
/// `HANDRAISE_TEST_POSTGRES`; `None` (with a note) when it is unset.
async fn database() -> Option<(tokio_postgres::Client, String)> {
    let Some(admin) = postgres::admin_url() else {
        eprintln!("note: HANDRAISE_TEST_POSTGRES is unset: the cluster notifier is not tested");
        return None;
    };
    let url = postgres::test_database()
        .expect("a test database")
        .expect("HANDRAISE_TEST_POSTGRES is set");
    let (client, connection) = tokio_postgres::connect(&admin, NoTls)
        .await
        .expect("the PostgreSQL of HANDRAISE_TEST_POSTGRES answers");
    tokio::spawn(connection);
    Some((client, url))
}

/// A node: its feed notifier and its cluster notifier, named `app` in
/// `pg_stat_activity` (so a test can cut its connection).
fn node(url: &str, app: &str) -> (Arc<FeedNotifier>, ClusterNotifier) {
    let feed = Arc::new(FeedNotifier::default());
    let sep = if url.contains('?') { "&" } else { "?" };
    let url = format!("{url}{sep}application_name={app}");
    let cluster = start(&url, Arc::clone(&feed)).expect("the cluster notifier starts");
    (feed, cluster)
}

/// Does `act`, then waits (up to [`DEADLINE`]) until `notify` is woken;
/// how long it took.
async fn wakes(notify: &Notify, what: &str, act: impl FnOnce()) -> Duration {
    let notified = notify.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    let t0 = Instant::now();
    act();
    tokio::time::timeout(DEADLINE, notified)
        .await
        .unwrap_or_else(|_| panic!("{what}: not woken within {DEADLINE:?}"));
    t0.elapsed()
}

/// Waits until `from`'s news reach `to`: notifies a probe device from `from`
/// until `to` wakes it (both notifiers are connected and listening then).
async fn connected(from: &FeedNotifier, to: &FeedNotifier) {
    let probe = Uuid::new_v4();
    let waiting = to.subscribe(probe);
    let deadline = Instant::now() + DEADLINE;
    loop {
        let notified = waiting.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        from.notify(probe);
        let step = tokio::time::timeout(Duration::from_millis(200), notified).await;
        if step.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "the nodes never connected");
    }
    to.unsubscribe(probe, waiting);
}

#[tokio::test]
async fn a_change_notified_on_one_node_wakes_that_device_s_long_poll_on_another() {
    let Some((_admin, url)) = database().await else {
        return;
    };
    let (a, _a) = node(&url, "wake_a");
    let (b, _b) = node(&url, "wake_b");
    connected(&a, &b).await;
    let (device, other) = (Uuid::new_v4(), Uuid::new_v4());
    let on_b = b.subscribe(device);
    let other_on_b = b.subscribe(other);
    let not_other = other_on_b.notified();
    tokio::pin!(not_other);
    not_other.as_mut().enable();
    let took = wakes(&on_b, "node b", || a.notify(device)).await;
    eprintln!("a NOTIFY from node a woke node b's long-poll in {took:?}");
    assert!(
        futures_util::poll!(not_other).is_pending(),
        "another device is not disturbed"
    );
}

#[tokio::test]
async fn a_lost_connection_comes_back_and_wakes_every_long_poll_once_to_read_again() {
    let Some((admin, url)) = database().await else {
        return;
    };
    let (a, _a) = node(&url, "lost_a");
    let (b, _b) = node(&url, "lost_b");
    connected(&a, &b).await;
    connected(&b, &a).await;
    let device = Uuid::new_v4();
    let on_b = b.subscribe(device);
    let notified = on_b.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    // The database ends both nodes' connections (a restart, a failover).
    let cut = admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name IN ('lost_a', 'lost_b')",
            &[],
        )
        .await
        .expect("terminate");
    assert_eq!(cut, 2, "both nodes' connections were there");
    // Nobody notifies `device`: b's catch-up wakes it once it listens again.
    tokio::time::timeout(DEADLINE, notified)
        .await
        .expect("the catch-up woke the long-poll");
    // And news flow again both ways, what a queued while away included.
    let queued = Uuid::new_v4();
    let on_b = b.subscribe(queued);
    let took = wakes(&on_b, "after the reconnect", || a.notify(queued)).await;
    eprintln!("after a reconnect, a wake reached the other node in {took:?}");
    connected(&b, &a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_posted_through_one_node_reaches_a_device_long_polling_another_at_once() -> R {
    let Some((_admin, url)) = database().await else {
        return Ok(());
    };
    let a = Arc::new(App::new());
    let b = a.another_node();
    let _on_a = a.state.start_cluster_notifier(&url)?;
    let _on_b = b.state.start_cluster_notifier(&url)?;
    connected(b.state.feed(), a.state.feed()).await;
    let (_, secret) = a.device(None, None).await;
    let (_, number) = a.ticket(&secret, "The projector shows nothing").await;
    let tech = b.tech("Ada");
    let page = a.get("/api/v1/updates?cursor=0", &secret).await;
    let mut cursor = page.body["cursor"].as_i64().ok_or("cursor")?;
    let mut took = Vec::new();
    for round in 0..20 {
        // The device long-polls node a for 25 s.
        let poll = {
            let (a, secret) = (Arc::clone(&a), secret.clone());
            tokio::spawn(async move {
                let uri = format!("/api/v1/updates?cursor={cursor}&wait=25");
                a.get(&uri, &secret).await
            })
        };
        let deadline = Instant::now() + DEADLINE;
        while a.state.long_polls().is_empty() {
            assert!(Instant::now() < deadline, "the long-poll never began");
            tokio::task::yield_now().await;
        }
        // A technician replies through node b.
        let text = format!("On my way ({round})");
        let t0 = Instant::now();
        let r = b
            .ticket_action(&tech, number, "reply", json!({ "body": text }))
            .await;
        assert!(r.status.is_success(), "{}", r.body);
        let page = poll.await?;
        took.push(t0.elapsed());
        let updates = page.body["updates"].as_array().ok_or("updates")?;
        assert!(
            updates.iter().any(|u| u.to_string().contains(&text)),
            "{}",
            page.body
        );
        cursor = page.body["cursor"].as_i64().ok_or("cursor")?;
    }
    took.sort();
    let (median, slowest) = (took[took.len() / 2], took[took.len() - 1]);
    eprintln!(
        "a reply through node b reached the device long-polling node a in {median:?} \
         (median of {}), {slowest:?} at most",
        took.len()
    );
    // Woken, not answered at the end of its wait.
    assert!(slowest < Duration::from_secs(10), "{took:?}");
    Ok(())
}
