//! TLS for the mailbox client: the system's trust store (as reqwest uses it).

use super::DeskError;
use std::sync::Arc;

/// A TLS connector that trusts what the platform trusts.
pub fn connector() -> Result<tokio_rustls::TlsConnector, DeskError> {
    use rustls_platform_verifier::ConfigVerifierExt;
    let config = rustls::ClientConfig::with_platform_verifier()
        .map_err(|e| DeskError::Protocol(format!("TLS setup: {e}")))?;
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// The name `host` is checked against.
pub fn server_name(host: &str) -> Result<rustls::pki_types::ServerName<'static>, DeskError> {
    rustls::pki_types::ServerName::try_from(
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
    )
    .map_err(|e| DeskError::Protocol(format!("{host:?} is not a TLS server name: {e}")))
}
