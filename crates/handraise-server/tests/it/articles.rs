//! The teacher sees exactly what the technician previewed: every shipped article, rendered
//! by the console's live preview and by the agent for the tray app, gives the same HTML.

use super::App;
use super::console::{enc, page, sign_in, user};
use axum::http::{Method, StatusCode};
use handraise_agent::app::ArticleView;
use handraise_server::kb;
use handraise_server::store::Role;
use handraise_wire::KbChanges;

#[tokio::test]
async fn every_shipped_article_previews_as_the_teacher_sees_it() {
    let app = App::new();
    let tech = app.tech("Lead");
    let shipped = kb::defaults();
    assert_eq!(shipped.len(), kb::DEFAULT_FILES.len());
    for doc in &shipped {
        let r = app
            .post(
                "/api/v1/tech/kb",
                &tech,
                serde_json::to_value(doc).expect("json"),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}: {}", doc.slug, r.body);
    }
    // What the agent receives and hands the tray app.
    let (_, device) = app.device(None, None).await;
    let r = app.get("/api/v1/kb?since=0", &device).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let changes: KbChanges = serde_json::from_value(r.body).expect("kb changes");
    assert_eq!(changes.articles.len(), shipped.len());

    user(&app, "lead@district.example", "Lead", Role::Technician).await;
    let (session, csrf) = sign_in(&app, "lead@district.example").await;
    for article in changes.articles {
        let slug = article.slug.clone();
        let body = article.body.clone();
        let teacher = ArticleView::from(article).html;
        let preview = page(
            &app,
            Method::POST,
            "/console/kb/preview",
            &session,
            Some(&format!("csrf={csrf}&body={}", enc(&body))),
        )
        .await;
        assert_eq!(preview.status, StatusCode::OK, "{slug}");
        assert_eq!(preview.html, teacher, "{slug}");
        // The steps are a numbered list, and nothing outside the allow-list got through.
        assert!(teacher.contains("<ol><li>"), "{slug}: {teacher}");
        assert!(
            !teacher.contains("<a ") && !teacher.contains("<img"),
            "{slug}"
        );
        // The article's own edit page shows the same preview.
        let edit = page(
            &app,
            Method::GET,
            &format!("/console/kb/{slug}"),
            &session,
            None,
        )
        .await;
        assert!(edit.html.contains(&teacher), "{slug}");
    }
}
