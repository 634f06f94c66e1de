//! Paged ticket lists: the technician API (cursor), the console queue (Previous/Next)
//! and what a list reads (no messages).

use super::console::{page, sign_in, user};
use super::{App, assert_error, ticket_body};
use axum::http::{Method, StatusCode};
use handraise_server::store::Role;
use serde_json::{Value, json};

/// Files `n` tickets from a new device; their numbers, oldest first.
async fn file(app: &App, n: usize, body: impl Fn(usize) -> Value) -> Vec<i64> {
    let (_, device) = app.device(Some("Lincoln"), None).await;
    let mut numbers = Vec::new();
    for i in 0..n {
        let r = app.post("/api/v1/tickets", &device, body(i)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        numbers.push(r.body["number"].as_i64().expect("number"));
    }
    numbers
}

fn numbers_of(list: &Value) -> Vec<i64> {
    list["tickets"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["number"].as_i64()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_technician_list_is_paged_newest_first_with_a_cursor() {
    let app = App::new();
    let tech = app.tech("Lead");
    let mut filed = file(&app, 55, |i| ticket_body(&format!("t{i}"))).await;
    filed.reverse();
    app.ticket_action(&tech, filed[0], "reply", json!({"body": "on my way"}))
        .await;
    // The default page: 50, newest first, and where the next one starts.
    let first = app.get("/api/v1/tech/tickets", &tech).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(numbers_of(&first.body), filed[..50]);
    assert_eq!(first.body["next_cursor"], filed[49]);
    // A list carries no messages; the ticket itself does.
    assert_eq!(first.body["tickets"][0]["messages"], json!([]));
    let one = app
        .get(&format!("/api/v1/tech/tickets/{}", filed[0]), &tech)
        .await;
    assert_eq!(one.body["messages"].as_array().map(Vec::len), Some(1));
    let rest = app
        .get(&format!("/api/v1/tech/tickets?cursor={}", filed[49]), &tech)
        .await;
    assert_eq!(numbers_of(&rest.body), filed[50..]);
    assert!(rest.body.get("next_cursor").is_none(), "{}", rest.body);
    // Any page size from 1 to 200, walked to the end.
    let mut seen = Vec::new();
    let mut uri = "/api/v1/tech/tickets?limit=20".to_owned();
    loop {
        let page = app.get(&uri, &tech).await;
        assert!(numbers_of(&page.body).len() <= 20);
        seen.extend(numbers_of(&page.body));
        let Some(next) = page.body["next_cursor"].as_i64() else {
            break;
        };
        uri = format!("/api/v1/tech/tickets?limit=20&cursor={next}");
    }
    assert_eq!(seen, filed);
    for bad in ["limit=0", "limit=201", "limit=x", "cursor=x"] {
        let r = app.get(&format!("/api/v1/tech/tickets?{bad}"), &tech).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    }
    // The status filter still works, and pages too.
    let r = app
        .get("/api/v1/tech/tickets?status=resolved&limit=5", &tech)
        .await;
    assert_eq!(numbers_of(&r.body), Vec::<i64>::new());
}

/// The `href` of the link marked `rel`, unescaped.
fn link(html: &str, rel: &str) -> Option<String> {
    let end = html.find(&format!("\" rel=\"{rel}\""))?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    Some(html[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}

fn rows(html: &str) -> usize {
    html.matches("<td class=\"num\">").count()
}

#[tokio::test]
async fn the_queue_pages_with_previous_and_next_keeping_its_filters() {
    let app = App::new();
    user(&app, "lead@district.example", "Lead", Role::Technician).await;
    let (session, _) = sign_in(&app, "lead@district.example").await;
    // 60 printer tickets, the last three class-stopping and district-wide, and 5 about Wi-Fi.
    let printers = file(&app, 60, |i| {
        let mut t = ticket_body(&format!("printer {i}"));
        if i >= 57 {
            t["urgency"] = json!("now");
            t["scope"] = json!("district");
        }
        t
    })
    .await;
    file(&app, 5, |i| {
        let mut t = ticket_body(&format!("wifi {i}"));
        t["category"] = json!("wifi");
        t
    })
    .await;
    let get = |uri: String| {
        let session = session.clone();
        let app = &app;
        async move { page(app, Method::GET, &uri, &session, None).await }
    };
    let all = get("/console/queue".into()).await;
    assert_eq!(rows(&all.html), 50);
    assert!(link(&all.html, "prev").is_none());
    assert_eq!(
        link(&all.html, "next").as_deref(),
        Some("/console/queue?page=2")
    );
    // Every status is still counted, not only the page's.
    assert!(
        all.html
            .contains("Received <span class=\"count\">65</span>"),
        "{}",
        all.html
    );

    let first = get("/console/queue?category=printer".into()).await;
    assert_eq!(rows(&first.html), 50);
    // Highest impact first, across the whole list, not only the page.
    let top = format!("<td class=\"num\">{}</td>", printers[57]);
    assert_eq!(first.html.find(&top), first.html.find("<td class=\"num\">"));
    let next = link(&first.html, "next").expect("a next page");
    assert_eq!(next, "/console/queue?category=printer&page=2");
    let second = get(next).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(rows(&second.html), 10);
    assert!(second.html.contains("printer 56"));
    assert!(
        !second.html.contains(">wifi "),
        "the filter holds on page 2"
    );
    assert!(link(&second.html, "next").is_none());
    assert_eq!(
        link(&second.html, "prev").as_deref(),
        Some("/console/queue?category=printer")
    );
    // A page past the end is empty, not an error.
    let past = get("/console/queue?category=printer&page=9".into()).await;
    assert_eq!(past.status, StatusCode::OK);
    assert_eq!(rows(&past.html), 0);
}
