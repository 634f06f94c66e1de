//! Console sign-in under a burst: the throttle counts an attempt before its password is
//! checked, password checks wait for one of a few hashing slots, and a delay that grows
//! with each failure slows an account down instead of locking it out.

use super::R;
use super::console::{enc, user};
use axum::http::{Method, StatusCode, header};
use handraise_server::store::Role;
use handraise_testkit::router::{App, Auth, Reply, request};
use std::time::Duration;

const RIGHT: &str = "a long enough password";

/// A console sign-in through the router, with the double-submit cookie and field.
pub(crate) async fn sign_in(app: &App, email: &str, password: &str) -> Reply {
    let form = format!("csrf=burst&email={}&password={}", enc(email), enc(password));
    let req = request(
        Method::POST,
        "/console/sign-in",
        Auth::Cookie("hr_signin=burst"),
        Some("application/x-www-form-urlencoded"),
        form.into_bytes(),
    );
    app.send(req.expect("request")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_wrong_passwords_gets_few_checked_and_the_owner_in_after_the_delay() {
    const BURST: usize = 200;
    let app = std::sync::Arc::new(App::new());
    user(&app, "ada@example.org", "Ada", Role::Technician).await;
    // However long the burst takes on a busy machine, no time passes for the delay.
    app.state.clock().freeze();
    let mut tasks = Vec::new();
    for i in 0..BURST {
        let app = std::sync::Arc::clone(&app);
        tasks.push(tokio::spawn(async move {
            sign_in(&app, "ada@example.org", &format!("wrong password {i}")).await
        }));
    }
    let mut refused = 0;
    let mut retry_after = 0u64;
    for t in tasks {
        let r = t.await.expect("the attempt ran");
        match r.status {
            StatusCode::UNAUTHORIZED => refused += 1,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                let secs = r.header(header::RETRY_AFTER).and_then(|v| v.parse().ok());
                retry_after = retry_after.max(secs.expect("Retry-After in whole seconds"));
            }
            other => panic!("unexpected {other}"),
        }
    }
    // On a busy machine part of the burst waits too long for a checking slot and is told
    // to come back (503, not counted against anyone); wrong passwords sent one at a time
    // then reach the limit, with no more checks than the burst alone would have had.
    for _ in 0..BURST {
        let r = sign_in(&app, "ada@example.org", "one more wrong password").await;
        match r.status {
            StatusCode::UNAUTHORIZED => refused += 1,
            StatusCode::SERVICE_UNAVAILABLE => {}
            StatusCode::TOO_MANY_REQUESTS => {
                let secs = r.header(header::RETRY_AFTER).and_then(|v| v.parse().ok());
                retry_after = retry_after.max(secs.expect("Retry-After in whole seconds"));
                break;
            }
            other => panic!("unexpected {other}"),
        }
    }
    let checked = app.state.password_checks_run();
    assert!(checked <= 10, "{checked} wrong passwords were checked");
    assert_eq!(
        checked, refused,
        "every checked wrong password answered 401"
    );
    // Right away, even the right password waits (and is not checked).
    let r = sign_in(&app, "ada@example.org", RIGHT).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let text = String::from_utf8_lossy(&r.bytes);
    assert!(text.contains("Too many failed sign-ins"), "{text}");
    assert_eq!(app.state.password_checks_run(), checked);
    // Once the delay has passed, the owner signs in.
    let wait: Option<u64> = r.header(header::RETRY_AFTER).and_then(|v| v.parse().ok());
    let wait = wait.expect("Retry-After").max(retry_after);
    app.state.clock().advance(Duration::from_secs(wait));
    let r = sign_in(&app, "ada@example.org", RIGHT).await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "{}",
        String::from_utf8_lossy(&r.bytes)
    );
    assert_eq!(app.state.password_checks_run(), checked + 1);
}

