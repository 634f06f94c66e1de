//! How clients reach the server: the accept loop, TLS, and the limits of a
//! connection (as opposed to a request's, which `guard` in the root enforces).
//!
//! [`serve_with`] accepts connections itself (on a listener from [`bind`]),
//! one task each, served as HTTP/1.1 by hyper:
//! - at most `max_connections` open at once; when full the loop stops
//!   accepting, so new connections wait in the kernel's listen backlog until
//!   one closes (a burst is delayed, not refused);
//! - `header_read_timeout_secs` for a request's headers (the TLS handshake
//!   included), from when the server starts waiting for them: on a new
//!   connection and on a kept-alive one after its last answer (hyper's timer);
//! - `idle_timeout_secs` with no request being handled and no bytes moving
//!   (a client that stopped reading its answer); a pending long-poll is a
//!   request being handled, so it is never cut;
//! - with [`Tls`], HTTPS (rustls with aws-lc; ALPN `http/1.1`), every
//!   response carrying `Strict-Transport-Security`, and every request marked
//!   [`OverTls`] so the console knows it came over the server's own TLS.
//!
//! On shutdown it stops accepting, ends long-polls, lets open requests finish
//! and closes idle connections, for at most `shutdown_grace_secs`.

use crate::auth::OverTls;
use crate::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tower::ServiceExt;

/// What HTTPS answers carry: browsers use only HTTPS for this host for a year.
pub const HSTS: &str = "max-age=31536000";

/// Why a certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS certificate {path}: {reason}")]
    Cert { path: PathBuf, reason: String },
    #[error("cannot read the TLS private key {path}: {reason}")]
    Key { path: PathBuf, reason: String },
    #[error("the TLS certificate {cert} and key {key} cannot be used together: {reason}")]
    Pair {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
}

/// The server's certificate and key, read from PEM files and re-read on
/// [`Tls::reload`] (SIGHUP: [`reload_on_sighup`]). A reload that fails keeps
/// the pair in use.
pub struct Tls {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<ServerConfig>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// Reads the certificate chain and private key (PEM).
    pub fn load(cert: &Path, key: &Path) -> Result<Arc<Tls>, TlsError> {
        let config = server_config(cert, key)?;
        Ok(Arc::new(Tls {
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: RwLock::new(Arc::new(config)),
        }))
    }

    /// Re-reads both files; on an error the pair in use stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let config = Arc::new(server_config(&self.cert, &self.key)?);
        match self.current.write() {
            Ok(mut current) => *current = config,
            Err(poisoned) => *poisoned.into_inner() = config,
        }
        Ok(())
    }

    fn acceptor(&self) -> TlsAcceptor {
        let config = match self.current.read() {
            Ok(c) => Arc::clone(&c),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        };
        TlsAcceptor::from(config)
    }
}

fn server_config(cert: &Path, key: &Path) -> Result<ServerConfig, TlsError> {
    let cert_error = |reason: String| TlsError::Cert {
        path: cert.to_owned(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| cert_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_error(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_error("it holds no PEM certificate".into()));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
        path: key.to_owned(),
        reason: e.to_string(),
    })?;
    let pair_error = |e: tokio_rustls::rustls::Error| TlsError::Pair {
        cert: cert.to_owned(),
        key: key.to_owned(),
        reason: e.to_string(),
    };
    let provider = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider();
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .map_err(pair_error)?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(pair_error)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Re-reads `tls` on every SIGHUP until the process ends, logging the
/// outcome (a bad new file keeps the old pair). Nothing on non-Unix systems.
pub fn reload_on_sighup(tls: Arc<Tls>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP: the certificate will not be reloaded");
                return;
            }
        };
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                match tls.reload() {
                    Ok(()) => {
                        tracing::info!(cert = %tls.cert.display(), "TLS certificate reloaded")
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "TLS certificate not reloaded; the old one stays in use");
                    }
                }
            }
        });
    }
    #[cfg(not(unix))]
    drop(tls);
}

