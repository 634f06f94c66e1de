//! The agent core's hot paths: the outbox commit behind every report, the
//! self-help search that runs as the teacher types, and the sync planner.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use handraise_agent::store::Store;
use handraise_agent::sync::plan::{PlanOptions, QueuedTicket, SyncState, plan};
use handraise_wire::{Article, Category, KbChanges, NewTicket};
use std::hint::black_box;
use time::OffsetDateTime;
use uuid::Uuid;

const WORDS: &[&str] = &[
    "printer",
    "jam",
    "paper",
    "tray",
    "projector",
    "hdmi",
    "signal",
    "wifi",
    "password",
    "login",
    "sound",
    "speaker",
    "volume",
    "chromebook",
    "battery",
    "charger",
    "keyboard",
    "mouse",
    "screen",
    "display",
    "app",
    "update",
    "restart",
    "network",
    "cable",
    "toner",
    "scanner",
    "camera",
];

fn kb(n: usize) -> KbChanges {
    let cats = [
        Category::Printer,
        Category::Display,
        Category::Wifi,
        Category::Sound,
        Category::App,
    ];
    let articles = (0..n)
        .map(|i| {
            let w = |k: usize| WORDS[(i * 7 + k * 3) % WORDS.len()];
            Article {
                slug: format!("article-{i}"),
                title: format!("How to fix the {} {} ({i})", w(0), w(1)),
                body: (0..60).map(&w).collect::<Vec<_>>().join(" "),
                categories: vec![cats[i % cats.len()]],
                keywords: vec![w(2).to_owned(), w(3).to_owned()],
                published: true,
                version: i as i64 + 1,
            }
        })
        .collect();
    KbChanges {
        version: n as i64,
        articles,
    }
}

fn ticket() -> NewTicket {
    NewTicket {
        client_id: Uuid::now_v7(),
        created_at: OffsetDateTime::now_utc(),
        category: Category::Display,
        summary: "Projector shows no picture".into(),
        details: Some("It says no signal from HDMI.".into()),
        urgency: None,
        scope: None,
        room: Some("14".into()),
        reporter: None,
        snapshot: None,
        self_help: Vec::new(),
        offline_at_submit: None,
        announcement_id: None,
    }
}

fn agent(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let mut g = c.benchmark_group("agent");

    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = Store::open(&dir.path().join("agent.db"), now).expect("store");
    g.bench_function("outbox insert_ticket (WAL file)", |b| {
        b.iter_batched(
            ticket,
            |t| {
                store
                    .insert_ticket(black_box(&t), None, now)
                    .expect("insert")
            },
            BatchSize::SmallInput,
        )
    });

    let kb_store = Store::open_in_memory().expect("store");
    kb_store.apply_kb(&kb(300), now).expect("kb");
    g.bench_function("kb search, 300 articles, 2 words", |b| {
        b.iter(|| {
            kb_store
                .search_kb(black_box("printer jam"), Some(Category::Printer), 5)
                .expect("search")
        })
    });
    g.bench_function("kb search, 300 articles, prefix as typed", |b| {
        b.iter(|| {
            kb_store
                .search_kb(black_box("the proj"), None, 5)
                .expect("search")
        })
    });

    let state = SyncState {
        enrolled: true,
        tickets: (0..1000)
            .map(|i| QueuedTicket {
                client_id: Uuid::now_v7(),
                created_at: now - time::Duration::seconds(i),
            })
            .collect(),
        ..SyncState::default()
    };
    g.bench_function("sync plan, 1,000 queued tickets", |b| {
        b.iter(|| plan(black_box(&state), now, &PlanOptions::default()))
    });
    g.finish();
}

criterion_group!(benches, agent);
criterion_main!(benches);
