//! Console part 2 and the endpoints behind it: "me too" and deflections over the agent API,
//! the knowledge base, announcements (link, end and resolve), the dashboard and retention.

use super::console::{SignedIn, enc, page, user};
use super::{App, Reply, assert_error};
use axum::http::{Method, StatusCode};
use handraise_server::service;
use handraise_server::store::{
    AdminStore, AnnouncementStore, ArticleRecord, KbStore, Role, TicketStore, now_utc,
};
use serde_json::json;
use uuid::Uuid;

/// The stored article `slug`, which must exist.
fn article(app: &App, slug: &str) -> ArticleRecord {
    app.store.article(slug).expect("read").expect("exists")
}

async fn announce(app: &App, tech: &str, school: Option<&str>, building: Option<&str>) -> i64 {
    let r = app
        .post(
            "/api/v1/tech/announcements",
            tech,
            json!({"kind": "outage", "title": "Wi-Fi down", "message": "We know",
                        "school": school, "building": building, "category": "wifi"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().expect("id")
}

/// Posts a "me too" from room `room` with client id `id` to `url`, as the
/// device whose secret is `secret` (none without).
async fn me_too(app: &App, url: &str, secret: Option<&str>, id: Uuid, room: &str) -> Reply {
    let body = json!({"client_id": id, "created_at": "2026-03-02T08:00:00Z", "room": room,
                      "reporter": {"display_name": "Ms Rivera"}});
    app.call(Method::POST, url, secret, Some(body)).await
}

#[tokio::test]
async fn me_too_is_idempotent_scoped_and_counted_by_room() {
    let app = App::new();
    let tech = app.tech("Lead");
    let (_, lincoln) = app.device(Some("Lincoln"), Some("A")).await;
    let (_, lincoln2) = app.device(Some("lincoln"), Some("a")).await;
    let (_, roosevelt) = app.device(Some("Roosevelt"), None).await;
    let id = announce(&app, &tech, Some("Lincoln"), None).await;
    let url = format!("/api/v1/announcements/{id}/me-too");

    let first = Uuid::now_v7();
    let r = me_too(&app, &url, Some(&lincoln), first, "12").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body, json!({"announcement_id": id, "reports": 1}));
    // A repeat (a retry after a timeout) answers 200 and counts nothing.
    let r = me_too(&app, &url, Some(&lincoln), first, "12").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["reports"], 1);
    // Another device reusing the id is a conflict.
    let r = me_too(&app, &url, Some(&lincoln2), first, "12").await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    let r = me_too(&app, &url, Some(&lincoln2), Uuid::now_v7(), " 12 ").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // One per device and announcement: another id from the same device is a repeat.
    let r = me_too(&app, &url, Some(&lincoln), Uuid::now_v7(), "14").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["reports"], 2);
    // Not visible to another school, unknown, no credentials, bad body.
    let r = me_too(&app, &url, Some(&roosevelt), Uuid::now_v7(), "1").await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = me_too(
        &app,
        "/api/v1/announcements/9999/me-too",
        Some(&lincoln),
        Uuid::now_v7(),
        "1",
    )
    .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = me_too(&app, &url, None, Uuid::now_v7(), "1").await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
    let r = app.post(&url, &lincoln, json!({"room": "1"})).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");

    let rooms = app.store.me_too_by_room(id).expect("rooms");
    let counts: Vec<(Option<&str>, i64)> = rooms
        .iter()
        .map(|r| (r.room.as_deref(), r.reports))
        .collect();
    assert_eq!(counts, vec![(Some("12"), 2)]);

    // Ended (over the technician API): a new report is refused, a repeat is still answered.
    let end = format!("/api/v1/tech/announcements/{id}/end");
    let r = app.post_empty(&end, &tech).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = me_too(&app, &url, Some(&lincoln), Uuid::now_v7(), "12").await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = me_too(&app, &url, Some(&lincoln), first, "12").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["reports"], 2);
}

