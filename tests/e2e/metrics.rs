//! The server's metrics scraped by a real Prometheus (Debian's package) on loopback.

use crate::harness::{Server, file_and_sync};
use anyhow::{Context, Result, bail};
use handraise_testkit::{Agent, Launch, bin, free_port, peer_program};
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Prometheus scraping one target every second, in a temporary directory.
struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(program: &std::path::Path, target: &str) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: handraise\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )?;
        let port = free_port()?;
        let child = Command::new(program)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting prometheus")?;
        Ok(Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        })
    }

    /// The value of an instant query's first sample, once Prometheus has one.
    async fn value(&self, query: &str) -> Option<f64> {
        let query = serde_urlencoded::to_string([("query", query)]).ok()?;
        let url = format!("{}/api/v1/query?{query}", self.url);
        let body: Value = reqwest::Client::new()
            .get(url)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        body["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_the_metrics_listener() -> Result<()> {
    use tokio::task::block_in_place;
    let Some(program) = peer_program("/usr/bin/prometheus")? else {
        return Ok(());
    };
    let server: Server = block_in_place(|| {
        Launch::new(bin("handraise-server")?)
            .env("HANDRAISE_SERVER_METRICS_LISTEN", "127.0.0.1:0")
            .start()
    })?;
    let metrics_url = server
        .metrics_url
        .clone()
        .context("the server printed its metrics address")?;
    let target = metrics_url
        .trim_start_matches("http://")
        .trim_end_matches("/metrics")
        .to_owned();
    // Never public on the main listener without a token.
    let main = reqwest::get(format!("{}/metrics", server.url)).await?;
    assert_eq!(main.status().as_u16(), 404);

    block_in_place(|| {
        let agent = Agent::new()?;
        agent.enroll(&server.url, &server.enroll_token("metrics")?)?;
        file_and_sync(&agent, "printer", "Printer offline")?;
        file_and_sync(&agent, "wifi", "No Wi-Fi")?;
        anyhow::Ok(())
    })?;

    let prometheus = Prometheus::start(&program, &target)?;
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last = None;
    while last != Some(2.0) {
        if Instant::now() > deadline {
            bail!("Prometheus did not scrape two new tickets in 90 s; last value {last:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        last = prometheus
            .value("sum(handraise_tickets{status=\"new\"})")
            .await;
    }
    let intake = prometheus
        .value("sum(handraise_http_request_duration_seconds_count{route=\"/api/v1/tickets\",status=\"201\"})")
        .await;
    assert_eq!(intake, Some(2.0));
    assert_eq!(prometheus.value("up{job=\"handraise\"}").await, Some(1.0));
    Ok(())
}
