//! `/metrics`: never public by default, behind a bearer token on the main
//! listener, and the figures a scrape gets.

use axum::http::{Method, StatusCode, header};
use handraise_server::Config;
use handraise_testkit::router::{App, assert_error};
use std::os::unix::fs::PermissionsExt;

fn sample<'a>(text: &'a str, series: &str) -> Option<&'a str> {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
}

#[tokio::test]
async fn metrics_are_not_served_without_a_token_file() {
    let app = App::new();
    let r = app.call(Method::GET, "/metrics", None, None).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn metrics_need_the_token_and_count_what_happened() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("metrics.token");
    std::fs::write(&token_file, "scrape-me\n").expect("write");
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let app = App::with_config(Config {
        metrics_token_file: Some(token_file.clone()),
        ..Config::default()
    });
    for token in [None, Some("wrong")] {
        let r = app.call(Method::GET, "/metrics", token, None).await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let (_, secret) = app.device(Some("Lincoln"), None).await;
    app.ticket(&secret, "Printer jammed").await;
    app.ticket(&secret, "Printer jammed again").await;
    let r = app.send(metrics_request("scrape-me")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.header(header::CONTENT_TYPE)
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{:?}",
        r.headers
    );
    let text = String::from_utf8(r.bytes.clone()).expect("utf-8");
    assert_eq!(
        sample(
            &text,
            "handraise_tickets{status=\"new\",category=\"printer\"}"
        ),
        Some("2"),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "handraise_http_request_duration_seconds_count{route=\"/api/v1/tickets\",method=\"POST\",status=\"201\"}"
        ),
        Some("2"),
        "{text}"
    );
    assert_eq!(sample(&text, "handraise_devices_enrolled "), Some("1"));
    assert_eq!(sample(&text, "handraise_devices_seen_last_day "), Some("1"));
    assert!(
        sample(&text, "handraise_database_bytes ")
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|b| b > 0),
        "{text}"
    );

    // A token file others may read is refused, and says why in the log.
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let r = app.send(metrics_request("scrape-me")).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
}

fn metrics_request(token: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::get("/metrics")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .expect("request")
}

/// The Grafana dashboard in `docs/` reads only metrics the server exports.
#[test]
fn the_dashboard_reads_metrics_the_server_exports() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/grafana-dashboard.json");
    let text = std::fs::read_to_string(&path).expect("the dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    // Every family with a sample, as on a server that has had some use.
    let metrics = handraise_server::metrics::Metrics::new();
    metrics.observe(
        "/api/v1/tickets",
        "POST",
        201,
        std::time::Duration::from_millis(5),
    );
    let gauges = handraise_server::store::Gauges {
        tickets: vec![(
            handraise_wire::TicketStatus::New,
            handraise_wire::Category::Printer,
            1,
        )],
        ..Default::default()
    };
    let backup = Some((
        std::path::Path::new("/backups"),
        std::time::Duration::from_secs(60),
    ));
    let exported = metrics.render(&gauges, backup).expect("renders");
    let mut names = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("an expression");
            let mut rest = expr;
            while let Some(at) = rest.find("handraise_") {
                let name: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                rest = &rest[at + name.len()..];
                names.push(name);
            }
        }
    }
    assert!(names.len() >= 8, "{names:?}");
    for name in names {
        let family = ["_bucket", "_count", "_sum"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(&name);
        assert!(
            exported.contains(&format!("# TYPE {family} ")),
            "{name} is not exported:\n{exported}"
        );
    }
}
