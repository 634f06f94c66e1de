//! Starts the real `handraise-server` binary and drives the real `handraise-agent` binary.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Where the binaries are: `HANDRAISE_BIN_DIR` (set by `cargo xtask test`) or `target/debug`.
pub fn bin(name: &str) -> PathBuf {
    let dir = std::env::var_os("HANDRAISE_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug"));
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first (`cargo build -p {name} --bins`, done by `cargo xtask test`)",
        path.display()
    );
    path
}

fn run(cmd: &mut Command) -> Result<Output> {
    let shown = format!("{cmd:?}");
    cmd.output()
        .with_context(|| format!("could not start {shown}"))
}

fn ok_stdout(cmd: &mut Command) -> Result<String> {
    let shown = format!("{cmd:?}");
    let out = run(cmd)?;
    if !out.status.success() {
        bail!(
            "{shown} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

pub fn last_line(s: &str) -> String {
    s.lines().last().unwrap_or_default().trim().to_owned()
}

/// A district server data directory and, while running, its `serve` process.
pub struct Server {
    pub dir: TempDir,
    child: Option<Child>,
    pub url: String,
    pub port: u16,
    /// `HANDRAISE_SERVER_*` overrides given to every `serve`.
    env: Vec<(String, String)>,
}

impl Server {
    /// `init` a fresh data directory and `serve` it on 127.0.0.1 port 0.
    pub fn start() -> Result<Self> {
        Self::start_with(&[])
    }

    /// Like [`Server::start`], with `HANDRAISE_SERVER_*` configuration overrides.
    pub fn start_with(env: &[(&str, &str)]) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        ok_stdout(
            Command::new(bin("handraise-server"))
                .arg("init")
                .arg("--data-dir")
                .arg(dir.path()),
        )?;
        let mut server = Server {
            dir,
            child: None,
            url: String::new(),
            port: 0,
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        server.serve(0)?;
        Ok(server)
    }

    /// `serve` on `port` (0 = any) and wait for the `listening on` line.
    pub fn serve(&mut self, port: u16) -> Result<()> {
        let mut child = Command::new(bin("handraise-server"))
            .arg("serve")
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines
                .next()
                .context("handraise-server exited before it was listening")??;
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.trim().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        self.port = url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .context("no port in the listening line")?;
        self.url = url;
        self.child = Some(child);
        Ok(())
    }

    /// SIGTERM and wait; returns how long the exit took.
    pub fn stop(&mut self) -> Result<Duration> {
        let Some(mut child) = self.child.take() else {
            return Ok(Duration::ZERO);
        };
        let t = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()?;
        assert!(status.success(), "kill -TERM failed");
        let deadline = t + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait()? {
                assert!(
                    status.success(),
                    "server exited with {status} after SIGTERM"
                );
                return Ok(t.elapsed());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("server did not exit within 20 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no draining, no clean shutdown.
    pub fn kill9(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    pub fn cli(&self, args: &[&str]) -> Result<String> {
        ok_stdout(
            Command::new(bin("handraise-server"))
                .args(args)
                .arg("--data-dir")
                .arg(self.dir.path()),
        )
    }

    pub fn enroll_token(&self) -> Result<String> {
        Ok(last_line(&self.cli(&[
            "enroll-token",
            "create",
            "--label",
            "e2e",
        ])?))
    }

    pub fn tech_token(&self, name: &str) -> Result<String> {
        Ok(last_line(&self.cli(&[
            "tech-token",
            "create",
            "--name",
            name,
        ])?))
    }

    /// `tickets list --json`.
    pub fn tickets(&self) -> Result<Vec<Value>> {
        let out = self.cli(&["tickets", "list", "--json"])?;
        serde_json::from_str(&out).context("tickets list --json is not a JSON array")
    }

    /// How many server tickets carry `client_id`.
    pub fn count(&self, client_id: &str) -> Result<usize> {
        Ok(self
            .tickets()?
            .iter()
            .filter(|t| t["client_id"] == client_id)
            .count())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// An agent data directory driven through the `handraise-agent` binary.
pub struct Agent {
    pub dir: TempDir,
}

impl Agent {
    pub fn new() -> Result<Self> {
        Ok(Agent {
            dir: tempfile::tempdir()?,
        })
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin("handraise-agent"));
        cmd.args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            // Keep the machine's own configuration out of the tests.
            .env(
                "HANDRAISE_SYSTEM_CONFIG",
                self.dir.path().join("no-system.toml"),
            )
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg-config"))
            .env("RUST_LOG", "warn");
        cmd
    }

    pub fn ok(&self, args: &[&str]) -> Result<String> {
        ok_stdout(&mut self.cmd(args))
    }

    pub fn enroll(&self, server: &Server, token: &str) -> Result<()> {
        self.ok(&["enroll", "--server", &server.url, "--token", token])?;
        Ok(())
    }

    /// `report`; returns the client id printed on the last line.
    pub fn report(&self, category: &str, summary: &str) -> Result<String> {
        let out = self.ok(&["report", "--category", category, "--summary", summary])?;
        Ok(last_line(&out))
    }

    /// `sync`; returns (exit success, stderr).
    pub fn sync(&self) -> Result<(bool, String)> {
        let out = run(&mut self.cmd(&["sync"]))?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    /// `status --json`.
    pub fn status(&self) -> Result<Vec<Value>> {
        let out = self.ok(&["status", "--json"])?;
        serde_json::from_str(&out).context("status --json is not a JSON array")
    }

    pub fn ticket(&self, client_id: &str) -> Result<Value> {
        self.status()?
            .into_iter()
            .find(|t| t["client_id"] == client_id)
            .with_context(|| format!("ticket {client_id} not in local status"))
    }

    /// The device secret this agent stored at enrollment.
    pub fn secret(&self) -> Result<String> {
        let text = std::fs::read_to_string(self.dir.path().join("enrollment.json"))?;
        let v: Value = serde_json::from_str(&text)?;
        v["device_secret"]
            .as_str()
            .map(str::to_owned)
            .context("no device_secret in enrollment.json")
    }
}

/// HTTP client for the technician and raw agent APIs.
pub struct Api {
    pub url: String,
    pub client: reqwest::Client,
}

impl Api {
    pub fn new(url: &str) -> Self {
        Api {
            url: url.to_owned(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(40))
                .build()
                .expect("reqwest client builds"),
        }
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Result<(u16, Value)> {
        let resp = self
            .client
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        let status = resp.status().as_u16();
        let body = resp.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    pub async fn get(&self, path: &str, token: &str) -> Result<(u16, Value)> {
        let resp = self
            .client
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await?;
        let status = resp.status().as_u16();
        let body = resp.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    /// A raw request with an arbitrary body and content type.
    pub async fn raw(
        &self,
        path: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Value)> {
        let resp = self
            .client
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await?;
        let status = resp.status().as_u16();
        let body = resp.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }
}
