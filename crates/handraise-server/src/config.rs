//! Server configuration: a TOML file (`--config FILE`, else
//! `DATA_DIR/config.toml`), then `HANDRAISE_SERVER_*` environment variables,
//! then command-line flags. Defaults live on the struct.

mod database;
mod location;

pub use database::{DatabaseUrl, DatabaseUrlError, MASK, mask_secrets};
pub use location::{ConfigWrite, Location};

use crate::tz::Zone;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// File name of the configuration inside the data directory.
pub const CONFIG_FILE: &str = "config.toml";
/// File name of the SQLite database inside the data directory.
pub const DATABASE_FILE: &str = "handraise.db";

/// Typed server configuration. Every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// The data directory, for a configuration file kept outside it
    /// (`--config /etc/handraise/server.toml`); `--data-dir` overrides it.
    pub data_dir: Option<PathBuf>,
    /// The database: `sqlite` (the data directory's `handraise.db`) or a
    /// `postgres://USER:PASSWORD@HOST/DATABASE` URL. `--database` wins over it.
    pub database_url: DatabaseUrl,
    /// Address to listen on.
    pub listen: String,
    /// Requests handled at once (long-polls excluded); beyond it 429. Per
    /// server node, as are the other rate limits held in memory here.
    pub max_in_flight: usize,
    /// Enrollments accepted per client IP per minute (per server node).
    pub enroll_per_minute_per_ip: u32,
    /// Per-device token bucket size (per server node).
    pub device_burst: u32,
    /// Per-device token bucket refill, requests per second.
    pub device_per_second: f64,
    /// Largest JSON request body, in bytes.
    pub json_body_limit_bytes: usize,
    /// Largest screenshot upload, in bytes.
    pub screenshot_limit_bytes: usize,
    /// Whole-request timeout, in seconds.
    pub request_timeout_secs: u64,
    /// How long a graceful shutdown may drain before the server stops anyway.
    pub shutdown_grace_secs: u64,
    /// Failed console sign-ins per email and per client address that cost
    /// nothing; each one after them doubles the wait before the next attempt
    /// (from 1 s; sign-in answers 429 with `Retry-After` meanwhile). Kept in
    /// the database: failures on one server node count on every other.
    pub signin_max_failures: u32,
    /// Seconds in which `signin_max_failures` failures fade away; also the
    /// longest wait.
    pub signin_window_secs: u64,
    /// How long a console session lasts, in hours.
    pub session_hours: u32,
    /// The district's time zone (IANA name such as `America/New_York`): every
    /// time the console shows or reads, SLA due times included. Default: the
    /// server's own zone (`TZ`, then `/etc/localtime`), else UTC.
    pub timezone: Zone,
    /// Reverse proxies (addresses or CIDR networks) whose `X-Forwarded-For`
    /// is believed: from them, the client address is the rightmost hop that
    /// is not itself a trusted proxy. Empty: the TCP peer is the client.
    pub trusted_proxies: TrustedProxies,
    /// Tickets one device may file per UTC day; beyond it 429 `quota_exceeded`.
    pub device_tickets_per_day: u64,
    /// Teacher messages one device may send per UTC day.
    pub device_messages_per_day: u64,
    /// Screenshot bytes one device may upload per UTC day.
    pub device_screenshot_bytes_per_day: u64,
    /// Requests in flight at once from one client address that carry no
    /// valid device or technician bearer (enrollment, sign-in, pages, bad
    /// credentials); beyond it 429.
    pub max_unauthenticated_per_client: usize,
    /// A second address that serves only `/metrics`, open to whoever reaches
    /// it (bind it to the monitoring network). Unset: no such listener.
    pub metrics_listen: Option<String>,
    /// A file holding a bearer token that opens `/metrics` on the main
    /// listener (mode 0600 or stricter; read at each scrape, so it can be
    /// replaced without a restart). Unset: `/metrics` is not served there.
    pub metrics_token_file: Option<PathBuf>,
    /// `text` (for people) or `json` (one object a line, for log shippers).
    pub log_format: LogFormat,
    /// Where `serve` writes scheduled backups (`handraise-<time>.db`, each
    /// checked after writing). Unset: no scheduled backups.
    pub backup_dir: Option<PathBuf>,
    /// Hours between scheduled backups.
    pub backup_every_hours: u32,
    /// Scheduled backups kept; the oldest beyond it are removed.
    pub backup_keep: u32,
    /// PEM certificate chain and private key: with both, `serve` speaks HTTPS
    /// itself (reloading them on SIGHUP). A relative path is in the data
    /// directory. Without them, plain HTTP.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Seconds a client has to finish a request's headers, counted from when
    /// the server starts waiting for them: on a new connection (the TLS
    /// handshake included) and on a kept-alive one after its last answer.
    /// Then the connection is closed.
    pub header_read_timeout_secs: u64,
    /// Seconds a connection may stay open with no request being handled and
    /// no bytes moving (a client that stopped reading its answer); then it is
    /// closed. A pending long-poll is a request being handled.
    pub idle_timeout_secs: u64,
    /// Open connections at most (each long-polling agent holds one). When full,
    /// the server stops accepting: new connections wait in the listen backlog
    /// until one closes. Lowered to what the open-file limit allows.
    pub max_connections: usize,
    /// Console cookies are always `Secure` with the `__Host-` prefix, even
    /// when the request does not look like HTTPS (a TLS proxy that is not
    /// among `trusted_proxies`).
    pub always_secure_cookies: bool,
    /// Console sign-in with OpenID Connect (`[oidc]`); none by default.
    pub oidc: Option<crate::oidc::OidcConfig>,
    /// The web report page's built files (`cargo xtask dist` puts them in
    /// `report/` next to the binary, the default when unset).
    pub report_dir: Option<PathBuf>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("log_format is `text` or `json`, not {other:?}")),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: None,
            database_url: DatabaseUrl::Sqlite,
            listen: "127.0.0.1:8080".into(),
            max_in_flight: 512,
            enroll_per_minute_per_ip: 30,
            device_burst: 120,
            device_per_second: 60.0,
            json_body_limit_bytes: 1024 * 1024,
            screenshot_limit_bytes: handraise_wire::MAX_SCREENSHOT_BYTES,
            request_timeout_secs: 60,
            shutdown_grace_secs: 8,
            signin_max_failures: 5,
            signin_window_secs: 15 * 60,
            session_hours: 12,
            timezone: Zone::system(),
            trusted_proxies: TrustedProxies::default(),
            device_tickets_per_day: 2_000,
            device_messages_per_day: 5_000,
            device_screenshot_bytes_per_day: 500 * 1024 * 1024,
            max_unauthenticated_per_client: 32,
            metrics_listen: None,
            metrics_token_file: None,
            log_format: LogFormat::Text,
            backup_dir: None,
            backup_every_hours: 24,
            backup_keep: 7,
            tls_cert: None,
            tls_key: None,
            header_read_timeout_secs: 30,
            idle_timeout_secs: 60,
            max_connections: 20_000,
            always_secure_cookies: false,
            oidc: None,
            report_dir: None,
        }
    }
}

