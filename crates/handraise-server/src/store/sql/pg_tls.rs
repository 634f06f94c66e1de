//! How the server reaches PostgreSQL: a database URL made into the client's
//! settings and the TLS connector they call for. The one home of both
//! PostgreSQL clients' connections (the store's pool and the cluster
//! notifier), so they honour a URL's TLS settings alike.
//!
//! `sslmode` (tokio-postgres knows only `disable`, `prefer` and `require`;
//! the two `verify-` modes are read here):
//! - `disable`: no TLS.
//! - `prefer` (the default): TLS when the server offers it, verified as
//!   below; plaintext when the server says it has no TLS (which an attacker on
//!   the network can also say: use `require` there). A certificate that fails
//!   verification ends the connection; it is never a reason for plaintext.
//! - `require`, `verify-ca`, `verify-full`: TLS or no connection, with the
//!   server's certificate chain verified against the trust store and its
//!   name (or IP address) against the URL's host. All three check what libpq's
//!   `verify-full` checks (libpq's `require` checks nothing and its
//!   `verify-ca` no name); this client has no unverified TLS.
//!
//! The trust store: `sslrootcert=/path/ca.pem` (PEM, one or more CA
//! certificates) is trusted instead of the platform's, as libpq does; without
//! it (or with `sslrootcert=system`) the platform's trust store
//! (rustls-platform-verifier), as the help desks' mail clients use.
//!
//! Any other TLS option (`sslcert`, `sslkey`, `sslmode=allow`, …) is refused
//! by tokio-postgres as an unknown option or value, never ignored.

use percent_encoding::percent_decode_str;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Why a database URL cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PgUrlError {
    #[error("{0}")]
    Config(#[from] tokio_postgres::Error),
    #[error("sslrootcert {}: {reason}", path.display())]
    RootCert { path: PathBuf, reason: String },
    #[error("TLS setup: {0}")]
    Tls(#[from] rustls::Error),
}

/// The client settings of the PostgreSQL `url` and the TLS connector its
/// `sslmode` and `sslrootcert` call for (the module's rules).
pub fn pg_connection(url: &str) -> Result<(tokio_postgres::Config, MakeRustlsConnect), PgUrlError> {
    let (url, root_cert) = take_tls_params(url);
    let config: tokio_postgres::Config = url.parse()?;
    let tls = connector(config.get_ssl_mode(), root_cert.as_deref())?;
    Ok((config, tls))
}

/// `e` of a connection attempt in words: the server's message and code, or
/// the error and its causes, with a hint when the server's certificate was
/// not trusted or not made for the URL's host.
pub fn describe_connect_error(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut hint = None;
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        // rustls's error arrives inside an I/O error, whose `source` skips it.
        let tls = c.downcast_ref::<rustls::Error>().or_else(|| {
            c.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(rustls::Error::InvalidCertificate(why)) = tls {
            hint = Some(match why {
                rustls::CertificateError::UnknownIssuer => {
                    "the database server's certificate is not trusted: give the CA that signed \
                     it as sslrootcert=/path/ca.pem in the database URL"
                }
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. } => {
                    "the database URL's host must be a name or address the server's \
                     certificate is made for"
                }
                _ => "the database server's certificate was refused",
            });
        }
        cause = c.source();
    }
    if let Some(hint) = hint {
        text.push_str(&format!(" ({hint})"));
    }
    text
}

/// `url` without what tokio-postgres does not read (`sslrootcert`, and
/// `sslmode=verify-ca|verify-full`, which become `require`), and the root
/// certificate file named (`None`: the platform's trust store). Only a URL
/// (`postgres://…?…`) has them; a `key=value` string is left to tokio-postgres.
/// The URL's `sslrootcert` (`None`: the platform's trust store).
pub fn root_cert(url: &str) -> Option<PathBuf> {
    take_tls_params(url).1
}

fn take_tls_params(url: &str) -> (String, Option<PathBuf>) {
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let Some((base, query)) = url.split_once('?').filter(|_| is_url) else {
        return (url.to_owned(), None);
    };
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let mut root_cert = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match (decode(key).as_str(), decode(value).as_str()) {
            ("sslrootcert", "system" | "") => root_cert = None,
            ("sslrootcert", path) => root_cert = Some(PathBuf::from(path)),
            ("sslmode", "verify-ca" | "verify-full") => kept.push("sslmode=require"),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, root_cert)
}

/// The TLS connector for `mode` trusting `root_cert` (a PEM file) or, when
/// `None`, the platform's trust store. With `disable` it is never used, and
/// reads nothing.
fn connector(mode: SslMode, root_cert: Option<&Path>) -> Result<MakeRustlsConnect, PgUrlError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?;
    let mut config = match (mode, root_cert) {
        (SslMode::Disable, _) => builder
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
        (_, Some(path)) => builder
            .with_root_certificates(read_roots(path)?)
            .with_no_client_auth(),
        (_, None) => builder.with_platform_verifier()?.with_no_client_auth(),
    };
    // What libpq offers: PostgreSQL 17 requires it with sslnegotiation=direct.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(MakeRustlsConnect::new(config))
}

/// The CA certificates of the PEM file at `path`.
fn read_roots(path: &Path) -> Result<rustls::RootCertStore, PgUrlError> {
    let failed = |reason: String| PgUrlError::RootCert {
        path: path.to_owned(),
        reason,
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| failed(e.to_string()))? {
        let cert = cert.map_err(|e| failed(e.to_string()))?;
        roots.add(cert).map_err(|e| failed(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(failed("no PEM certificate in it".into()));
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_params_are_taken_out_of_the_url() {
        let (url, root) = take_tls_params(
            "postgres://u:p@db.example:5432/hr?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x",
        );
        assert_eq!(
            url,
            "postgres://u:p@db.example:5432/hr?sslmode=require&application_name=x"
        );
        assert_eq!(root, Some(PathBuf::from("/etc/ca.pem")));
        let (url, root) = take_tls_params("postgres://db/hr?sslrootcert=system");
        assert_eq!((url.as_str(), root), ("postgres://db/hr", None));
        let plain = "host=db sslmode=require";
        assert_eq!(take_tls_params(plain), (plain.to_owned(), None));
    }

    #[test]
    fn unusable_tls_settings_are_errors() {
        for url in [
            "postgres://db/hr?sslmode=allow",
            "postgres://db/hr?sslcert=/c.pem",
            "postgres://db/hr?sslmode=require&sslrootcert=/nonexistent/ca.pem",
        ] {
            assert!(pg_connection(url).is_err(), "{url} was accepted");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let Err(err) = pg_connection(&format!("postgres://db/hr?sslrootcert={}", empty.display()))
        else {
            panic!("a file without certificates was accepted");
        };
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
        let (config, _) = pg_connection("postgres://db/hr?sslmode=verify-ca").expect("verify-ca");
        assert_eq!(config.get_ssl_mode(), SslMode::Require);
    }
}
