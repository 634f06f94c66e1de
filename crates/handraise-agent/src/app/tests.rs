use super::screenshot::png_size;
use super::*;
use crate::config::Config;
use crate::error::{AgentError, StoreError, SyncError};
use crate::store::ItemState;
use handraise_wire::{
    Author, Category, DeviceSnapshot, Scope, SelfHelpOutcome, TicketStatus, Urgency,
};
use handraise_wire::{Battery, Disk, Memory, NetInterface, SNAPSHOT_SCHEMA_VERSION};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// An app on a fresh data directory, which lasts as long as the returned guard.
fn app() -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = App::new(Agent::open(Config::with_data_dir(dir.path())).expect("agent opens"));
    (dir, app)
}

fn input(summary: &str) -> ReportInput {
    ReportInput {
        category: Category::Printer,
        summary: summary.into(),
        details: Some("   ".into()),
        urgency: Urgency::Now,
        scope: Scope::Room,
        room: Some(" 12B ".into()),
        tried: vec![handraise_wire::SelfHelpAttempt {
            article_slug: "printer-offline".into(),
            outcome: SelfHelpOutcome::StillBroken,
        }],
        omit_facts: vec!["network".into(), "computer".into()],
        include_screenshot: false,
        announcement_id: None,
    }
}

#[test]
fn ipc_error_json_is_pinned() {
    let e = IpcError::from(AgentError::Invalid("a summary is needed".into()));
    assert_eq!(
        serde_json::to_string(&e).expect("serialises"),
        r#"{"code":"invalid","message":"a summary is needed"}"#
    );
    let cases = [
        (
            AgentError::Store(StoreError::UnknownTicket(Uuid::nil())),
            "not_found",
        ),
        (AgentError::Sync(SyncError::LockBusy), "network"),
        (AgentError::Task("x".into()), "internal"),
        (
            AgentError::EnrollRefused(handraise_wire::EnrollRefusal::MachineRevoked),
            "machine_revoked",
        ),
    ];
    for (err, code) in cases {
        assert_eq!(IpcError::from(err).code, code);
    }
}

pub(super) fn snapshot() -> DeviceSnapshot {
    DeviceSnapshot {
        schema_version: SNAPSHOT_SCHEMA_VERSION,
        hostname: Some("LAB-12".into()),
        os_name: Some("Debian GNU/Linux".into()),
        os_version: Some("12".into()),
        memory: Some(Memory {
            total_bytes: 8 * 1024 * 1024 * 1024,
            used_bytes: 3 * 1024 * 1024 * 1024,
        }),
        disks: vec![Disk {
            mount: "/".into(),
            total_bytes: 128 * 1024 * 1024 * 1024,
            free_bytes: 12 * 1024 * 1024 * 1024,
        }],
        interfaces: vec![NetInterface {
            name: "wlan0".into(),
            mac: None,
            addresses: vec!["192.168.1.23".into()],
        }],
        default_gateway: Some("192.168.1.1".into()),
        battery: Some(Battery {
            charge_percent: Some(54.0),
            health_percent: None,
            charging: None,
        }),
        clock_skew_secs: Some(-300),
        time_zone: Some("America/Chicago".into()),
        ..Default::default()
    }
}

#[test]
fn facts_read_as_plain_words() {
    let items = fact_items(&snapshot());
    let en = super::lang_tests::Catalogue::read(Lang::En);
    let get = |k: &str| {
        items
            .iter()
            .find(|i| i.key.as_str() == k)
            .map(|i| en.value(i))
            .unwrap_or_default()
    };
    assert_eq!(get("computer"), "LAB-12");
    assert_eq!(get("os"), "Debian GNU/Linux 12");
    assert_eq!(get("memory"), "3 GB of 8 GB used");
    assert_eq!(get("disks"), "/: 12 GB free of 128 GB");
    assert_eq!(get("network"), "wlan0 192.168.1.23; gateway 192.168.1.1");
    assert_eq!(get("battery"), "54% charged");
    assert_eq!(get("time"), "America/Chicago (clock 5 min slow)");
    assert!(items.iter().all(|i| !en.value(i).is_empty()), "{items:?}");
}

