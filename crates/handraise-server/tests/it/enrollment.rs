//! The console's enrollment-token page (uses, expiry, age, bursts, re-enrollments) and
//! allowing a revoked computer back from the devices page, through the real router.

use super::App;
use super::console::{Page, SignedIn, page, user};
use axum::http::{Method, StatusCode};
use handraise_server::store::Role;
use serde_json::json;

/// A console page, as the signed-in admin sees it.
async fn get(app: &App, c: &SignedIn<'_>, uri: &str) -> Page {
    page(app, Method::GET, uri, &c.session, None).await
}

/// The token shown once on the page just answered.
fn shown_token(html: &str) -> String {
    let marker = "<code class=\"token\">";
    let start = html.find(marker).expect("the new token is shown") + marker.len();
    html[start..]
        .split('<')
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_token_page_shows_uses_expiry_bursts_and_re_enrollments() {
    let app = App::new();
    user(&app, "ada@example.org", "Ada", Role::Admin).await;
    let c = SignedIn::sign_in(&app, "ada@example.org").await;

    // Bad numbers are refused with the form shown again.
    let r = c
        .send("/console/admin/enroll-tokens", "label=x&max_uses=lots")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.html.contains("must be a whole number"), "{}", r.html);

    let r = c
        .send(
            "/console/admin/enroll-tokens",
            "label=Fall+rollout&school=Lincoln&building=&expires_days=30&max_uses=50",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let token = shown_token(&r.html);
    assert!(r.html.contains("0 of 50"), "uses of the limit: {}", r.html);
    assert!(r.html.contains("Lincoln"));
    assert!(!r.html.contains("Burst"));

    let enroll = |n: usize, machine: Option<String>| {
        let app = &app;
        let token = token.clone();
        async move {
            app.enroll(json!({"token": token, "hostname": format!("lab-{n}"),
                              "school": "Elsewhere", "machine_id": machine}))
                .await
        }
    };
    // Twenty enrollments in a few seconds: busy, not flagged.
    let machine = "ab".repeat(32);
    let r = enroll(0, Some(machine.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["school"], "Lincoln", "the token's school wins");
    let first = r.body["device_id"].as_str().expect("id").to_owned();
    for n in 1..20 {
        assert_eq!(enroll(n, None).await.status, StatusCode::CREATED);
    }
    let r = get(&app, &c, "/console/admin/enroll-tokens").await;
    assert!(r.html.contains("20 of 50"), "{}", r.html);
    assert!(!r.html.contains("Burst"), "20 is not a burst");
    // The twenty-first within ten minutes: flagged, in plain words.
    assert_eq!(enroll(20, None).await.status, StatusCode::CREATED);
    let r = get(&app, &c, "/console/admin/enroll-tokens").await;
    assert!(r.html.contains("21 of 50"));
    assert!(
        r.html
            .contains("Burst: 21 computers enrolled with this token within 10 minutes"),
        "{}",
        r.html
    );
    assert!(r.html.contains("the token may have been shared: revoke it"));
    assert!(r.html.contains("0 min"), "its age");
    assert!(r.html.contains("No computer has enrolled a second time."));

    // Revoked in the console, the computer is refused; an admin allows it from the
    // devices page, and it is listed as enrolled again.
    let r = c
        .send(&format!("/console/devices/{first}/revoke"), "")
        .await;
    assert_eq!(r.location(), "/console/devices?done=revoked");
    let r = enroll(21, Some(machine.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["code"], "machine_revoked");
    let r = get(&app, &c, "/console/devices").await;
    assert!(
        r.html
            .contains(&format!("/console/devices/{first}/allow-reenroll"))
    );
    let r = c
        .send(&format!("/console/devices/{first}/allow-reenroll"), "")
        .await;
    assert_eq!(r.location(), "/console/devices?done=allowed");
    let r = get(&app, &c, "/console/devices").await;
    assert!(r.html.contains("allowed to enroll again"));
    assert_eq!(enroll(22, Some(machine)).await.status, StatusCode::CREATED);
    let r = get(&app, &c, "/console/admin/enroll-tokens").await;
    assert!(r.html.contains("Computers enrolled again"));
    assert!(r.html.contains("<code>abababababab</code>"), "{}", r.html);
    assert!(r.html.contains("lab-0 (revoked)") && r.html.contains("lab-22"));
}
