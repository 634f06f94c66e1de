use super::*;
use time::macros::datetime;

#[test]
fn choices_use_design_wire_values() {
    let cases: &[(&str, &str)] = &[
        (
            &serde_json::to_string(&Category::SignIn).unwrap(),
            "\"sign-in\"",
        ),
        (&serde_json::to_string(&Category::Wifi).unwrap(), "\"wifi\""),
        (
            &serde_json::to_string(&Urgency::Whenever).unwrap(),
            "\"whenever\"",
        ),
        (
            &serde_json::to_string(&Scope::District).unwrap(),
            "\"district\"",
        ),
        (
            &serde_json::to_string(&TicketStatus::WaitingOnTeacher).unwrap(),
            "\"waiting_on_teacher\"",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
    assert_eq!(Category::ALL.len(), 8);
    for c in Category::ALL {
        assert_eq!(c.as_str().parse::<Category>().unwrap(), *c);
    }
    let err = "printers".parse::<Category>().unwrap_err();
    assert!(err.to_string().contains("sign-in"), "{err}");
}

#[test]
fn minimal_ticket_parses_and_defaults_are_absent() {
    let body = r#"{"client_id":"01936a4e-7d2c-7b4a-9f00-0123456789ab",
        "created_at":"2026-11-28T09:15:00+01:00","category":"printer","summary":"Jammed",
        "some_future_field":{"x":1}}"#;
    let t: NewTicket = serde_json::from_str(body).unwrap();
    assert_eq!(t.category, Category::Printer);
    assert_eq!(t.urgency, None);
    assert_eq!(t.scope, None);
    assert!(t.self_help.is_empty());
    assert_eq!(t.created_at, datetime!(2026-11-28 08:15:00 UTC));
}

#[test]
fn unknown_update_kind_is_tolerated() {
    let body = r#"{"updates":[{"seq":7,"ticket_client_id":"01936a4e-7d2c-7b4a-9f00-0123456789ab",
        "ticket_number":12,"at":"2026-11-28T09:15:00Z","type":"satisfaction_survey","x":1}],
        "cursor":7}"#;
    let page: UpdatesPage = serde_json::from_str(body).unwrap();
    assert_eq!(page.updates[0].kind, UpdateKind::Unknown);
    assert!(!page.more);
}

#[test]
fn status_update_round_trips() {
    let u = Update {
        seq: 3,
        ticket_client_id: uuid::Uuid::nil(),
        ticket_number: 1,
        at: datetime!(2026-11-28 08:15:00 UTC),
        kind: UpdateKind::Status {
            status: TicketStatus::InProgress,
            assignee: Some("Sam".into()),
        },
    };
    let json = serde_json::to_value(&u).unwrap();
    assert_eq!(json["type"], "status");
    assert_eq!(json["status"], "in_progress");
    let back: Update = serde_json::from_value(json).unwrap();
    assert_eq!(back, u);
}

#[test]
fn enroll_response_debug_hides_secret() {
    let r = EnrollResponse {
        device_id: uuid::Uuid::nil(),
        device_secret: "s3cret".into(),
        school: None,
        building: None,
    };
    assert!(!format!("{r:?}").contains("s3cret"));
}