/// The connection limits, from the configuration.
#[derive(Debug, Clone, Copy)]
struct Limits {
    header_read: Duration,
    idle: Duration,
    max_connections: usize,
}

impl Limits {
    fn of(state: &AppState) -> Self {
        let c = state.config();
        let mut max_connections = c.max_connections.clamp(1, Semaphore::MAX_PERMITS);
        if let Some(files) = open_file_limit() {
            // Beyond the descriptors left, accepting fails anyway; waiting in the backlog
            // is better than failing.
            let room = files.saturating_sub(RESERVED_FILES).max(1);
            if room < max_connections {
                tracing::info!(
                    max_connections,
                    open_file_limit = files,
                    "max_connections is above what the open-file limit allows; using {room}"
                );
                max_connections = room;
            }
        }
        Limits {
            header_read: Duration::from_secs(c.header_read_timeout_secs.max(1)),
            idle: Duration::from_secs(c.idle_timeout_secs.max(1)),
            max_connections,
        }
    }
}

/// Descriptors kept for everything but connections: the database, its journal and backups,
/// logs, the listener.
const RESERVED_FILES: usize = 64;

/// The process's open-file limit (the soft one), when there is one.
fn open_file_limit() -> Option<usize> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit};
        getrlimit(Resource::Nofile)
            .current
            .and_then(|n| usize::try_from(n).ok())
    }
    #[cfg(not(unix))]
    None
}

/// Raises the process's soft open-file limit to its hard one (as far as allowed), so that
/// `max_connections` is not cut short by a low default such as 1,024. The binary calls it once
/// at start.
pub fn raise_open_file_limit() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        if limit.current.is_some() && limit.current != limit.maximum {
            let raised = rustix::process::Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            if let Err(e) = setrlimit(Resource::Nofile, raised) {
                tracing::debug!(error = %e, "open-file limit not raised");
            }
        }
    }
}

/// Connections the kernel holds for the accept loop (capped by `net.core.somaxconn`): a burst
/// of reconnecting agents, or a server at `max_connections`, waits there. (The usual 128
/// overflows under a few hundred simultaneous connects: the excess is dropped or answered with
/// SYN cookies.)
pub const LISTEN_BACKLOG: u32 = 4096;

/// Listens on `addr` (`host:port`; the first of its addresses that binds) with
/// [`LISTEN_BACKLOG`].
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host(addr).await? {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        match socket.bind(addr) {
            Ok(()) => return socket.listen(LISTEN_BACKLOG),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to listen on")
    }))
}

/// Serves `state` over plain HTTP on `listener` until `shutdown` completes;
/// see [`serve_with`].
pub async fn serve<F>(listener: TcpListener, state: AppState, shutdown: F) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    serve_with(listener, state, None, shutdown).await
}

/// Serves `state` on `listener` (HTTPS with `tls`, else plain HTTP) until
/// `shutdown` completes, then stops accepting, ends long-polls and drains
/// open requests for at most `shutdown_grace_secs`.
pub async fn serve_with<F>(
    listener: TcpListener,
    state: AppState,
    tls: Option<Arc<Tls>>,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let app = crate::router(state.clone());
    let limits = Limits::of(&state);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Connections watch `closing`; each holds an `alive` receiver until it ends.
    let (closing_tx, closing_rx) = watch::channel(false);
    let (alive_tx, alive_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let conn = Connection {
            peer,
            app: app.clone(),
            limits,
            closing: closing_rx.clone(),
            _alive: alive_rx.clone(),
            _slot: permit,
        };
        let acceptor = tls.as_ref().map(|t| t.acceptor());
        tokio::spawn(conn.run(stream, acceptor));
    }
    drop(listener);
    tracing::info!("shutting down: draining requests");
    state.begin_shutdown();
    let _ = closing_tx.send(true);
    drop(alive_rx);
    let grace = Duration::from_secs(state.config().shutdown_grace_secs);
    match tokio::time::timeout(grace, alive_tx.closed()).await {
        Ok(()) => tracing::info!("server stopped"),
        Err(_) => {
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "drain took too long; stopping anyway"
            );
        }
    }
    Ok(())
}