#[tokio::test]
async fn deflections_are_idempotent_and_counted_per_article() {
    let app = App::new();
    let added = service::load_default_articles(app.store.as_ref(), now_utc()).expect("defaults");
    assert!(added.len() >= 25);
    let (_, secret) = app.device(Some("Lincoln"), None).await;
    let (_, other) = app.device(Some("Lincoln"), None).await;
    let body = |id: Uuid| json!({"client_id": id, "created_at": "2026-03-02T08:00:00Z"});
    let url = "/api/v1/kb/printer-offline/deflections";
    let id = Uuid::now_v7();
    let r = app.post(url, &secret, body(id)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"article_slug": "printer-offline", "deflections": 1})
    );
    let r = app.post(url, &secret, body(id)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["deflections"], 1);
    let r = app.post(url, &other, body(id)).await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    // One per device and article: another id from the same device is a repeat.
    let r = app.post(url, &secret, body(Uuid::now_v7())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["deflections"], 1);
    let r = app.post(url, &other, body(Uuid::now_v7())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["deflections"], 2);
    let r = app
        .post(
            "/api/v1/kb/no-such-article/deflections",
            &secret,
            body(Uuid::now_v7()),
        )
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = app
        .call(Method::POST, url, None, Some(body(Uuid::now_v7())))
        .await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(app.store.deflections().expect("list").len(), 2);
    // Loading the defaults again adds nothing and keeps an edit.
    app.store
        .put_article(
            &service::article_record(handraise_wire::ArticleInput {
                slug: "printer-offline".into(),
                title: "Our own printer procedure".into(),
                body: "1. Call Sam".into(),
                categories: vec![handraise_wire::Category::Printer],
                keywords: vec![],
                published: true,
            })
            .expect("valid"),
            now_utc(),
        )
        .expect("edit");
    let again = service::load_default_articles(app.store.as_ref(), now_utc()).expect("defaults");
    assert!(again.is_empty());
    let kept = article(&app, "printer-offline");
    assert_eq!(kept.title, "Our own printer procedure");
}