#[test]
fn enroll_refusals_have_stable_codes_and_the_machine_id_is_optional() {
    for r in EnrollRefusal::ALL {
        assert_eq!(EnrollRefusal::from_code(r.code()), Some(*r));
        assert!((400..500).contains(&r.status()));
    }
    assert_eq!(EnrollRefusal::MachineRevoked.code(), "machine_revoked");
    assert_eq!(EnrollRefusal::from_code("invalid"), None);
    // An older agent's body (no machine id) still reads, and none is sent when unknown.
    let old: EnrollRequest = serde_json::from_str(r#"{"token":"t","hostname":"h"}"#).unwrap();
    assert_eq!(old.machine_id, None);
    assert!(!serde_json::to_string(&old).unwrap().contains("machine_id"));
}

#[test]
fn empty_snapshot_is_small_and_versioned() {
    let s = DeviceSnapshot {
        schema_version: SNAPSHOT_SCHEMA_VERSION,
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_string(&s).unwrap(),
        r#"{"schema_version":1}"#
    );
}

#[test]
fn wifi_and_directory_join_round_trip_and_older_peers_interoperate() {
    let s = DeviceSnapshot {
        schema_version: SNAPSHOT_SCHEMA_VERSION,
        wifi: Some(Wifi {
            interface: Some("Wi-Fi".into()),
            ssid: Some("District-Staff".into()),
            signal_percent: Some(87),
            band: Some("5 GHz".into()),
        }),
        directory: Some(DirectoryJoin {
            kind: JoinKind::Hybrid,
            domain: Some("district.local".into()),
            tenant_id: Some("0e0adb39-f83f-4576-9102-db1b902ca108".into()),
            tenant_name: Some("Lincoln Schools".into()),
        }),
        ..Default::default()
    };
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["directory"]["kind"], "hybrid");
    assert_eq!(json["wifi"]["signal_percent"], 87);
    assert_eq!(serde_json::from_value::<DeviceSnapshot>(json).unwrap(), s);
    // An older agent's snapshot (neither field) reads; none are written when unknown.
    let old: DeviceSnapshot =
        serde_json::from_str(r#"{"schema_version":1,"battery":{"charge_percent":50}}"#).unwrap();
    assert_eq!((old.wifi, old.directory), (None, None));
    // A join kind from a newer agent does not make the ticket unreadable.
    let newer: DeviceSnapshot = serde_json::from_str(
        r#"{"schema_version":1,"directory":{"kind":"quantum","domain":"d"},"wifi":{}}"#,
    )
    .unwrap();
    let dir = newer.directory.expect("directory");
    assert_eq!(
        (dir.kind, dir.domain.as_deref()),
        (JoinKind::Unknown, Some("d"))
    );
    assert_eq!(newer.wifi, Some(Wifi::default()));
    let workgroup = serde_json::to_string(&DirectoryJoin {
        kind: JoinKind::Workgroup,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(workgroup, r#"{"kind":"workgroup"}"#);
}

#[test]
fn text_is_trimmed_then_counted_in_scalar_values() {
    for f in TextField::ALL {
        let max = f.max_chars();
        // "😀" is one scalar value but two UTF-16 units and four bytes.
        let longest = format!("  {}\n", "😀".repeat(max));
        assert_eq!(check_text(*f, &longest), Ok(Some(longest.trim())), "{f:?}");
        let past = "é".repeat(max + 1);
        assert_eq!(
            check_text(*f, &past),
            Err(TextError::TooLong {
                field: *f,
                count: max + 1
            })
        );
        let empty = check_text(*f, " \t ");
        if f.required() {
            assert_eq!(empty, Err(TextError::Empty(*f)));
            assert_eq!(check_optional_text(*f, None), Err(TextError::Empty(*f)));
        } else {
            assert_eq!(empty, Ok(None));
            assert_eq!(check_optional_text(*f, None), Ok(None));
        }
    }
    assert_eq!(MAX_DETAILS_CHARS, 20_000);
    assert_eq!(MAX_ROOM_CHARS, 200);
    let e = check_text(TextField::Summary, &"x".repeat(201)).unwrap_err();
    assert!(e.to_string().contains("201 characters"), "{e}");
    assert_eq!(e.field(), TextField::Summary);
}

#[test]
fn image_types_are_told_by_magic_bytes_and_content_type() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10];
    assert_eq!(ImageType::sniff(png), Some(ImageType::Png));
    assert_eq!(ImageType::sniff(&jpeg), Some(ImageType::Jpeg));
    assert_eq!(ImageType::sniff(b"GIF89a"), None);
    assert_eq!(ImageType::sniff(b""), None);
    assert_eq!(
        ImageType::from_content_type("Image/JPG; q=1"),
        Some(ImageType::Jpeg)
    );
    assert_eq!(ImageType::from_content_type("image/gif"), None);
    assert!(ImageType::matches("image/png", png));
    assert!(!ImageType::matches("image/jpeg", png));
    assert!(!ImageType::matches("image/gif", b"GIF89a"));
    for t in ImageType::ALL {
        assert_eq!(ImageType::from_content_type(t.mime()), Some(*t));
    }
}

#[test]
fn typescript_lists_every_choice_default_and_limit() {
    let ts = typescript::choices_and_limits();
    assert!(ts.contains(
        "export type Category = \"display\" | \"sound\" | \"printer\" | \"wifi\" | \"sign-in\" | \"app\" | \"computer\" | \"other\";"
    ));
    assert!(ts.contains(
        "export const URGENCIES: readonly Urgency[] = [\"now\", \"soon\", \"whenever\"];"
    ));
    assert!(ts.contains("export const DEFAULT_URGENCY: Urgency = \"whenever\";"));
    assert!(ts.contains("export const DEFAULT_SCOPE: Scope = \"me\";"));
    assert!(ts.contains("  details: { maxChars: 20000, required: false },"));
    assert!(ts.contains("  summary: { maxChars: 200, required: true },"));
    assert!(ts.contains("  room: { maxChars: 200, required: false },"));
}

#[test]
fn none_fields_are_left_out_except_an_open_end() {
    let ticket = NewTicket {
        client_id: uuid::Uuid::nil(),
        created_at: datetime!(2026-11-28 08:15:00 UTC),
        category: Category::Printer,
        summary: "Jammed".into(),
        details: None,
        urgency: None,
        scope: None,
        room: None,
        reporter: Some(Reporter::default()),
        snapshot: None,
        self_help: Vec::new(),
        offline_at_submit: None,
        announcement_id: None,
    };
    assert_eq!(
        serde_json::to_string(&ticket).unwrap(),
        r#"{"client_id":"00000000-0000-0000-0000-000000000000","created_at":"2026-11-28T08:15:00Z","category":"printer","summary":"Jammed","reporter":{}}"#
    );
    let outage = Announcement {
        id: 4,
        kind: AnnouncementKind::Outage,
        title: "Wi-Fi".into(),
        message: "Down".into(),
        school: None,
        building: None,
        category: None,
        starts_at: datetime!(2026-11-28 08:15:00 UTC),
        ends_at: None,
    };
    let json = serde_json::to_string(&outage).unwrap();
    assert_eq!(
        json,
        r#"{"id":4,"kind":"outage","title":"Wi-Fi","message":"Down","starts_at":"2026-11-28T08:15:00Z","ends_at":null}"#
    );
    assert_eq!(serde_json::from_str::<Announcement>(&json).unwrap(), outage);
    let snapshot = DeviceSnapshot {
        collected_at: Some(datetime!(2026-11-28 08:15:00 UTC)),
        cpu: Some(Cpu::default()),
        ..Default::default()
    };
    let json = serde_json::to_string(&snapshot).unwrap();
    assert_eq!(
        json,
        r#"{"schema_version":0,"collected_at":"2026-11-28T08:15:00Z","cpu":{}}"#
    );
    assert_eq!(
        serde_json::from_str::<DeviceSnapshot>(&json).unwrap(),
        snapshot
    );
    let msg: TechMessage = serde_json::from_str(
        r#"{"id":"00000000-0000-0000-0000-000000000000","kind":"note","body":"b","at":"2026-11-28T08:15:00Z"}"#,
    )
    .unwrap();
    assert_eq!(msg.author, None);
}

#[test]
fn a_process_cpu_figure_past_f32_is_saturated_so_the_snapshot_round_trips() {
    // Found by the wire_json fuzz target: 1e39 read as f32 was infinity, which serde_json
    // writes as `null`, so a stored snapshot could no longer be read.
    let json = r#"{"name":"a.exe","cpu_percent":1e39,"memory_bytes":1}"#;
    let p: crate::ProcessInfo = serde_json::from_str(json).expect("decodes");
    assert!(p.cpu_percent.is_finite());
    assert_eq!(p.cpu_percent, f32::MAX);
    let again = serde_json::to_string(&p).expect("encodes");
    let back: crate::ProcessInfo = serde_json::from_str(&again).expect("decodes again");
    assert_eq!(back, p);
}

fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend_from_slice(&width.to_be_bytes());
    b.extend_from_slice(&height.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0]);
    b
}