#[test]
fn unticked_facts_leave_the_snapshot() {
    let mut s = snapshot();
    s.wifi = Some(handraise_wire::Wifi::default());
    s.directory = Some(handraise_wire::DirectoryJoin::default());
    omit_facts(
        &mut s,
        &[
            "network".into(),
            "computer".into(),
            "battery".into(),
            "wifi".into(),
            "directory".into(),
        ],
    );
    assert!(s.wifi.is_none() && s.directory.is_none());
    assert!(s.hostname.is_none());
    assert!(s.interfaces.is_empty() && s.default_gateway.is_none());
    assert!(s.battery.is_none());
    assert!(s.memory.is_some(), "the rest stays");
    let keys: Vec<FactKey> = fact_items(&s).into_iter().map(|i| i.key).collect();
    assert!(!keys.contains(&FactKey::Network));
}

#[test]
fn png_size_reads_the_header() {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&640u32.to_be_bytes());
    png.extend_from_slice(&480u32.to_be_bytes());
    assert_eq!(png_size(&png), Some((640, 480)));
    assert_eq!(png_size(b"GIF89a........................"), None);
}

#[tokio::test]
async fn submit_saves_locally_and_remembers_the_room() {
    let (_dir, app) = app();
    let mut changes = app.agent().subscribe();
    let t = app.submit(input("Printer jammed")).await.expect("saved");
    assert_eq!(t.state, ItemState::Queued);
    assert_eq!(t.summary, "Printer jammed");
    assert_eq!(t.details, None, "blank details are dropped");
    assert!(
        changes.has_changed().expect("sender alive"),
        "a change is announced"
    );
    changes.mark_unchanged();

    let status = app.status().await.expect("status");
    assert_eq!(status.queued_count, 1);
    assert_eq!(status.room.as_deref(), Some("12B"));
    assert!(!status.enrolled && !status.online);

    let payload = app
        .agent()
        .db({
            let id = Uuid::parse_str(&t.client_id).expect("uuid");
            move |s| s.ticket_payload(id)
        })
        .await
        .expect("payload");
    let snap = payload.snapshot.expect("snapshot attached");
    assert!(
        snap.hostname.is_none(),
        "unticked computer name is not sent"
    );
    assert!(snap.interfaces.is_empty(), "unticked network is not sent");
    assert_eq!(payload.self_help.len(), 1);
    assert_eq!(payload.urgency, Some(Urgency::Now));
    assert_eq!(payload.room.as_deref(), Some("12B"));

    let err = app.submit(input("  ")).await.expect_err("empty summary");
    assert_eq!(err.code, "invalid");
    assert_eq!(
        app.tickets().await.expect("list").len(),
        1,
        "nothing half-saved"
    );
}

#[tokio::test]
async fn submit_sends_the_facts_the_form_previewed() {
    let (_dir, app) = app();
    let cache = |host: &'static str| {
        let snap = DeviceSnapshot {
            hostname: Some(host.into()),
            ..snapshot()
        };
        move |s: &crate::store::Store| s.store_snapshot(&snap, OffsetDateTime::now_utc(), true)
    };
    app.agent().db(cache("as-previewed")).await.expect("cached");
    let shown = app.facts().await.expect("facts");
    let shown = serde_json::to_string(&shown).expect("serialises");
    assert!(shown.contains("as-previewed"), "{shown}");
    // The facts change while the teacher types.
    app.agent().db(cache("read-later")).await.expect("cached");
    let sent_host = |summary: &'static str| async {
        let mut report = input(summary);
        report.omit_facts.clear();
        let sent = app.submit(report).await.expect("saved");
        let id = Uuid::parse_str(&sent.client_id).expect("uuid");
        let payload = app
            .agent()
            .db(move |s| s.ticket_payload(id))
            .await
            .expect("payload");
        payload.snapshot.and_then(|s| s.hostname)
    };
    assert_eq!(
        sent_host("Projector flickers").await.as_deref(),
        Some("as-previewed"),
        "what was shown is sent"
    );
    // The next report, with no preview, reads afresh.
    assert_eq!(
        sent_host("Projector still flickers").await.as_deref(),
        Some("read-later")
    );
}

