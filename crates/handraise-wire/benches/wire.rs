//! JSON encoding and decoding of the bodies on the server's and the agent's
//! hot paths: a new ticket with a full device snapshot, and a full updates page.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use handraise_wire::{NewTicket, UpdatesPage};
use std::hint::black_box;

/// A ticket as the agent sends it, with a full snapshot of a classroom laptop.
fn new_ticket_json() -> String {
    let processes: Vec<String> = (0..10)
        .map(|i| {
            format!(
                r#"{{"name":"process-{i}.exe","cpu_percent":{}.5,"memory_bytes":{}}}"#,
                10 - i,
                100_000_000 + i * 1_000_000
            )
        })
        .collect();
    format!(
        r#"{{"client_id":"01933b5e-8c4a-7d2e-9f10-2a3b4c5d6e7f","created_at":"2026-11-28T09:15:02.123Z",
        "category":"printer","summary":"Printer in room 12 jams on every page",
        "details":"It started after lunch. I tried turning it off and on again and reseating the paper tray.",
        "urgency":"now","scope":"room","room":"12",
        "reporter":{{"os_user":"jsmith","display_name":"Jane Smith","email":"jsmith@lincoln.example"}},
        "snapshot":{{"schema_version":1,"collected_at":"2026-11-28T09:14:40Z","hostname":"LINC-RM12-T01",
          "os_name":"Windows","os_version":"Windows 11 Education 23H2","kernel":"10.0.22631","arch":"x86_64",
          "manufacturer":"LENOVO","model":"ThinkPad L13 Gen 4","serial":"PF4XYZ12",
          "cpu":{{"model":"Intel(R) Core(TM) i5-1335U","cores":10,"load_1m":23.5}},
          "memory":{{"total_bytes":17179869184,"used_bytes":11811160064}},
          "disks":[{{"mount":"C:\\","total_bytes":512110190592,"free_bytes":102422038118}}],
          "uptime_secs":384211,
          "interfaces":[{{"name":"Wi-Fi","mac":"a4:c3:f0:11:22:33","addresses":["10.12.40.117","fe80::1c2d:3e4f:5a6b:7c8d"]}},
                        {{"name":"Ethernet","mac":"a4:c3:f0:11:22:34","addresses":[]}}],
          "default_gateway":"10.12.40.1","dns_servers":["10.0.0.53","10.0.0.54"],
          "server_reachability":{{"reachable":true,"latency_ms":18}},
          "battery":{{"charge_percent":64.0,"health_percent":91.0,"charging":false}},
          "displays":[{{"name":"Built-in","width":1920,"height":1080}},{{"name":"EPSON Projector","width":1280,"height":800}}],
          "printers":["RM12-HP-M404","Library-Canon","Office-Xerox"],
          "top_processes":[{}],
          "app_version":"0.1.0","time_zone":"America/Chicago","clock_skew_secs":-2}},
        "self_help":[{{"article_slug":"printer-paper-jam","outcome":"still_broken"}}],
        "offline_at_submit":false}}"#,
        processes.join(",")
    )
}

/// A full page (100 entries) of the updates feed, half replies, half status changes.
fn updates_page_json() -> String {
    let updates: Vec<String> = (0..100)
        .map(|i| {
            if i % 2 == 0 {
                format!(
                    r#"{{"seq":{i},"ticket_client_id":"01933b5e-8c4a-7d2e-9f10-2a3b4c5d6e7f","ticket_number":{},"at":"2026-11-28T09:20:00Z","type":"reply","message":{{"id":"01933b5f-0000-7000-8000-00000000{i:04}","author":"technician","author_name":"Sam Rivera","body":"I will be in room 12 after third period to look at the printer.","at":"2026-11-28T09:20:00Z"}}}}"#,
                    1000 + i
                )
            } else {
                format!(
                    r#"{{"seq":{i},"ticket_client_id":"01933b5e-8c4a-7d2e-9f10-2a3b4c5d6e7f","ticket_number":{},"at":"2026-11-28T09:20:00Z","type":"status","status":"in_progress","assignee":"Sam Rivera"}}"#,
                    1000 + i
                )
            }
        })
        .collect();
    format!(
        r#"{{"updates":[{}],"cursor":100,"more":true}}"#,
        updates.join(",")
    )
}

fn wire(c: &mut Criterion) {
    let ticket = new_ticket_json();
    let parsed: NewTicket = serde_json::from_str(&ticket).expect("fixture parses");
    let mut g = c.benchmark_group("wire");
    g.throughput(Throughput::Bytes(ticket.len() as u64));
    g.bench_function("parse NewTicket with full snapshot", |b| {
        b.iter(|| serde_json::from_slice::<NewTicket>(black_box(ticket.as_bytes())))
    });
    g.bench_function("serialize NewTicket with full snapshot", |b| {
        b.iter(|| serde_json::to_vec(black_box(&parsed)))
    });
    let page = updates_page_json();
    g.throughput(Throughput::Bytes(page.len() as u64));
    g.bench_function("parse UpdatesPage of 100", |b| {
        b.iter(|| serde_json::from_slice::<UpdatesPage>(black_box(page.as_bytes())))
    });
    g.finish();
}

criterion_group!(benches, wire);
criterion_main!(benches);