fn jpeg_header(sof: u8, width: u16, height: u16) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8];
    // APP0 (JFIF, 16 bytes), a fill byte, DQT (3 bytes of table), then the frame.
    b.extend_from_slice(&[
        0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
    ]);
    b.extend_from_slice(&[0xFF, 0xFF, 0xDB, 0, 5, 0, 1, 2]);
    b.extend_from_slice(&[0xFF, sof, 0, 17, 8]);
    b.extend_from_slice(&height.to_be_bytes());
    b.extend_from_slice(&width.to_be_bytes());
    b.extend_from_slice(&[3, 1, 0x22, 0]);
    b
}

#[test]
fn image_dimensions_come_from_the_header() {
    assert_eq!(
        image_dimensions(&png_header(1920, 1080)),
        Some((1920, 1080))
    );
    assert_eq!(
        image_dimensions(&png_header(u32::MAX, 1)),
        Some((u32::MAX, 1))
    );
    // Baseline and progressive frames; DHT (C4) is not a frame.
    assert_eq!(
        image_dimensions(&jpeg_header(0xC0, 1366, 768)),
        Some((1366, 768))
    );
    assert_eq!(
        image_dimensions(&jpeg_header(0xC2, 65535, 2)),
        Some((65535, 2))
    );
    assert_eq!(image_dimensions(&jpeg_header(0xC4, 10, 10)), None);
    // Truncated or foreign headers have no size; nothing panics on any prefix.
    for whole in [png_header(5, 5), jpeg_header(0xC0, 5, 5)] {
        for n in 0..whole.len() {
            let _ = image_dimensions(&whole[..n]);
        }
    }
    assert_eq!(image_dimensions(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), None);
    assert_eq!(image_dimensions(&[0xFF, 0xD8, 0xFF, 0xD9]), None);
    assert_eq!(image_dimensions(b"GIF89a"), None);
}

#[test]
fn absurd_image_dimensions_are_refused() {
    assert!(image_dimensions_ok(MAX_IMAGE_SIDE, 6_000));
    assert!(image_dimensions_ok(10_000, 10_000));
    assert!(!image_dimensions_ok(MAX_IMAGE_SIDE + 1, 1));
    assert!(!image_dimensions_ok(1, MAX_IMAGE_SIDE + 1));
    assert!(!image_dimensions_ok(MAX_IMAGE_SIDE, MAX_IMAGE_SIDE));
    assert!(!image_dimensions_ok(u32::MAX, u32::MAX));
}