#[tokio::test]
async fn feedback_is_recorded_and_told_to_the_technician() {
    let (_dir, app) = app();
    let t = app
        .submit(input("Board has no sound"))
        .await
        .expect("saved");
    let after = app
        .confirm_fixed(&t.client_id, false)
        .await
        .expect("recorded");
    assert_eq!(after.fixed, Some(false));
    assert_eq!(after.messages.len(), 1);
    assert_eq!(after.messages[0].state, ItemState::Queued);
    let rated = app.rate(&t.client_id, 4).await.expect("rated");
    assert_eq!((rated.fixed, rated.rating), (Some(false), Some(4)));
    assert_eq!(
        app.rate(&t.client_id, 9).await.expect_err("range").code,
        "invalid"
    );
    assert_eq!(
        app.ticket(&Uuid::now_v7().to_string())
            .await
            .expect_err("unknown")
            .code,
        "not_found"
    );
    assert_eq!(
        app.ticket("nope").await.expect_err("bad id").code,
        "invalid"
    );
}

#[tokio::test]
async fn setup_against_a_dead_server_says_network_and_keeps_nothing() {
    let (_dir, app) = app();
    // Port 9 on loopback: nothing listens there.
    let err = app
        .setup("http://127.0.0.1:9", "code", "Ms. Rivera", "12B", None)
        .await
        .expect_err("no server");
    assert_eq!(err.code, "network", "{err:?}");
    assert!(!app.status().await.expect("status").enrolled);
    let err = app
        .setup("not a url", "code", "Ms. Rivera", "12B", None)
        .await
        .expect_err("bad url");
    assert_eq!(err.code, "invalid", "{err:?}");
}

#[tokio::test]
async fn setup_refuses_an_enrolled_computer() {
    let (dir, app) = app();
    let enrolled = crate::enrollment::Enrollment {
        server_url: "https://helpdesk.example.org".into(),
        device_id: Uuid::now_v7(),
        device_secret: "secret".into(),
        school: None,
        building: None,
        enrolled_at: OffsetDateTime::now_utc(),
    };
    enrolled.save(dir.path()).expect("saved");
    let err = app
        .setup("http://127.0.0.1:9", "code", "Ms. Rivera", "12B", None)
        .await
        .expect_err("already enrolled");
    assert_eq!(err.code, "already_enrolled", "{err:?}");
    assert!(err.message.contains("handraise-agent enroll"), "{err:?}");
    let kept = crate::enrollment::Enrollment::load(dir.path()).expect("loads");
    assert_eq!(kept, Some(enrolled));
}

#[tokio::test]
async fn tray_tooltip_is_honest() {
    let (_dir, app) = app();
    // The tooltip speaks the chosen language (the system's when none is chosen).
    app.set_locale(Some("en".into())).await.expect("english");
    let tray = app.tray_state().await.expect("tray");
    assert!(tray.tooltip.contains("not set up"), "{}", tray.tooltip);
    app.submit(input("one")).await.expect("saved");
    app.submit(input("two")).await.expect("saved");
    let tray = app.tray_state().await.expect("tray");
    assert!(
        tray.tooltip.contains("2 reports waiting"),
        "{}",
        tray.tooltip
    );
}

#[test]
fn ui_ready_measures_from_the_request() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let (_dir, app) = rt.block_on(async { app() });
    assert_eq!(app.ui_ready("report"), None, "nothing was requested");
    app.window_requested("report");
    assert_eq!(app.ui_ready("tickets"), None, "another view");
    assert!(app.ui_ready("report").is_some());
    assert_eq!(app.ui_ready("report"), None, "measured once");
}

