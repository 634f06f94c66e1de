//! The server's ticket intake hot path: the store insert on its own (SQLite
//! file in WAL mode, as served), the feed query behind every long-poll, and a
//! whole `POST /api/v1/tickets` through the router (auth, JSON, validation,
//! insert, receipt) without the network.

use axum::body::Body;
use axum::http::{Request, header};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use handraise_server::auth::hash_secret;
use handraise_server::service::tickets::status_change;
use handraise_server::store::{
    AdminStore, DeviceStore, NewDevice, NewEnrollToken, NewEnrollment, NewTicketRecord,
    TicketStore, now_utc,
};
use handraise_server::{AppState, Config, SqlStore, Store, router};
use handraise_wire::{Category, Scope, TicketStatus, Urgency};
use std::hint::black_box;
use std::sync::Arc;
use tower::ServiceExt;
use uuid::Uuid;

const SNAPSHOT: &str = r#"{"schema_version":1,"collected_at":"2026-11-28T09:14:40Z","hostname":"LINC-RM12-T01","os_name":"Windows","os_version":"Windows 11 Education 23H2","kernel":"10.0.22631","arch":"x86_64","manufacturer":"LENOVO","model":"ThinkPad L13 Gen 4","serial":"PF4XYZ12","cpu":{"model":"Intel(R) Core(TM) i5-1335U","cores":10,"load_1m":23.5},"memory":{"total_bytes":17179869184,"used_bytes":11811160064},"disks":[{"mount":"C:\\","total_bytes":512110190592,"free_bytes":102422038118}],"uptime_secs":384211,"interfaces":[{"name":"Wi-Fi","mac":"a4:c3:f0:11:22:33","addresses":["10.12.40.117"]}],"default_gateway":"10.12.40.1","dns_servers":["10.0.0.53"],"server_reachability":{"reachable":true,"latency_ms":18},"displays":[{"name":"Built-in","width":1920,"height":1080}],"printers":["RM12-HP-M404","Library-Canon"],"top_processes":[{"name":"chrome.exe","cpu_percent":12.5,"memory_bytes":812000000},{"name":"Teams.exe","cpu_percent":6.0,"memory_bytes":530000000}],"app_version":"0.1.0","time_zone":"America/Chicago","clock_skew_secs":-2}"#;

fn store_with_device(dir: &std::path::Path) -> (Arc<SqlStore>, Uuid, String) {
    let store = Arc::new(SqlStore::open(&dir.join("bench.db")).expect("store"));
    let now = now_utc();
    store
        .create_enroll_token(&NewEnrollToken::new(&hash_secret("enroll"), "bench"), now)
        .expect("token");
    let secret = "device-secret".to_owned();
    let id = Uuid::now_v7();
    let device = NewDevice::new(id, hash_secret(&secret), "bench".into(), now);
    store
        .enroll_device(&hash_secret("enroll"), None, &mut |_| {
            Ok(NewEnrollment {
                device: device.clone(),
                previous_device: None,
            })
        })
        .expect("store")
        .expect("enroll");
    (store, id, secret)
}

fn record(device: Uuid) -> NewTicketRecord {
    let now = now_utc();
    NewTicketRecord {
        client_id: Uuid::now_v7(),
        device_id: device,
        status: TicketStatus::New,
        created_at: now,
        received_at: now,
        category: Category::Printer,
        urgency: Urgency::Now,
        scope: Scope::Room,
        summary: "Printer in room 12 jams on every page".into(),
        details: Some("It started after lunch.".into()),
        room: Some("12".into()),
        reporter_json: Some(r#"{"os_user":"jsmith"}"#.into()),
        snapshot_json: Some(SNAPSHOT.into()),
        self_help_json: None,
        offline_at_submit: false,
        announcement_id: None,
    }
}

fn store(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, device, secret) = store_with_device(dir.path());
    let mut g = c.benchmark_group("server");
    g.bench_function("store insert_ticket (WAL file)", |b| {
        b.iter_batched(
            || record(device),
            |r| store.insert_ticket(black_box(&r)).expect("insert"),
            BatchSize::SmallInput,
        )
    });
    // A repeat of a known client id (the idempotent path of a retry).
    let first = record(device);
    store.insert_ticket(&first).expect("insert");
    g.bench_function("store insert_ticket repeat (idempotent)", |b| {
        b.iter(|| store.insert_ticket(black_box(&first)).expect("insert"))
    });
    // A device with 200 feed entries; the long-poll reads the last page.
    let number = store
        .insert_ticket(&record(device))
        .expect("insert")
        .into_inner()
        .number;
    for i in 0..200 {
        let status = if i % 2 == 0 {
            TicketStatus::InProgress
        } else {
            TicketStatus::Assigned
        };
        store
            .change_tickets(&[number], now_utc(), &mut |d| {
                Ok(d.iter().map(|d| status_change(&d.ticket, status)).collect())
            })
            .expect("status");
    }
    g.bench_function("store updates (feed page after cursor)", |b| {
        b.iter(|| {
            store
                .updates(black_box(device), black_box(100), 101)
                .expect("updates")
        })
    });

    let state = AppState::new(
        store.clone() as Arc<dyn Store>,
        Config {
            device_burst: u32::MAX,
            device_per_second: 1e12,
            ..Config::default()
        },
    );
    let app = router(state);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let body = |id: Uuid| {
        format!(
            r#"{{"client_id":"{id}","created_at":"2026-11-28T09:15:02Z","category":"printer","summary":"Printer in room 12 jams","details":"It started after lunch.","room":"12","snapshot":{SNAPSHOT}}}"#
        )
    };
    g.bench_function("router POST /api/v1/tickets (in-process)", |b| {
        b.iter_batched(
            || {
                Request::post("/api/v1/tickets")
                    .header(header::AUTHORIZATION, format!("Bearer {secret}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body(Uuid::now_v7())))
                    .expect("request")
            },
            |req| {
                let resp = rt.block_on(app.clone().oneshot(req)).expect("infallible");
                assert!(resp.status().is_success(), "{}", resp.status());
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, store);
criterion_main!(benches);