/// One accepted connection and what it holds until it ends.
struct Connection {
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    closing: watch::Receiver<bool>,
    _alive: watch::Receiver<()>,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl Connection {
    async fn run(self, stream: TcpStream, tls: Option<TlsAcceptor>) {
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let io = Tracked {
            inner: stream,
            activity: Arc::clone(&activity),
        };
        let Some(acceptor) = tls else {
            return self.serve(io, false, activity).await;
        };
        let handshake = tokio::time::timeout(self.limits.header_read, acceptor.accept(io));
        let mut closing = self.closing.clone();
        let shaken = tokio::select! {
            done = handshake => done,
            _ = closing.wait_for(|closing| *closing) => return,
        };
        match shaken {
            Ok(Ok(io)) => self.serve(io, true, activity).await,
            Ok(Err(e)) => tracing::debug!(peer = %self.peer, error = %e, "TLS handshake failed"),
            Err(_) => tracing::debug!(peer = %self.peer, "TLS handshake timed out"),
        }
    }

    async fn serve<I>(mut self, io: I, secure: bool, activity: Arc<Activity>)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let peer = self.peer;
        let app = self.app.clone();
        let busy = Arc::clone(&activity);
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            if secure {
                request.extensions_mut().insert(OverTls);
            }
            let handling = Handling::begin(&busy);
            let app = app.clone();
            async move {
                let Ok(mut response) = app.oneshot(request).await;
                if secure {
                    response.headers_mut().insert(
                        header::STRICT_TRANSPORT_SECURITY,
                        HeaderValue::from_static(HSTS),
                    );
                }
                drop(handling);
                Ok::<_, Infallible>(response)
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_read);
        let mut conn = pin!(builder.serve_connection(TokioIo::new(io), service));
        let mut closing = *self.closing.borrow();
        if closing {
            conn.as_mut().graceful_shutdown();
        }
        loop {
            let idle_at = activity.idle_at(self.limits.idle);
            tokio::select! {
                done = conn.as_mut() => {
                    if let Err(e) = done {
                        tracing::debug!(%peer, error = %e, "connection ended");
                    }
                    break;
                }
                changed = self.closing.changed(), if !closing => {
                    if changed.is_err() || *self.closing.borrow() {
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
                () = tokio::time::sleep_until(idle_at) => {
                    if activity.handling() > 0 {
                        // A request being handled (a long-poll) is activity: look again later.
                        activity.touch();
                    } else if activity.is_idle(self.limits.idle) {
                        tracing::debug!(%peer, "idle connection closed");
                        break;
                    }
                }
            }
        }
    }
}

/// When bytes last moved on a connection and how many of its requests are
/// being handled.
struct Activity {
    start: Instant,
    /// Milliseconds from `start` to the last read or write that moved bytes,
    /// or the end of the last request handled.
    last_ms: AtomicU64,
    handling: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            handling: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// When the connection becomes idle if nothing happens meanwhile.
    fn idle_at(&self, idle: Duration) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed)) + idle
    }

    fn handling(&self) -> usize {
        self.handling.load(Ordering::Relaxed)
    }

    fn is_idle(&self, idle: Duration) -> bool {
        self.handling() == 0 && Instant::now() >= self.idle_at(idle)
    }
}

/// A request being handled on a connection, from its complete headers to its
/// answer's headers (a long-poll's whole wait).
struct Handling(Arc<Activity>);

impl Handling {
    fn begin(activity: &Arc<Activity>) -> Self {
        activity.handling.fetch_add(1, Ordering::Relaxed);
        Handling(Arc::clone(activity))
    }
}

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.touch();
        self.0.handling.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A stream that notes in [`Activity`] every read or write that moves bytes.
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
