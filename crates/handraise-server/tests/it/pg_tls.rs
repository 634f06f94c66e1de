//! TLS to PostgreSQL: the store and the cluster notifier against a real PostgreSQL server
//! of their own (a throwaway cluster with `ssl = on`, a certificate for 127.0.0.1 and
//! localhost from a test CA, and `hostssl` lines only, so plaintext is refused). Skipped,
//! with a note, when PostgreSQL is not installed and `HANDRAISE_TEST_POSTGRES` is unset.

use super::R;
use handraise_server::service::FeedNotifier;
use handraise_server::service::cluster;
use handraise_server::store::{AdminStore, LeaseStore, pg_connection};
use handraise_server::{SqlStore, store::now_utc};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Generous: a notification normally arrives in milliseconds.
const DEADLINE: Duration = Duration::from_secs(30);

/// A PostgreSQL cluster in a temporary directory serving TLS only, on 127.0.0.1; stopped
/// when dropped. As root it runs as Debian's `postgres` user.
struct TlsServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl TlsServer {
    /// `None` (with a note) when PostgreSQL is not installed and no test server is asked for.
    fn start() -> R<Option<TlsServer>> {
        let Some(bin) = postgres_bin() else {
            assert!(
                handraise_testkit::postgres::admin_url().is_none(),
                "HANDRAISE_TEST_POSTGRES is set but no PostgreSQL server is installed in \
                 /usr/lib/postgresql"
            );
            eprintln!("note: PostgreSQL is not installed: TLS to PostgreSQL is not tested");
            return Ok(None);
        };
        let dir = tempfile::Builder::new()
            .prefix("handraise-pgtls")
            .tempdir()?;
        let server = TlsServer { dir, bin, port: 0 };
        server.own(server.dir.path())?;
        let data = server.data();
        run(server
            .program("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
            .arg("--locale=C"))?;
        let (ca, cert, key) = certificates()?;
        std::fs::write(server.ca(), ca)?;
        for (name, pem) in [("server.crt", cert), ("server.key", key)] {
            let path = data.join(name);
            std::fs::write(&path, pem)?;
            set_mode(&path, 0o600)?;
            server.own(&path)?;
        }
        let mut conf = std::fs::read_to_string(data.join("postgresql.conf"))?;
        conf.push_str(&format!(
            "\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nfsync = off\n\
             ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n",
            server.dir.path().display()
        ));
        std::fs::write(data.join("postgresql.conf"), conf)?;
        // TLS or nothing over TCP.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        )?;
        server.listen()
    }

    /// `pg_ctl start` on a free port, another when it was taken meanwhile.
    fn listen(mut self) -> R<Option<TlsServer>> {
        let mut last = String::new();
        for _ in 0..5 {
            let port = handraise_testkit::free_port()?;
            let status = self
                .program("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.dir.path().join("server.log"))
                .args(["-w", "-t", "120", "-o"])
                .arg(format!("-p {port}"))
                .arg("start")
                .status()?;
            if status.success() {
                self.port = port;
                return Ok(Some(self));
            }
            last = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        }
        Err(format!("PostgreSQL did not start: {last}").into())
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The test CA's certificate (PEM).
    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The URL of the `postgres` database with `query` (none when empty).
    fn url(&self, query: &str) -> String {
        let url = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        if query.is_empty() {
            url
        } else {
            format!("{url}?{query}")
        }
    }

    /// `sslmode=<mode>` trusting the test CA.
    fn url_with_ca(&self, mode: &str) -> String {
        self.url(&format!(
            "sslmode={mode}&sslrootcert={}",
            self.ca().display()
        ))
    }

    /// A PostgreSQL program, as the `postgres` user when this process is root.
    fn program(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        let mut cmd = if handraise_testkit::is_root() {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        };
        cmd.current_dir(self.dir.path());
        cmd
    }

    /// As root, `path` goes to the `postgres` user, who runs the server.
    fn own(&self, path: &Path) -> R {
        if handraise_testkit::is_root() {
            let id = |flag: &str| -> R<u32> {
                let out = Command::new("id").args([flag, "postgres"]).output()?;
                Ok(String::from_utf8(out.stdout)?.trim().parse()?)
            };
            std::os::unix::fs::chown(path, Some(id("-u")?), Some(id("-g")?))?;
        }
        Ok(())
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self
            .program("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "stop"])
            .status();
    }
}

/// The `bin` directory of the highest PostgreSQL version of Debian's packages.
fn postgres_bin() -> Option<PathBuf> {
    std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin)
}

fn run(cmd: &mut Command) -> R {
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(format!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> R {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// A test CA's certificate, and a certificate it signed for 127.0.0.1 and localhost with
/// its key (PEM each).
fn certificates() -> R<(String, String, String)> {
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "HandRaise test CA");
    let ca_cert = ca.self_signed(&ca_key)?;
    let key = rcgen::KeyPair::generate()?;
    let server = rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])?;
    let cert = server.signed_by(&key, &rcgen::Issuer::from_params(&ca, &ca_key))?;
    Ok((ca_cert.pem(), cert.pem(), key.serialize_pem()))
}

/// Whether the connection of `url` (made as the server makes its own) is TLS, by the
/// server's own account.
async fn is_tls(url: &str) -> R<bool> {
    let (config, tls) = pg_connection(url)?;
    let (client, connection) = config.connect(tls).await?;
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

/// What opening the store on `url` fails with.
async fn open_error(url: String) -> String {
    match tokio::task::spawn_blocking(move || SqlStore::open_postgres(&url)).await {
        Ok(Ok(_)) => panic!("the store opened"),
        Ok(Err(e)) => {
            eprintln!("refused as it should be: {e}");
            e.to_string()
        }
        Err(e) => panic!("the store's open panicked: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_and_the_cluster_notifier_speak_tls_to_postgres() -> R {
    let Some(server) = tokio::task::spawn_blocking(TlsServer::start).await?? else {
        return Ok(());
    };

    // The store over TLS, trusting the test CA: it opens (its schema applied) and works,
    // and its backup's pg_dump is told to use TLS too.
    let url = server.url_with_ca("require");
    let dump = server.dir.path().join("backup.dump");
    let store = tokio::task::spawn_blocking(move || -> R<SqlStore> {
        let store = SqlStore::open_postgres(&url)?;
        assert!(store.schema_version()? > 0);
        assert!(store.try_lease("tls", "node-a", now_utc(), Duration::from_secs(60))?);
        assert!(!store.try_lease("tls", "node-b", now_utc(), Duration::from_secs(60))?);
        store.backup(&dump)?;
        assert!(std::fs::metadata(&dump)?.len() > 0);
        Ok(store)
    })
    .await??;
    assert!(is_tls(&server.url_with_ca("require")).await?);
    assert!(is_tls(&server.url_with_ca("verify-full")).await?);
    // Also by the host's name.
    let by_name = server
        .url_with_ca("verify-ca")
        .replace("127.0.0.1", "localhost");
    assert!(is_tls(&by_name).await?);

    // Without the CA (the platform's trust store) the certificate is not trusted, with
    // `require` and with the default (`prefer`, which never falls back to plaintext then).
    for url in [server.url("sslmode=require"), server.url("")] {
        let err = open_error(url.clone()).await;
        assert!(
            err.contains("certificate") && err.contains("sslrootcert"),
            "{url}: {err}"
        );
    }
    // The server's name is checked: the same server under a name its certificate lacks.
    let elsewhere = server
        .url_with_ca("require&hostaddr=127.0.0.1")
        .replace("@127.0.0.1:", "@db.example:");
    let err = open_error(elsewhere).await;
    assert!(
        err.contains("not valid for name") && err.contains("URL's host"),
        "{err}"
    );
    // Plaintext is refused by the server.
    let err = open_error(server.url("sslmode=disable")).await;
    assert!(
        err.contains("pg_hba.conf") && err.contains("no encryption"),
        "{err}"
    );
    // A CA file that cannot be read is an error before any connection.
    let err = open_error(server.url("sslmode=require&sslrootcert=/nonexistent/ca.pem")).await;
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    assert!(
        cluster::start(
            &server.url("sslrootcert=/nonexistent/ca.pem"),
            Arc::new(FeedNotifier::default())
        )
        .is_err()
    );

    // The cluster notifier over TLS: it listens, and a NOTIFY (sent over TLS too) wakes
    // the long-polls of that device here.
    let feed = Arc::new(FeedNotifier::default());
    let _notifier = cluster::start(
        &server.url_with_ca("verify-full&application_name=tls-notifier"),
        Arc::clone(&feed),
    )?;
    let (config, tls) = pg_connection(&server.url_with_ca("require"))?;
    let (client, connection) = config.connect(tls).await?;
    tokio::spawn(connection);
    let device = Uuid::new_v4();
    let waiting = feed.subscribe(device);
    let deadline = Instant::now() + DEADLINE;
    loop {
        let notified = waiting.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        client
            .execute(
                "SELECT pg_notify($1, $2)",
                &[&cluster::CHANNEL, &device.to_string()],
            )
            .await?;
        if tokio::time::timeout(Duration::from_millis(200), notified)
            .await
            .is_ok()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cluster notifier never heard the NOTIFY"
        );
    }
    let row = client
        .query_one(
            "SELECT bool_and(s.ssl), count(*) FROM pg_stat_ssl s \
             JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'tls-notifier'",
            &[],
        )
        .await?;
    assert_eq!(
        (row.get::<_, Option<bool>>(0), row.get::<_, i64>(1)),
        (Some(true), 1)
    );
    drop(store);
    Ok(())
}
