//! Forwarding to a real Request Tracker 5 (`tests/peers/rt/start-rt.sh`): the real server
//! and agent binaries, RT's REST2 API to look and to answer as a technician would.
//!
//! RT is found through `HANDRAISE_RT_URL` and `HANDRAISE_RT_TOKEN` (`cargo xtask test`
//! starts RT and sets both, with `HANDRAISE_RT_REQUIRED=1`: then a missing RT fails these
//! tests). Without them, `cargo test` alone skips these tests and says why.

use crate::harness::{Agent, PNG, Server, enrolled_pair, report_many, sync_until_done, wait_for};
use anyhow::{Context, Result, bail};
use handraise_testkit::last_line;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// RT's URL and an API token, or `None` (with the reason printed) when this run has no RT.
fn rt_peer() -> Result<Option<(String, String)>> {
    let url = std::env::var("HANDRAISE_RT_URL").ok();
    let token = std::env::var("HANDRAISE_RT_TOKEN").ok();
    match (url, token) {
        (Some(u), Some(t)) if !u.is_empty() && !t.is_empty() => Ok(Some((u, t))),
        _ if std::env::var_os("HANDRAISE_RT_REQUIRED").is_some() => bail!(
            "HANDRAISE_RT_REQUIRED is set but HANDRAISE_RT_URL and HANDRAISE_RT_TOKEN are not: \
             Request Tracker did not start"
        ),
        _ => {
            eprintln!(
                "skipped: no Request Tracker (set HANDRAISE_RT_URL and HANDRAISE_RT_TOKEN from \
                 the last two lines of tests/peers/rt/start-rt.sh; `cargo xtask test` does)"
            );
            Ok(None)
        }
    }
}

/// RT's REST2 API, as a technician's tools would use it.
struct RtApi {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl RtApi {
    fn new(url: &str, token: &str) -> Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            url: url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut req = self
            .http
            .request(method, format!("{}/REST/2.0/{path}", self.url))
            .header("authorization", format!("token {}", self.token));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        anyhow::ensure!(status.is_success(), "RT {path}: {status} {text}");
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value> {
        let mut url = reqwest::Url::parse(&format!("{}/REST/2.0/{path}", self.url))?;
        url.query_pairs_mut().extend_pairs(query);
        let path_and_query = url
            .as_str()
            .strip_prefix(&format!("{}/REST/2.0/", self.url))
            .context("url")?
            .to_owned();
        self.call(reqwest::Method::GET, &path_and_query, None).await
    }