#[tokio::test]
async fn no_screenshot_without_a_form_or_a_display() {
    let (_dir, app) = app();
    assert_eq!(app.screenshot().await.expect("ok"), None, "none was taken");
    app.begin_screenshot();
    // Whatever the capture gives here (a display or none), asking never hangs or fails.
    let _ = app.screenshot().await.expect("ok");
    app.discard_screenshot();
    assert_eq!(app.screenshot().await.expect("ok"), None, "discarded");
}

#[tokio::test]
async fn a_screenshot_on_its_way_is_waited_for() {
    let (_dir, app) = app();
    // A 1×1 PNG: signature, IHDR length and type, width 1, height 1.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x01\0\0\0\x01".to_vec();
    png.extend_from_slice(&[8, 6, 0, 0, 0]);
    app.expect_screenshot();
    let (asked, delivered) = tokio::join!(app.screenshot(), async {
        // The form asks before the tray's screenshot arrives.
        tokio::time::sleep(Duration::from_millis(200)).await;
        app.set_screenshot(Some(png.clone()));
    });
    let preview = asked
        .expect("ok")
        .expect("the screenshot that arrived late");
    assert_eq!((preview.width, preview.height), (1, 1));
    let () = delivered;
    // Delivered with nothing expected (kept as before).
    app.discard_screenshot();
    app.set_screenshot(Some(png));
    assert!(app.screenshot().await.expect("ok").is_some());
}

pub(super) fn local(messages: Vec<LocalMessage>, status: Option<TicketStatus>) -> LocalTicket {
    LocalTicket {
        client_id: "t1".into(),
        state: ItemState::Sent,
        number: Some(12),
        status,
        category: Category::Printer,
        summary: "Printer jammed".into(),
        details: None,
        created_at: "2026-11-28T09:00:00Z".into(),
        assignee: None,
        unread: false,
        reject_reason: None,
        messages,
        fixed: None,
        rating: None,
    }
}

pub(super) fn msg(id: &str, author: Author, body: &str) -> LocalMessage {
    LocalMessage {
        id: id.into(),
        author,
        author_name: Some("Sam".into()),
        body: body.into(),
        at: "2026-11-28T09:05:00Z".into(),
        state: ItemState::Received,
    }
}

#[test]
fn notices_for_new_replies_and_resolution_only() {
    let before = local(
        vec![msg("a", Author::Teacher, "help")],
        Some(TicketStatus::New),
    );
    let after = local(
        vec![
            msg("a", Author::Teacher, "help"),
            msg("b", Author::Technician, "On my way"),
        ],
        Some(TicketStatus::Resolved),
    );
    let n = notices(Some(&before), &after, Lang::En);
    assert_eq!(n.len(), 2, "{n:?}");
    assert_eq!(n[0].title, "Sam replied on ticket #12");
    assert_eq!(n[0].body, "On my way");
    assert_eq!(n[1].title, "Ticket #12 is resolved");
    assert!(
        notices(Some(&after), &after, Lang::En).is_empty(),
        "nothing new, nothing shown"
    );
    assert!(
        notices(None, &after, Lang::En).is_empty(),
        "no notices for what was there at start"
    );
    let teacher_only = local(
        vec![
            msg("a", Author::Teacher, "help"),
            msg("c", Author::Teacher, "more"),
        ],
        Some(TicketStatus::New),
    );
    assert!(notices(Some(&before), &teacher_only, Lang::En).is_empty());
}

