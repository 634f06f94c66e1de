use super::*;
use crate::store::StoreError;
use time::macros::datetime;

fn store() -> Arc<dyn Store> {
    Arc::new(crate::store::tests::store())
}

#[test]
fn a_lease_is_taken_when_free_renewed_by_its_holder_and_taken_over_once_expired() {
    let s = store();
    let t0 = datetime!(2026-12-02 01:00:00 UTC);
    let at = |secs: i64| t0 + time::Duration::seconds(secs);
    let ttl = Duration::from_secs(30);
    let take = |holder: &str, secs: i64| s.try_lease("forwarding", holder, at(secs), ttl);
    assert!(take("a", 0).expect("a"), "free: taken");
    assert!(!take("b", 1).expect("b"), "held by a");
    assert!(take("a", 20).expect("a renews"), "renewed until 50 s");
    assert!(!take("b", 49).expect("b"), "not yet expired");
    assert!(
        s.try_lease("webhooks", "b", at(49), ttl).expect("other"),
        "another name is another lease"
    );
    assert!(take("b", 50).expect("b"), "expired: taken over");
    assert!(!take("a", 51).expect("a"), "a lost it");
    s.release_lease("forwarding", "a")
        .expect("not a's: nothing");
    assert!(!take("a", 52).expect("a"), "still b's");
    s.release_lease("forwarding", "b").expect("release");
    assert!(take("a", 53).expect("a"), "released: free at once");
    s.clear_leases().expect("clear");
    assert!(take("c", 54).expect("c"), "cleared: free at once");
}

#[test]
fn a_holder_that_cannot_reach_the_database_stops_a_renewal_before_its_lease_expires() {
    let t0 = datetime!(2026-12-02 01:00:00 UTC);
    let at = |secs: i64| t0 + time::Duration::seconds(secs);
    let down = StoreError::NotFound;
    let mut held_at = None;
    assert!(!still_held(Err(&down), &mut held_at, at(0)), "never held");
    assert!(still_held(Ok(true), &mut held_at, at(0)));
    assert!(
        still_held(Err(&down), &mut held_at, at(10)),
        "one failed renewal"
    );
    let margin = (TTL - RENEW_EVERY).as_secs() as i64;
    assert!(still_held(Err(&down), &mut held_at, at(margin - 1)));
    assert!(
        !still_held(Err(&down), &mut held_at, at(margin)),
        "a renewal before the TTL ends, it stops"
    );
    assert!(
        !still_held(Err(&down), &mut held_at, at(1)),
        "and stays stopped"
    );
    assert!(still_held(Ok(true), &mut held_at, at(40)), "taken again");
    assert!(
        !still_held(Ok(false), &mut held_at, at(41)),
        "another holds it"
    );
    assert_eq!(held_at, None);
}

#[tokio::test]
async fn a_worker_runs_on_the_node_holding_its_lease_and_another_takes_over_when_it_stops() {
    let s = store();
    let (a, b) = (Leases::new(Arc::clone(&s)), Leases::new(Arc::clone(&s)));
    assert_ne!(a.holder(), b.holder(), "every node has its own holder id");
    let (started, mut on) = tokio::sync::mpsc::unbounded_channel();
    let job = move || {
        let started = started.clone();
        async move {
            let _ = started.send(());
            std::future::pending::<()>().await;
        }
    };
    let worker = a.spawn_worker("forwarding", job);
    on.recv().await.expect("the worker started on a");
    let (s2, holder) = (Arc::clone(&s), b.holder().to_owned());
    let try_b = move || s2.try_lease("forwarding", &holder, now_utc(), TTL);
    assert!(!try_b().expect("b"), "a holds it");
    // a ends (shutdown): its worker stops and its lease is given up.
    worker.abort();
    let _ = worker.await;
    a.release_all().await;
    assert!(try_b().expect("b"), "b takes over at once");
}
