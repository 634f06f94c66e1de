//! The server's own accept loop on a real listener: connection limits (header-read timeout,
//! long-polls that outlive the idle timeout, the connection cap), HTTPS with a certificate
//! made here (HSTS, `__Host-` cookies, reloading), and plain HTTP without one.

use super::R;
use handraise_server::transport::{HSTS, Tls};
use handraise_server::{Config, serve_with};
use handraise_testkit::router::App;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest any step here waits for what it expects; not a guess of how long it takes.
const BOUND: Duration = Duration::from_secs(30);

/// A server on 127.0.0.1 port 0 over `app`'s state; stops when dropped.
struct Running {
    addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(app: &App, tls: Option<Arc<Tls>>) -> R<Running> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve_with(listener, app.state.clone(), tls, async move {
        let _ = stopped.await;
    }));
    Ok(Running { addr, _stop: stop })
}

fn app(config: Config) -> R<App> {
    Ok(App::over(
        Arc::new(handraise_testkit::router::test_store()),
        config,
    ))
}

/// Reads until the server closes the connection (EOF or reset); what it sent before.
async fn until_closed(conn: &mut TcpStream) -> R<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(BOUND, conn.read(&mut buf)).await? {
            Ok(0) | Err(_) => return Ok(String::from_utf8_lossy(&got).into_owned()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// One HTTP/1.1 request on `conn` (kept alive); the status line of the answer, whose
/// head must fit one read.
async fn status_line(conn: &mut TcpStream, path: &str) -> R<String> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    conn.write_all(request.as_bytes()).await?;
    let mut buf = [0u8; 4096];
    let n = tokio::time::timeout(BOUND, conn.read(&mut buf)).await??;
    let text = String::from_utf8_lossy(&buf[..n]);
    Ok(text.lines().next().unwrap_or("").to_owned())
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_headers_is_closed_after_the_header_timeout() -> R {
    let app = app(Config {
        header_read_timeout_secs: 1,
        ..Config::default()
    })?;
    let server = start(&app, None).await?;
    // Half a request, never finished; and a connection that sends nothing at all.
    let mut slow = TcpStream::connect(server.addr).await?;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await?;
    let mut silent = TcpStream::connect(server.addr).await?;
    let (slow_got, silent_got) = tokio::join!(until_closed(&mut slow), until_closed(&mut silent));
    assert!(
        !slow_got?.contains("200 OK"),
        "the half request was not served"
    );
    silent_got?;
    // Others are served meanwhile and after.
    let mut ok = TcpStream::connect(server.addr).await?;
    assert_eq!(status_line(&mut ok, "/healthz").await?, "HTTP/1.1 200 OK");
    Ok(())
}

#[tokio::test]
async fn a_kept_alive_connection_left_idle_is_closed_after_the_idle_timeout() -> R {
    let app = app(Config {
        header_read_timeout_secs: 600,
        idle_timeout_secs: 1,
        ..Config::default()
    })?;
    let server = start(&app, None).await?;
    let mut conn = TcpStream::connect(server.addr).await?;
    assert_eq!(status_line(&mut conn, "/healthz").await?, "HTTP/1.1 200 OK");
    // Nothing more is sent: the idle timeout (not the far longer header timeout) ends it.
    until_closed(&mut conn).await?;
    Ok(())
}

#[tokio::test]
async fn a_pending_long_poll_outlives_the_idle_and_header_timeouts() -> R {
    let app = app(Config {
        header_read_timeout_secs: 1,
        idle_timeout_secs: 1,
        ..Config::default()
    })?;
    let (_, secret) = app.device(None, None).await;
    let server = start(&app, None).await?;
    let mut conn = TcpStream::connect(server.addr).await?;
    let request = format!(
        "GET /api/v1/updates?cursor=0&wait=3 HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {secret}\r\nConnection: close\r\n\r\n"
    );
    let t = tokio::time::Instant::now();
    conn.write_all(request.as_bytes()).await?;
    let answer = until_closed(&mut conn).await?;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        t.elapsed() >= Duration::from_secs(2),
        "the long-poll held its wait instead of being cut: {:?}",
        t.elapsed()
    );
    Ok(())
}

#[tokio::test]
async fn when_full_a_new_connection_waits_until_one_closes() -> R {
    let app = app(Config {
        max_connections: 1,
        ..Config::default()
    })?;
    let server = start(&app, None).await?;
    let mut first = TcpStream::connect(server.addr).await?;
    assert_eq!(
        status_line(&mut first, "/healthz").await?,
        "HTTP/1.1 200 OK"
    );
    // The kernel completes the second connection, but the server does not take it yet.
    let mut second = TcpStream::connect(server.addr).await?;
    second
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await?;
    let mut buf = [0u8; 1024];
    let early = tokio::time::timeout(Duration::from_millis(500), second.read(&mut buf)).await;
    assert!(early.is_err(), "answered while the server was full");
    // The first one closes: the second is taken and answered.
    drop(first);
    let n = tokio::time::timeout(BOUND, second.read(&mut buf)).await??;
    assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"));
    Ok(())
}

/// A self-signed certificate for 127.0.0.1 and localhost, written as `NAME.pem` and
/// `NAME.key` in `dir`; the certificate's PEM.
fn certificate(dir: &Path, name: &str) -> R<(PathBuf, PathBuf, String)> {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])?;
    let (cert, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    let pem = made.cert.pem();
    std::fs::write(&cert, &pem)?;
    std::fs::write(&key, made.signing_key.serialize_pem())?;
    Ok((cert, key, pem))
}