/// Errors reading or writing the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The parser's message, passwords masked (it quotes the line), and
    /// without the parser's error as a source, which would show them.
    #[error("{path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name}={value:?} is not valid")]
    Env { name: String, value: String },
    #[error("{0}")]
    Invalid(String),
    #[error("cannot serialise the configuration: {0}")]
    Serialise(#[from] toml::ser::Error),
    #[error("no data directory: give --data-dir (or HANDRAISE_SERVER_DATA_DIR){}", match .0 {
        Some(file) => format!(", or set data_dir in {}", file.display()),
        None => String::new(),
    })]
    NoDataDir(Option<PathBuf>),
}

impl ConfigError {
    /// `path` could not be parsed: `error`'s message with passwords masked.
    pub fn parse(path: &Path, error: &toml::de::Error) -> Self {
        Self::Parse {
            path: path.to_owned(),
            message: mask_secrets(&error.to_string()),
        }
    }
}

impl Config {
    /// Path of the configuration file in `data_dir`.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(CONFIG_FILE)
    }

    /// Reads `data_dir/config.toml` (defaults when absent), then applies
    /// environment overrides.
    pub fn load(data_dir: &Path) -> Result<Self, ConfigError> {
        Location {
            data_dir: data_dir.to_owned(),
            config_file: Self::path(data_dir),
            database: None,
        }
        .config()
    }

    pub(crate) fn read_file(path: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).map_err(|e| ConfigError::parse(path, &e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Parses TOML text; missing keys take their defaults.
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Applies `HANDRAISE_SERVER_<KEY>` overrides read through `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(name: &str, value: String) -> Result<T, ConfigError> {
            value.trim().parse().map_err(|_| ConfigError::Env {
                name: name.into(),
                value,
            })
        }
        macro_rules! env {
            ($field:ident, $name:literal) => {
                if let Some(v) = get($name) {
                    self.$field = parse($name, v)?;
                }
            };
        }
        env!(listen, "HANDRAISE_SERVER_LISTEN");
        env!(max_in_flight, "HANDRAISE_SERVER_MAX_IN_FLIGHT");
        env!(
            enroll_per_minute_per_ip,
            "HANDRAISE_SERVER_ENROLL_PER_MINUTE_PER_IP"
        );
        env!(device_burst, "HANDRAISE_SERVER_DEVICE_BURST");
        env!(device_per_second, "HANDRAISE_SERVER_DEVICE_PER_SECOND");
        env!(
            json_body_limit_bytes,
            "HANDRAISE_SERVER_JSON_BODY_LIMIT_BYTES"
        );
        env!(
            screenshot_limit_bytes,
            "HANDRAISE_SERVER_SCREENSHOT_LIMIT_BYTES"
        );
        env!(
            request_timeout_secs,
            "HANDRAISE_SERVER_REQUEST_TIMEOUT_SECS"
        );
        env!(shutdown_grace_secs, "HANDRAISE_SERVER_SHUTDOWN_GRACE_SECS");
        env!(signin_max_failures, "HANDRAISE_SERVER_SIGNIN_MAX_FAILURES");
        env!(signin_window_secs, "HANDRAISE_SERVER_SIGNIN_WINDOW_SECS");
        env!(session_hours, "HANDRAISE_SERVER_SESSION_HOURS");
        env!(timezone, "HANDRAISE_SERVER_TIMEZONE");
        env!(trusted_proxies, "HANDRAISE_SERVER_TRUSTED_PROXIES");
        env!(
            device_tickets_per_day,
            "HANDRAISE_SERVER_DEVICE_TICKETS_PER_DAY"
        );
        env!(
            device_messages_per_day,
            "HANDRAISE_SERVER_DEVICE_MESSAGES_PER_DAY"
        );
        env!(
            device_screenshot_bytes_per_day,
            "HANDRAISE_SERVER_DEVICE_SCREENSHOT_BYTES_PER_DAY"
        );
        env!(
            max_unauthenticated_per_client,
            "HANDRAISE_SERVER_MAX_UNAUTHENTICATED_PER_CLIENT"
        );
        env!(log_format, "HANDRAISE_SERVER_LOG_FORMAT");
        env!(backup_every_hours, "HANDRAISE_SERVER_BACKUP_EVERY_HOURS");
        env!(backup_keep, "HANDRAISE_SERVER_BACKUP_KEEP");
        env!(
            header_read_timeout_secs,
            "HANDRAISE_SERVER_HEADER_READ_TIMEOUT_SECS"
        );
        env!(idle_timeout_secs, "HANDRAISE_SERVER_IDLE_TIMEOUT_SECS");
        env!(max_connections, "HANDRAISE_SERVER_MAX_CONNECTIONS");
        env!(
            always_secure_cookies,
            "HANDRAISE_SERVER_ALWAYS_SECURE_COOKIES"
        );
        if let Some(v) = get("HANDRAISE_SERVER_DATABASE_URL") {
            // Its error shows the value without a password.
            self.database_url = v.parse().map_err(|_| ConfigError::Env {
                name: "HANDRAISE_SERVER_DATABASE_URL".into(),
                value: mask_secrets(&v),
            })?;
        }
        // Optional settings: an empty value unsets them.
        if let Some(v) = get("HANDRAISE_SERVER_METRICS_LISTEN") {
            self.metrics_listen = Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        }
        for (field, name) in [
            (&mut self.tls_cert, "HANDRAISE_SERVER_TLS_CERT"),
            (&mut self.tls_key, "HANDRAISE_SERVER_TLS_KEY"),
            (&mut self.backup_dir, "HANDRAISE_SERVER_BACKUP_DIR"),
            (&mut self.report_dir, "HANDRAISE_SERVER_REPORT_DIR"),
            (
                &mut self.metrics_token_file,
                "HANDRAISE_SERVER_METRICS_TOKEN_FILE",
            ),
        ] {
            if let Some(v) = get(name) {
                *field = Some(v.trim()).filter(|v| !v.is_empty()).map(PathBuf::from);
            }
        }
        Ok(())
    }

    /// The certificate and key files (relative ones in `data_dir`), when
    /// `serve` is to speak HTTPS; one without the other is an error.
    pub fn tls_files(&self, data_dir: &Path) -> Result<Option<(PathBuf, PathBuf)>, ConfigError> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(Some((data_dir.join(cert), data_dir.join(key)))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError::Invalid(
                "tls_cert is set but tls_key is not: HTTPS needs both".into(),
            )),
            (None, Some(_)) => Err(ConfigError::Invalid(
                "tls_key is set but tls_cert is not: HTTPS needs both".into(),
            )),
        }
    }
}

/// An IP network: an address and how many leading bits of it count
/// (`10.0.0.0/8`, `fd00::/8`; a bare address is the network of itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// Why a network could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not an IP address or network (such as 10.0.0.5 or 10.0.0.0/8)")]
pub struct IpNetError(String);

impl IpNet {
    /// Whether `ip` is in this network (an IPv4 address written as IPv6,
    /// `::ffff:a.b.c.d`, counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = IpNetError;

    fn from_str(text: &str) -> Result<Self, IpNetError> {
        let bad = || IpNetError(text.to_owned());
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text.trim(), None),
        };
        let addr = addr.parse::<IpAddr>().map_err(|_| bad())?.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }
}

impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for IpNet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpNet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The `trusted_proxies` setting: in the file a list, in the environment
/// comma-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(ip))
    }
}

impl FromStr for TrustedProxies {
    type Err = IpNetError;

    fn from_str(text: &str) -> Result<Self, IpNetError> {
        text.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults_and_partial_file_keeps_other_defaults() {
        assert_eq!(Config::parse("").ok(), Some(Config::default()));
        let c = Config::parse("max_in_flight = 7\n").ok();
        assert_eq!(c.as_ref().map(|c| c.max_in_flight), Some(7));
        assert_eq!(c.map(|c| c.device_burst), Some(120));
    }

    #[test]
    fn default_file_round_trips_and_is_never_overwritten() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let here = Location::resolve(Some(dir.path().to_owned()), None)?;
        assert_eq!(here.write_default_config()?, ConfigWrite::Wrote);
        std::fs::write(Config::path(dir.path()), "listen = \"0.0.0.0:9\"\n")?;
        assert_eq!(here.write_default_config()?, ConfigWrite::Kept);
        assert_eq!(
            Config::read_file(&Config::path(dir.path()))?.listen,
            "0.0.0.0:9"
        );
        Ok(())
    }

    #[test]
    fn a_config_file_outside_the_data_directory_names_it() -> Result<(), Box<dyn std::error::Error>>
    {
        let etc = tempfile::tempdir()?;
        let file = etc.path().join("server.toml");
        let data = etc.path().join("lib");
        let made = Location::resolve(Some(data.clone()), Some(file.clone()))?;
        assert_eq!(made.write_default_config()?, ConfigWrite::Wrote);
        assert!(
            !Config::path(&data).exists(),
            "nothing written in the data directory"
        );
        // Later commands find the data directory through the file alone.
        let later = Location::resolve(None, Some(file.clone()))?;
        assert_eq!(later, made);
        assert_eq!(later.config()?.data_dir.as_deref(), Some(data.as_path()));
        // Without either, the error says what to give.
        let err = Location::resolve(None, None).expect_err("nothing to go on");
        assert!(err.to_string().contains("--data-dir"), "{err}");
        std::fs::write(&file, "listen = \"0.0.0.0:9\"\n")?;
        let err = Location::resolve(None, Some(file.clone())).expect_err("no data_dir key");
        assert!(err.to_string().contains("set data_dir in"), "{err}");
        Ok(())
    }

    #[test]
    fn env_overrides_apply_and_bad_values_are_errors() {
        let mut c = Config::default();
        let ok = c.apply_env(|n| (n == "HANDRAISE_SERVER_MAX_IN_FLIGHT").then(|| "3".into()));
        assert!(ok.is_ok());
        assert_eq!(c.max_in_flight, 3);
        let bad = c.apply_env(|n| (n == "HANDRAISE_SERVER_DEVICE_BURST").then(|| "x".into()));
        assert!(matches!(bad, Err(ConfigError::Env { .. })));
        let tz = c.apply_env(|n| (n == "HANDRAISE_SERVER_TIMEZONE").then(|| "Asia/Tokyo".into()));
        assert!(tz.is_ok());
        assert_eq!(c.timezone.name(), "Asia/Tokyo");
        let bad =
            c.apply_env(|n| (n == "HANDRAISE_SERVER_TIMEZONE").then(|| "Asia/Nowhere".into()));
        assert!(matches!(bad, Err(ConfigError::Env { .. })));
    }

    #[test]
    fn the_database_url_is_read_from_file_and_environment_never_showing_a_password()
    -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(Config::default().database_url, DatabaseUrl::Sqlite);
        let url = "postgres://hr:hunter2@db.example.org/district";
        let c = Config::parse(&format!("database_url = {url:?}\n"))?;
        assert_eq!(c.database_url, DatabaseUrl::Postgres(url.into()));
        // The default file round-trips with it.
        let text = toml::to_string_pretty(&c)?;
        assert_eq!(Config::parse(&text)?, c);
        let mut c = Config::default();
        c.apply_env(|n| (n == "HANDRAISE_SERVER_DATABASE_URL").then(|| url.into()))?;
        assert_eq!(c.database_url, DatabaseUrl::Postgres(url.into()));
        let bad = c
            .apply_env(|n| {
                (n == "HANDRAISE_SERVER_DATABASE_URL").then(|| "my://u:hunter2@h".into())
            })
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(bad.contains("HANDRAISE_SERVER_DATABASE_URL"), "{bad}");
        assert!(!bad.contains("hunter2"), "{bad}");
        // A file whose line is quoted in the error.
        let dir = tempfile::tempdir()?;
        let file = Config::path(dir.path());
        std::fs::write(&file, "database_url = \"my://u:hunter2@h\"\n")?;
        let bad = Location::resolve(Some(dir.path().to_owned()), None)?
            .config()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(bad.contains("must be `sqlite`"), "{bad}");
        assert!(!bad.contains("hunter2"), "{bad}");
        Ok(())
    }

    #[test]
    fn the_time_zone_is_an_iana_name_checked_at_load() {
        let c = Config::parse("timezone = \"America/New_York\"\n").ok();
        assert_eq!(
            c.map(|c| c.timezone.name().to_owned()).as_deref(),
            Some("America/New_York")
        );
        let bad = Config::parse("timezone = \"Moon/Tranquility\"\n")
            .err()
            .map(|e| e.to_string());
        let bad = bad.unwrap_or_default();
        assert!(
            bad.contains("unknown time zone \"Moon/Tranquility\""),
            "{bad}"
        );
        assert!(bad.contains("timezone"), "{bad}");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks_checked_at_load() {
        let c =
            Config::parse("trusted_proxies = [\"10.0.0.0/8\", \"192.168.1.5\", \"fd00::/8\"]\n");
        let proxies = c.map(|c| c.trusted_proxies).unwrap_or_default();
        assert_eq!(proxies.0.len(), 3);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        for inside in ["10.1.2.3", "192.168.1.5", "::ffff:10.9.9.9", "fd12::1"] {
            assert!(proxies.contains(ip(inside)), "{inside}");
        }
        for outside in ["11.0.0.1", "192.168.1.6", "fe80::1", "127.0.0.1"] {
            assert!(!proxies.contains(ip(outside)), "{outside}");
        }
        assert_eq!(Config::default().trusted_proxies, TrustedProxies::default());
        let everything: IpNet = "0.0.0.0/0".parse().unwrap_or_else(|_| IpNet {
            addr: ip("1.1.1.1"),
            prefix: 32,
        });
        assert!(everything.contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "proxy.example.org", "10.0.0.0/", "::/129"] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
        let bad = Config::parse("trusted_proxies = [\"10.0.0.0/40\"]\n").err();
        assert!(bad.is_some_and(|e| e.to_string().contains("10.0.0.0/40")));

        let mut c = Config::default();
        let env = c.apply_env(|n| {
            (n == "HANDRAISE_SERVER_TRUSTED_PROXIES").then(|| " 127.0.0.1, ::1 ".into())
        });
        assert!(env.is_ok());
        assert!(c.trusted_proxies.contains(ip("::1")));
        assert!(c.trusted_proxies.contains(ip("127.0.0.1")));
        // The default file round-trips with the list in it.
        let text = toml::to_string_pretty(&c).unwrap_or_default();
        assert_eq!(Config::parse(&text).ok(), Some(c));
    }

    #[test]
    fn tls_needs_both_files_relative_to_the_data_directory() {
        let dir = Path::new("/srv/handraise");
        let mut c = Config::default();
        assert!(matches!(c.tls_files(dir), Ok(None)));
        let env = c.apply_env(|n| match n {
            "HANDRAISE_SERVER_TLS_CERT" => Some("cert.pem".into()),
            "HANDRAISE_SERVER_HEADER_READ_TIMEOUT_SECS" => Some("5".into()),
            "HANDRAISE_SERVER_ALWAYS_SECURE_COOKIES" => Some("true".into()),
            _ => None,
        });
        assert!(env.is_ok());
        assert_eq!(c.header_read_timeout_secs, 5);
        assert!(c.always_secure_cookies);
        let half = c.tls_files(dir).err().map(|e| e.to_string());
        assert!(half.is_some_and(|e| e.contains("tls_key is not")));
        let c = Config::parse("tls_cert = \"cert.pem\"\ntls_key = \"/etc/ssl/key.pem\"\n");
        let files = c.ok().and_then(|c| c.tls_files(dir).ok().flatten());
        assert_eq!(
            files,
            Some((dir.join("cert.pem"), PathBuf::from("/etc/ssl/key.pem")))
        );
    }
}