#[tokio::test]
async fn console_writes_articles_posts_and_ends_announcements() {
    let app = App::new();
    user(&app, "lead@example.org", "Lead", Role::Technician).await;
    let c = SignedIn::sign_in(&app, "lead@example.org").await;
    let (_, secret) = app.device(Some("Lincoln"), Some("Main")).await;

    // An article written in the console is what the agent API serves.
    let form = format!(
        "action=save&slug=smartboard-pen&title={}&categories=display&categories=other\
         &keywords={}&body={}&published=true",
        enc("The board pen <b>does nothing</b>"),
        enc("pen, stylus"),
        enc("1. Charge the pen\r\n2. Press **Pair**\r\n")
    );
    let r = c.send("/console/kb", &form).await;
    assert_eq!(
        r.location(),
        "/console/kb/smartboard-pen?done=article",
        "{}",
        r.html
    );
    let kb = app.get("/api/v1/kb?since=0", &secret).await;
    let a = kb.body["articles"]
        .as_array()
        .expect("articles")
        .iter()
        .find(|a| a["slug"] == "smartboard-pen")
        .cloned()
        .expect("article");
    assert_eq!(a["title"], "The board pen <b>does nothing</b>");
    assert_eq!(a["categories"], json!(["display", "other"]));
    assert_eq!(a["keywords"], json!(["pen", "stylus"]));
    assert_eq!(a["body"], "1. Charge the pen\n2. Press **Pair**\n");
    let edit = page(
        &app,
        Method::GET,
        "/console/kb/smartboard-pen",
        &c.session,
        None,
    )
    .await;
    assert!(
        edit.html
            .contains("<ol><li>Charge the pen</li><li>Press <strong>Pair</strong></li></ol>")
    );
    assert!(
        edit.html
            .contains("The board pen &#60;b&#62;does nothing&#60;/b&#62;")
            || edit
                .html
                .contains("The board pen &lt;b&gt;does nothing&lt;/b&gt;")
    );
    let r = c.send("/console/kb/smartboard-pen/unpublish", "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!article(&app, "smartboard-pen").published);
    // Saving an existing article keeps its slug (whatever the form says) and bumps its
    // version; a preview saves nothing.
    let before = article(&app, "smartboard-pen");
    let edit_form = |action: &str, title: &str| {
        format!(
            "action={action}&slug=other-slug&title={}&categories=display&body=x&published=true",
            enc(title)
        )
    };
    let r = c
        .send("/console/kb/smartboard-pen", &edit_form("preview", "Draft"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.html.contains("Draft"));
    let r = c
        .send("/console/kb/smartboard-pen", &edit_form("save", "Pen"))
        .await;
    assert_eq!(
        r.location(),
        "/console/kb/smartboard-pen?done=article",
        "{}",
        r.html
    );
    let after = article(&app, "smartboard-pen");
    assert_eq!(after.title, "Pen");
    assert!(after.version > before.version);
    assert!(app.store.article("other-slug").expect("read").is_none());
    // The live preview escapes.
    let r = c
        .send(
            "/console/kb/preview",
            &format!("body={}", enc("# Hi <script>")),
        )
        .await;
    assert_eq!(r.html, "<h3>Hi &lt;script&gt;</h3>");
    // A bad slug is refused with the form kept.
    let r = c.send("/console/kb", "slug=Bad+Slug&title=x&body=y").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.html.contains("slug must be"));

    // An announcement; a ticket linked to it; ending it resolves the ticket with one message.
    let form = format!(
        "kind=outage&title={}&message={}&category=wifi&school=Lincoln&building=&starts_at=&ends_at=",
        enc("Wi-Fi down at Lincoln"),
        enc("We are on it")
    );
    let r = c.send("/console/announcements", &form).await;
    let loc = r.location().to_owned();
    assert!(loc.starts_with("/console/announcements/"), "{}", r.html);
    let id: i64 = loc["/console/announcements/".len()..]
        .split('?')
        .next()
        .unwrap_or("")
        .parse()
        .expect("id");
    let list = app.get("/api/v1/announcements", &secret).await;
    assert_eq!(
        list.body["announcements"][0]["title"],
        "Wi-Fi down at Lincoln"
    );
    let url = format!("/api/v1/announcements/{id}/me-too");
    let r = me_too(&app, &url, Some(&secret), Uuid::now_v7(), "Room 7").await;
    assert_eq!(r.status, StatusCode::CREATED);
    let (client_id, number) = app.ticket(&secret, "No internet in room 7").await;
    let link = format!("/console/announcements/{id}/link");
    let r = c.send(&link, &format!("numbers=%23{number}")).await;
    assert_eq!(
        r.location(),
        format!("/console/announcements/{id}?done=linked")
    );
    // All or none: one unknown number links nothing.
    let (_, other) = app.ticket(&secret, "Printer in room 9").await;
    let r = c.send(&link, &format!("numbers={other}%2C+999999")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.html);
    let linked_to = |n| {
        app.store
            .ticket_detail(n)
            .expect("read")
            .expect("ticket")
            .ticket
            .announcement_id
    };
    assert_eq!(
        linked_to(other),
        None,
        "nothing linked when one number is unknown"
    );
    assert_eq!(linked_to(number), Some(id));
    let detail = page(
        &app,
        Method::GET,
        &format!("/console/announcements/{id}"),
        &c.session,
        None,
    )
    .await;
    assert!(detail.html.contains("Room 7"), "{}", detail.html);
    assert!(detail.html.contains("No internet in room 7"));
    let r = c
        .send(
            &format!("/console/announcements/{id}/end"),
            &format!("resolve=true&message={}", enc("Fixed, thank you.")),
        )
        .await;
    assert_eq!(
        r.location(),
        format!("/console/announcements/{id}?done=ended-resolved")
    );
    let t = app
        .get(&format!("/api/v1/tickets/{client_id}"), &secret)
        .await;
    assert_eq!(t.body["status"], "resolved");
    assert_eq!(t.body["messages"][0]["body"], "Fixed, thank you.");
    let list = app.get("/api/v1/announcements", &secret).await;
    assert_eq!(list.body["announcements"], json!([]));

    // Dashboard and CSV.
    let d = page(&app, Method::GET, "/console/dashboard", &c.session, None).await;
    assert_eq!(d.status, StatusCode::OK);
    let csv = page(
        &app,
        Method::GET,
        "/console/dashboard/tickets.csv",
        &c.session,
        None,
    )
    .await;
    assert!(csv.html.starts_with("number,status,category"));
    assert!(
        csv.html.contains(&format!("{number},resolved,printer")),
        "{}",
        csv.html
    );
}

#[tokio::test]
async fn retention_purges_only_finished_tickets_past_the_policy() {
    let app = App::new();
    let (_, secret) = app.device(Some("Lincoln"), None).await;
    let png = b"\x89PNG\r\n\x1a\nrest".to_vec();
    let mut tickets = Vec::new();
    for summary in ["resolved", "closed", "open"] {
        let (client_id, number) = app.ticket(&secret, summary).await;
        let r = app
            .raw(
                Method::PUT,
                &format!("/api/v1/tickets/{client_id}/screenshot"),
                &secret,
                "image/png",
                png.clone(),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        tickets.push(number);
    }
    let now = now_utc();
    let feed = service::FeedNotifier::default();
    for (n, status) in [
        (tickets[0], handraise_wire::TicketStatus::Resolved),
        (tickets[1], handraise_wire::TicketStatus::Closed),
    ] {
        service::tickets::set_status(app.state.store(), &feed, n, status, now)
            .await
            .expect("finish");
    }
    assert_eq!(app.store.retention_days().expect("days"), 365);
    // Within the policy: nothing.
    let (_, report) =
        service::purge(app.store.as_ref(), now + time::Duration::days(364)).expect("purge");
    assert!(report.tickets.is_empty());
    // Past it: exactly the resolved and the closed ticket, once.
    let (_, report) =
        service::purge(app.store.as_ref(), now + time::Duration::days(366)).expect("purge");
    assert_eq!(report.tickets, vec![tickets[0], tickets[1]]);
    assert_eq!((report.screenshots, report.snapshots), (2, 2));
    assert_eq!(report.screenshot_bytes, 2 * png.len() as u64);
    let (_, again) =
        service::purge(app.store.as_ref(), now + time::Duration::days(366)).expect("purge");
    assert!(again.tickets.is_empty());
    for (n, kept) in [(tickets[0], false), (tickets[1], false), (tickets[2], true)] {
        let d = app.store.ticket_detail(n).expect("read").expect("exists");
        assert_eq!(d.has_screenshot, kept, "#{n}");
        assert_eq!(d.ticket.snapshot_json.is_some(), kept, "#{n}");
        assert!(!d.ticket.summary.is_empty());
    }
    app.store.set_retention_days(30).expect("set");
    assert_eq!(app.store.retention_days().expect("days"), 30);

    // The console shows the screenshot kept and not the ones purged; a ticket's
    // screenshot address takes no form and its action addresses take no GET.
    user(&app, "lead@example.org", "Lead", Role::Technician).await;
    let c = SignedIn::sign_in(&app, "lead@example.org").await;
    let shot = |n: i64| format!("/console/tickets/{n}/screenshot");
    let r = page(&app, Method::GET, &shot(tickets[2]), &c.session, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[axum::http::header::CONTENT_TYPE], "image/png");
    assert_eq!(
        r.headers[axum::http::header::CACHE_CONTROL],
        "no-store, private"
    );
    let r = page(&app, Method::GET, &shot(tickets[0]), &c.session, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c.send(&shot(tickets[2]), "").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let assign = format!("/console/tickets/{}/assign", tickets[2]);
    let r = page(&app, Method::GET, &assign, &c.session, None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = c
        .send(&format!("/console/tickets/{}/frobnicate", tickets[2]), "")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