/// A client that trusts only the certificate `pem`.
fn trusting(pem: &str) -> R<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes())?])
        .build()?)
}

fn set_cookies(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn https_sends_hsts_and_host_prefixed_secure_cookies_and_plain_http_neither() -> R {
    let dir = tempfile::tempdir()?;
    let (cert, key, pem) = certificate(dir.path(), "server")?;
    let app = app(Config::default())?;
    let tls = start(&app, Some(Tls::load(&cert, &key)?)).await?;
    let plain = start(&app, None).await?;
    let client = trusting(&pem)?;

    let url = format!("https://127.0.0.1:{}", tls.addr.port());
    let health = client.get(format!("{url}/healthz")).send().await?;
    assert_eq!(health.status(), 200);
    assert_eq!(
        health
            .headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some(HSTS)
    );
    let form = client.get(format!("{url}/console/sign-in")).send().await?;
    let cookies = set_cookies(&form);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("__Host-hr_signin=") && c.ends_with("; Secure")),
        "{cookies:?}"
    );

    let url = format!("http://127.0.0.1:{}", plain.addr.port());
    let health = client.get(format!("{url}/healthz")).send().await?;
    assert_eq!(health.status(), 200);
    assert!(health.headers().get("strict-transport-security").is_none());
    let form = client.get(format!("{url}/console/sign-in")).send().await?;
    let cookies = set_cookies(&form);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("hr_signin=") && !c.contains("Secure")),
        "{cookies:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_reload_takes_the_new_certificate_and_a_bad_file_keeps_the_old() -> R {
    let dir = tempfile::tempdir()?;
    let (cert, key, old_pem) = certificate(dir.path(), "server")?;
    let app = app(Config::default())?;
    let tls = Tls::load(&cert, &key)?;
    let server = start(&app, Some(Arc::clone(&tls))).await?;
    let url = format!("https://127.0.0.1:{}/healthz", server.addr.port());
    let answers = |pem: &str| {
        let client = trusting(pem);
        let url = url.clone();
        async move {
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(client?.get(url).send().await.is_ok())
        }
    };
    assert!(answers(&old_pem).await?);

    let (new_cert, new_key, new_pem) = certificate(dir.path(), "new")?;
    std::fs::rename(new_cert, &cert)?;
    std::fs::rename(new_key, &key)?;
    tls.reload()?;
    assert!(answers(&new_pem).await?, "the new certificate is served");
    assert!(!answers(&old_pem).await?, "the old one is not");

    std::fs::write(&cert, "not a certificate")?;
    let err = tls
        .reload()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains(&cert.display().to_string()), "{err}");
    assert!(answers(&new_pem).await?, "a bad file keeps the pair in use");
    Ok(())
}