    /// RT ticket ids whose subject carries `text`.
    async fn tickets_with(&self, text: &str) -> Result<Vec<String>> {
        let v = self
            .get(
                "tickets",
                &[
                    ("query", &format!("Subject LIKE '{text}'")),
                    ("per_page", "100"),
                ],
            )
            .await?;
        Ok(v["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| i["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The texts of ticket `id`'s transactions of `kind`, oldest first.
    async fn texts(&self, id: &str, kind: &str) -> Result<Vec<String>> {
        let query = format!("ObjectType = 'RT::Ticket' AND ObjectId = {id} AND Type = '{kind}'");
        let v = self
            .get("transactions", &[("query", &query), ("per_page", "100")])
            .await?;
        let mut out = Vec::new();
        for t in v["items"].as_array().cloned().unwrap_or_default() {
            let txn = t["id"].as_str().context("transaction id")?;
            let parts = self
                .get(
                    &format!("transaction/{txn}/attachments"),
                    &[("fields", "ContentType,Content")],
                )
                .await?;
            for p in parts["items"].as_array().cloned().unwrap_or_default() {
                if p["ContentType"] == "text/plain" {
                    out.push(p["Content"].as_str().unwrap_or_default().to_owned());
                }
            }
        }
        Ok(out)
    }

    async fn attachment_names(&self, id: &str) -> Result<Vec<String>> {
        let v = self
            .get(
                &format!("ticket/{id}/attachments"),
                &[("fields", "Filename"), ("per_page", "100")],
            )
            .await?;
        Ok(v["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| i["Filename"].as_str())
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// Adds RT at `url` as the server's desk (token on stdin), polled every 5 s; its id.
fn add_desk(server: &Server, url: &str, token: &str) -> Result<String> {
    let out = server.cli_with_input(
        &[
            "desk",
            "add",
            "--kind",
            "rt",
            "--name",
            "District RT",
            "--url",
            url,
            "--secret-file",
            "-",
            "--poll-secs",
            "5",
        ],
        token,
    )?;
    Ok(last_line(&out))
}

/// `desk list --json` of the server.
fn desks(server: &Server) -> Result<Vec<Value>> {
    Ok(serde_json::from_str(
        &server.cli(&["desk", "list", "--json"])?,
    )?)
}

/// Waits (up to 4 minutes) until the server's desk has delivered every one of `ids`, then
/// checks that RT holds each exactly once.
async fn all_in_rt_once(server: &Server, rt: &RtApi, ids: &[String]) -> Result<()> {
    wait_for(
        "every forward delivered",
        Duration::from_secs(240),
        || async {
            let listed = tokio::task::block_in_place(|| desks(server))?;
            Ok((listed[0]["sent"] == ids.len()).then_some(()))
        },
    )
    .await?;
    for id in ids {
        assert_eq!(rt.tickets_with(id).await?.len(), 1, "{id} is in RT once");
    }
    Ok(())
}

/// Bodies of the messages on the agent's local copy of ticket `id`.
pub(crate) fn local_bodies(agent: &Agent, id: &str) -> Result<Vec<String>> {
    Ok(agent.ticket(id)?["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|m| m["body"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_reaches_rt_once_and_answers_come_back() -> Result<()> {
    let Some((rt_url, rt_token)) = rt_peer()? else {
        return Ok(());
    };
    let rt = RtApi::new(&rt_url, &rt_token)?;
    let (server, agent) = tokio::task::block_in_place(enrolled_pair)?;
    let desk = tokio::task::block_in_place(|| add_desk(&server, &rt_url, &rt_token))?;
    let tested = tokio::task::block_in_place(|| server.cli(&["desk", "test", "--id", &desk]))?;
    assert!(tested.contains("accepts its token"), "{tested}");

    let shot = agent.dir().join("shot.png");
    std::fs::write(&shot, PNG)?;
    let id = tokio::task::block_in_place(|| {
        agent
            .ok(&[
                "report",
                "--category",
                "sound",
                "--summary",
                "No sound from the speakers",
                "--details",
                "Since the update this morning.",
                "--urgency",
                "now",
                "--room",
                "B12",
                "--screenshot",
                shot.to_str().unwrap_or_default(),
            ])
            .map(|out| last_line(&out))
    })?;
    tokio::task::block_in_place(|| sync_until_done(&agent, 5))?;

    // In RT once, with the facts, the screenshot and the urgency.
    let rt_id = wait_for("the RT ticket", Duration::from_secs(90), || async {
        let found = rt.tickets_with(&id).await?;
        Ok(found.first().cloned())
    })
    .await?;
    assert_eq!(rt.tickets_with(&id).await?.len(), 1, "one RT ticket");
    let ticket = rt.get(&format!("ticket/{rt_id}"), &[]).await?;
    let subject = ticket["Subject"].as_str().unwrap_or_default();
    assert!(
        subject.starts_with("No sound from the speakers"),
        "{subject}"
    );
    assert_eq!(ticket["Priority"].to_string().trim_matches('"'), "90");
    let created = rt.texts(&rt_id, "Create").await?.join("\n");
    for want in [
        "Since the update this morning.",
        "B12",
        "Device facts",
        "hostname",
    ] {
        assert!(created.contains(want), "{want:?} missing from:\n{created}");
    }
    assert!(
        rt.attachment_names(&rt_id)
            .await?
            .iter()
            .any(|n| n == "screenshot.png"),
        "the screenshot is attached"
    );
    let listed = tokio::task::block_in_place(|| desks(&server))?;
    assert_eq!(listed[0]["sent"], 1, "{listed:?}");

    // A technician answers in RT and comments internally; only the answer reaches the teacher.
    rt.call(
        reqwest::Method::POST,
        &format!("ticket/{rt_id}/correspond"),
        Some(json!({"Content": "Try the mute key on the keyboard.", "ContentType": "text/plain"})),
    )
    .await?;
    rt.call(
        reqwest::Method::POST,
        &format!("ticket/{rt_id}/comment"),
        Some(json!({"Content": "internal: speaker cable is loose", "ContentType": "text/plain"})),
    )
    .await?;
    wait_for(
        "the RT reply on the device",
        Duration::from_secs(90),
        || async {
            let (ok, _) = tokio::task::block_in_place(|| agent.sync())?;
            let bodies = tokio::task::block_in_place(|| local_bodies(&agent, &id))?;
            Ok((ok
                && bodies
                    .iter()
                    .any(|b| b == "Try the mute key on the keyboard."))
            .then_some(()))
        },
    )
    .await?;
    let bodies = tokio::task::block_in_place(|| local_bodies(&agent, &id))?;
    assert!(!bodies.iter().any(|b| b.contains("internal")), "{bodies:?}");

    // The teacher answers; it reaches RT as correspondence, once, and does not come back.
    tokio::task::block_in_place(|| {
        agent.ok(&[
            "message",
            "--ticket",
            &id,
            "--body",
            "Still silent after that.",
        ])
    })?;
    tokio::task::block_in_place(|| sync_until_done(&agent, 5))?;
    wait_for(
        "the teacher's reply in RT",
        Duration::from_secs(90),
        || async {
            let texts = rt.texts(&rt_id, "Correspond").await?;
            Ok(texts
                .iter()
                .any(|t| t.contains("Still silent after that."))
                .then_some(()))
        },
    )
    .await?;
    // Resolved in RT: the status reaches the teacher (after at least one more poll, so an
    // echo of the teacher's own message would have come by then too).
    rt.call(
        reqwest::Method::PUT,
        &format!("ticket/{rt_id}"),
        Some(json!({"Status": "resolved"})),
    )
    .await?;
    wait_for(
        "the resolved status on the device",
        Duration::from_secs(90),
        || async {
            tokio::task::block_in_place(|| agent.sync())?;
            let t = tokio::task::block_in_place(|| agent.ticket(&id))?;
            Ok((t["status"] == "resolved").then_some(()))
        },
    )
    .await?;
    let texts = rt.texts(&rt_id, "Correspond").await?;
    let teacher = texts.iter().filter(|t| t.contains("Still silent")).count();
    assert_eq!(
        teacher, 1,
        "the teacher's message reaches RT once: {texts:?}"
    );
    let bodies = tokio::task::block_in_place(|| local_bodies(&agent, &id))?;
    let echoes = bodies.iter().filter(|b| b.contains("Still silent")).count();
    assert_eq!(
        echoes, 1,
        "HandRaise's own correspondence is not read back: {bodies:?}"
    );
    Ok(())
}

/// What the gate in front of RT does with a new connection.
const GATE_CLOSED: u8 = 0;
/// POSTs reach RT, but their answers are lost (the connection is dropped once RT answers);
/// other requests pass.
const GATE_LOSE_POST_ANSWERS: u8 = 1;
const GATE_OPEN: u8 = 2;

/// A TCP gate on 127.0.0.1 in front of RT (which closes every connection after one answer).
struct Gate {
    url: String,
    mode: std::sync::Arc<std::sync::atomic::AtomicU8>,
    lost: std::sync::Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Gate {
    async fn start(target: std::net::SocketAddr) -> Result<Self> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let mode = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(GATE_CLOSED));
        let lost = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (m, l) = (mode.clone(), lost.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mode = m.load(Ordering::SeqCst);
                let lost = l.clone();
                tokio::spawn(async move {
                    if mode == GATE_CLOSED {
                        return;
                    }
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    let mut first = vec![0_u8; 64 * 1024];
                    let Ok(n) = client.read(&mut first).await else {
                        return;
                    };
                    if upstream.write_all(&first[..n]).await.is_err() {
                        return;
                    }
                    if mode == GATE_LOSE_POST_ANSWERS && first.starts_with(b"POST ") {
                        let (mut from_client, _) = client.split();
                        let (mut from_rt, mut to_rt) = upstream.split();
                        let mut answer = [0_u8; 1];
                        tokio::select! {
                            _ = tokio::io::copy(&mut from_client, &mut to_rt) => {}
                            r = from_rt.read(&mut answer) => {
                                if matches!(r, Ok(n) if n > 0) {
                                    lost.fetch_add(1, Ordering::SeqCst);
                                }
                            }
                        }
                        // Both connections drop here: RT did the work, the server never hears.
                        return;
                    }
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
        });
        Ok(Self {
            url,
            mode,
            lost,
            task,
        })
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_made_while_rt_is_unreachable_arrive_once_when_it_is_back() -> Result<()> {
    let Some((rt_url, rt_token)) = rt_peer()? else {
        return Ok(());
    };
    let rt = RtApi::new(&rt_url, &rt_token)?;
    let target = reqwest::Url::parse(&rt_url)?
        .socket_addrs(|| None)?
        .into_iter()
        .next()
        .context("RT's address")?;
    let gate = Gate::start(target).await?;
    let (server, agent) = tokio::task::block_in_place(enrolled_pair)?;
    tokio::task::block_in_place(|| add_desk(&server, &gate.url, &rt_token))?;
    let n = 3;
    let ids = tokio::task::block_in_place(|| report_many(&agent, n, "wifi", "Wi-Fi drops"))?;
    tokio::task::block_in_place(|| sync_until_done(&agent, 5))?;
    // RT unreachable: the desk is tried, fails, and nothing is given up on.
    wait_for("failed attempts", Duration::from_secs(60), || async {
        let listed = tokio::task::block_in_place(|| desks(&server))?;
        Ok(listed[0]["last_error"].is_string().then_some(()))
    })
    .await?;
    let listed = tokio::task::block_in_place(|| desks(&server))?;
    assert_eq!(listed[0]["failed"], 0, "nothing given up on: {listed:?}");
    assert_eq!(listed[0]["queued"], n, "{listed:?}");
    // RT back, but every create's answer is lost on the way: the server must find what it
    // made instead of making it again.
    gate.set(GATE_LOSE_POST_ANSWERS);
    all_in_rt_once(&server, &rt, &ids).await?;
    gate.set(GATE_OPEN);
    let lost = gate.lost.load(Ordering::SeqCst);
    assert!(lost >= n as u64, "every create's answer was lost ({lost})");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_while_forwarding_makes_no_duplicate_and_loses_nothing() -> Result<()> {
    let Some((rt_url, rt_token)) = rt_peer()? else {
        return Ok(());
    };
    let rt = RtApi::new(&rt_url, &rt_token)?;
    let (mut server, agent) = tokio::task::block_in_place(enrolled_pair)?;
    tokio::task::block_in_place(|| add_desk(&server, &rt_url, &rt_token))?;
    let n = if crate::harness::soak() { 30 } else { 8 };
    let rounds = if crate::harness::soak() { 50 } else { 10 };
    let ids = tokio::task::block_in_place(|| report_many(&agent, n, "app", "App crashes"))?;
    tokio::task::block_in_place(|| sync_until_done(&agent, 5))?;
    // SIGKILL at instants drawn from a fixed seed, 0.3–3.3 s after each start: new tickets
    // wait 3 s for their screenshot, then each costs RT a search and a create.
    let mut seed: u64 = 0x5eed_f0a7;
    for round in 0..rounds {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let after = Duration::from_millis(300 + seed % 3000);
        tokio::time::sleep(after).await;
        tokio::task::block_in_place(|| server.kill9())?;
        let listed = tokio::task::block_in_place(|| desks(&server))?;
        eprintln!(
            "round {round}: killed after {} ms; sent {}",
            after.as_millis(),
            listed[0]["sent"]
        );
        if listed[0]["sent"] == n {
            break;
        }
        tokio::task::block_in_place(|| server.serve(0))?;
    }
    if server.pid().is_none() {
        tokio::task::block_in_place(|| server.serve(0))?;
    }
    all_in_rt_once(&server, &rt, &ids).await
}

#[test]
fn desks_are_managed_from_the_command_line_and_secrets_never_shown() -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start()?;
    let secret = "1-14-never-shown-0123456789abcdef";
    let file = server.data_dir().join("rt.token");
    std::fs::write(&file, format!("{secret}\n"))?;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644))?;
    let path = file.to_str().context("path")?;
    let add = |kind: &str, name: &str| {
        let args = [
            "desk",
            "add",
            "--kind",
            kind,
            "--name",
            name,
            "--url",
            "https://rt.district.test/REST/2.0/",
            "--secret-file",
            path,
        ];
        server.cli(&args)
    };
    let refused = add("rt", "Loose").expect_err("a file others can read is refused");
    assert!(
        refused.to_string().contains("readable by others"),
        "{refused:#}"
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
    let unknown = add("zendesk", "Mail").expect_err("no such kind");
    assert!(
        unknown.to_string().contains("unknown desk kind"),
        "{unknown:#}"
    );
    let bad_mail = add("email", "Mail").expect_err("an email desk's --url is an SMTP server");
    assert!(
        bad_mail.to_string().contains("must be smtp:// or smtps://")
            && !bad_mail.to_string().contains("answer"),
        "{bad_mail:#}"
    );
    let out = add("rt", "District RT")?;
    assert!(!out.contains(secret), "{out}");
    let id = last_line(&out);
    assert_eq!(id, "1");
    let second = last_line(&server.cli_with_input(
        &[
            "desk",
            "add",
            "--kind",
            "rt",
            "--name",
            "Other",
            "--url",
            "https://rt2.test",
            "--secret-file",
            "-",
            "--queue",
            "Help Desk",
            "--poll-secs",
            "60",
        ],
        secret,
    )?);
    let listed = server.cli(&["desk", "list", "--json"])?;
    assert!(!listed.contains(secret), "{listed}");
    let v: Vec<Value> = serde_json::from_str(&listed)?;
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["url"], "https://rt.district.test");
    assert_eq!(
        (v[0]["default"].clone(), v[1]["default"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(
        (v[1]["queue"].clone(), v[1]["poll_secs"].clone()),
        (json!("Help Desk"), json!(60))
    );
    for key in [
        "id",
        "kind",
        "name",
        "enabled",
        "queued",
        "sent",
        "failed",
        "last_success_at",
        "last_error",
    ] {
        assert!(v[0].get(key).is_some(), "{key} missing: {}", v[0]);
    }
    server.cli(&["desk", "disable", "--id", &second])?;
    server.cli(&["desk", "default", "--id", "none"])?;
    let v: Vec<Value> = serde_json::from_str(&server.cli(&["desk", "list", "--json"])?)?;
    assert_eq!(v[1]["enabled"], false);
    assert!(v.iter().all(|d| d["default"] == false));
    assert!(server.cli(&["desk", "enable", "--id", "9"]).is_err());
    // Routing rules: the first match wins, before the default.
    let rule = last_line(&server.cli(&[
        "desk",
        "route",
        "add",
        "--school",
        "Lincoln",
        "--category",
        "printer",
        "--to",
        "1",
    ])?);
    server.cli(&["desk", "route", "add", "--building", "Gym", "--to", "none"])?;
    assert!(
        server
            .cli(&["desk", "route", "add", "--category", "toaster", "--to", "1"])
            .is_err()
    );
    let rules: Vec<Value> =
        serde_json::from_str(&server.cli(&["desk", "route", "list", "--json"])?)?;
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0]["id"].to_string(), rule);
    assert_eq!(
        (rules[0]["school"].clone(), rules[0]["to"].clone()),
        (json!("Lincoln"), json!(1))
    );
    assert_eq!(rules[1]["to"], Value::Null);
    server.cli(&["desk", "route", "remove", "--id", &rule])?;
    let rules: Vec<Value> =
        serde_json::from_str(&server.cli(&["desk", "route", "list", "--json"])?)?;
    assert_eq!(rules.len(), 1);
    Ok(())
}