#[tokio::test]
async fn locale_me_too_and_browsing() {
    let (_dir, app) = app();
    assert_eq!(
        app.locale().await.expect("locale"),
        None,
        "follows the system at first"
    );
    app.set_locale(Some(" ES ".into())).await.expect("spanish");
    assert_eq!(app.locale().await.expect("locale").as_deref(), Some("es"));
    assert_eq!(
        app.status().await.expect("status").locale.as_deref(),
        Some("es")
    );
    assert_eq!(
        app.set_locale(Some("fr".into()))
            .await
            .expect_err("unknown")
            .code,
        "invalid"
    );
    app.set_locale(None).await.expect("back to the system");
    assert_eq!(app.locale().await.expect("locale"), None);

    let err = app
        .me_too(42, Some("12B".into()))
        .await
        .expect_err("no such outage");
    assert_eq!(err.code, "not_found");

    let article = |slug: &str, title: &str, cat: Category| handraise_wire::Article {
        slug: slug.into(),
        title: title.into(),
        body: "1. Turn it off.\n2. Turn it on.".into(),
        categories: vec![cat],
        keywords: vec![],
        published: true,
        version: 1,
    };
    let changes = handraise_wire::KbChanges {
        version: 2,
        articles: vec![
            article("printer-jam", "Paper is stuck", Category::Printer),
            article("no-sound", "The board has no sound", Category::Sound),
        ],
    };
    app.agent()
        .db(move |s| s.apply_kb(&changes, OffsetDateTime::now_utc()))
        .await
        .expect("kb cached");
    let all = app.list_articles(None).await.expect("all");
    assert_eq!(
        all.iter().map(|a| a.slug.as_str()).collect::<Vec<_>>(),
        vec!["printer-jam", "no-sound"],
        "by title"
    );
    let printers = app
        .list_articles(Some(Category::Printer))
        .await
        .expect("printers");
    assert_eq!(printers.len(), 1);
    app.record_deflection("printer-jam")
        .await
        .expect("fixed it");
    let st = app.agent().status().await.expect("status");
    assert_eq!(
        st.queued.events, 1,
        "the deflection waits to be told to the server"
    );
}

#[test]
fn article_json_is_the_wire_article_and_its_html() {
    let article = handraise_wire::Article {
        slug: "printer-offline".into(),
        title: "Printer offline".into(),
        body: "1. Turn it on".into(),
        categories: vec![Category::Printer],
        keywords: vec!["printer".into()],
        published: true,
        version: 3,
    };
    let json = serde_json::to_value(ArticleView::from(article)).expect("serialises");
    assert_eq!(
        json,
        serde_json::json!({
            "slug": "printer-offline",
            "title": "Printer offline",
            "body": "1. Turn it on",
            "html": handraise_markdown::to_html("1. Turn it on"),
            "categories": ["printer"],
            "keywords": ["printer"],
            "published": true,
            "version": 3,
        })
    );
}

#[tokio::test]
async fn the_teachers_email_is_checked_shown_and_overridden_by_policy() {
    let (_dir, app) = app();
    let s = app.status().await.expect("status");
    assert!(
        s.reporter_account.is_some(),
        "the account comes from the user id"
    );
    assert_eq!(s.reporter_email, None);
    assert!(!s.email_from_policy);
    let err = app.set_email(Some("ana at school")).await.expect_err("bad");
    assert_eq!(err.code, "invalid_email", "{err:?}");
    let s = app
        .set_email(Some(" ana@school.example "))
        .await
        .expect("saved");
    assert_eq!(s.reporter_email.as_deref(), Some("ana@school.example"));
    let s = app.set_email(Some("")).await.expect("forgotten");
    assert_eq!(s.reporter_email, None);

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::with_data_dir(dir.path());
    config.policy.email_domain = Some("lincoln.example".into());
    let app = App::new(Agent::open(config).expect("agent opens"));
    let s = app.status().await.expect("status");
    assert!(s.email_from_policy);
    let account = s.reporter_account.expect("account");
    assert_eq!(
        s.reporter_email,
        Some(format!("{}@lincoln.example", account.to_lowercase()))
    );
    let err = app
        .set_email(Some("ana@school.example"))
        .await
        .expect_err("policy wins");
    assert_eq!(err.code, "email_from_policy", "{err:?}");
}