/// One console sign-in over real TCP (`Connection: close`), forwarded for `client` when
/// given; the status code.
async fn post_sign_in(
    addr: std::net::SocketAddr,
    (email, password): (&str, &str),
    client: Option<&str>,
) -> R<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let form = format!(
        "csrf=burst&email={}&password={password}",
        email.replace('@', "%40")
    );
    let forwarded = client.map_or(String::new(), |c| format!("X-Forwarded-For: {c}\r\n"));
    let head = format!(
        "POST /console/sign-in HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{forwarded}\
         Cookie: hr_signin=burst\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n",
        form.len()
    );
    let mut conn = tokio::net::TcpStream::connect(addr).await?;
    conn.write_all(head.as_bytes()).await?;
    conn.write_all(form.as_bytes()).await?;
    let mut text = Vec::new();
    conn.read_to_end(&mut text).await?;
    let text = String::from_utf8_lossy(&text);
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no status line in {text:?}"))?;
    Ok(code)
}

/// The peak resident memory of process `pid` (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> R<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .ok_or("no VmHWM")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .ok_or("bad VmHWM")?)
}

/// 200 parallel wrong sign-ins against a real server: attempt `i` is for `email(i)`,
/// forwarded for `client(i)`. Prints the statuses and the server's peak memory.
async fn burst(
    env: &[(&str, &str)],
    email: fn(usize) -> String,
    client: fn(usize) -> Option<String>,
) -> R {
    const BURST: usize = 200;
    let server = handraise_testkit::Server::start_with(env)?;
    server.cli_with_input(
        &[
            "user",
            "add",
            "--email",
            "ada@example.org",
            "--role",
            "admin",
        ],
        "the right password!",
    )?;
    let pid = server.pid().ok_or("no pid")?;
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", server.port).parse()?;
    let before = peak_rss_kib(pid)?;
    let start = std::time::Instant::now();
    let mut tasks = Vec::new();
    for i in 0..BURST {
        tasks.push(tokio::spawn(async move {
            let (email, password) = (email(i), format!("wrong-password-{i}"));
            post_sign_in(addr, (&email, &password), client(i).as_deref()).await
        }));
    }
    let mut codes = std::collections::BTreeMap::<u16, usize>::new();
    for t in tasks {
        let code = t
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        *codes.entry(code).or_default() += 1;
    }
    let elapsed = start.elapsed();
    let after = peak_rss_kib(pid)?;
    println!(
        "{BURST} parallel wrong sign-ins ({}) in {elapsed:?}: statuses {codes:?}; \
         peak RSS {before} KiB before, {after} KiB after",
        if client(0).is_some() {
            "200 accounts, 200 forwarded addresses"
        } else {
            "one account"
        }
    );
    Ok(())
}

/// The real server binary (debug build) under 200 parallel wrong passwords: for one
/// account (the delay lets few through), then for 200 accounts from 200 addresses behind a
/// trusted proxy (no delay applies: the hashing slots bound the work). Statuses: 401
/// checked, 429 slowed down, 503 busy. Run with
/// `cargo build -p handraise-server --bins && cargo test -p handraise-server --test it -- --ignored --nocapture sign_in_burst`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "measurement: needs the server binary built"]
async fn sign_in_burst_against_the_real_binary() -> R {
    burst(&[], |_| "ada@example.org".into(), |_| None).await?;
    burst(
        &[("HANDRAISE_SERVER_TRUSTED_PROXIES", "127.0.0.1")],
        |i| format!("user{i}@example.org"),
        |i| Some(format!("203.0.113.{i}")),
    )
    .await
}

#[tokio::test]
async fn failures_on_one_node_slow_the_sign_in_on_another() {
    let a = App::new();
    user(&a, "ada@example.org", "Ada", Role::Technician).await;
    let b = a.another_node();
    for node in [&a, &b] {
        node.state.clock().freeze();
    }
    // The five free failures, spread over both nodes.
    for i in 0..5 {
        let node = if i % 2 == 0 { &a } else { &b };
        let r = sign_in(node, "ada@example.org", "a wrong password!").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let mut wait = 0;
    for node in [&b, &a] {
        let r = sign_in(node, "ada@example.org", RIGHT).await;
        assert_eq!(
            r.status,
            StatusCode::TOO_MANY_REQUESTS,
            "counted on every node"
        );
        let secs: Option<u64> = r.header(header::RETRY_AFTER).and_then(|v| v.parse().ok());
        wait = wait.max(secs.expect("Retry-After"));
    }
    let checked = a.state.password_checks_run() + b.state.password_checks_run();
    assert_eq!(checked, 5, "a waiting attempt is not checked");
    b.state.clock().advance(Duration::from_secs(wait));
    let r = sign_in(&b, "ada@example.org", RIGHT).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}
