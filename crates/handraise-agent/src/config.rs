//! Layered configuration: defaults on the typed struct, then the system file,
//! then the user's file, then `HANDRAISE_*` environment variables, then flags.
//!
//! Files (TOML, every key optional):
//! - system: Linux `/etc/handraise/agent.toml`, Windows
//!   `%ProgramData%\HandRaise\agent.toml`, macOS
//!   `/Library/Application Support/HandRaise/agent.toml`; overridable with the
//!   environment variable `HANDRAISE_SYSTEM_CONFIG` (used by tests and packagers);
//! - user: `$XDG_CONFIG_HOME/handraise/agent.toml` (or `~/.config/...`), Windows
//!   `%APPDATA%\HandRaise\agent.toml`, macOS
//!   `~/Library/Application Support/HandRaise/agent.toml`; overridable with
//!   `HANDRAISE_USER_CONFIG`.
//!
//! - macOS also reads preferences (`/Library/Preferences/org.handraise.agent.plist`, then
//!   `/Library/Managed Preferences/org.handraise.agent.plist` from an MDM profile) with the
//!   same keys, as system-level layers over the system file (see [`managed`]).
//! - Windows also reads Group Policy (`HKLM\SOFTWARE\Policies\HandRaise`) with the same
//!   keys, a system-level layer over the system file whose policy values win (see [`registry`]).
//!
//! Keys: `server_url`, `enrollment_token`, `school`, `building`,
//! `backoff_cap_secs`, `sync_interval_secs`, `data_dir`.

pub mod managed;
pub mod registry;

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::ConfigError;

/// Environment variable naming the system configuration file (overrides the platform path).
pub const ENV_SYSTEM_CONFIG: &str = "HANDRAISE_SYSTEM_CONFIG";
/// Environment variable naming the user configuration file (overrides the platform path).
pub const ENV_USER_CONFIG: &str = "HANDRAISE_USER_CONFIG";

/// A secret string whose `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself; call only where it is sent or stored.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The effective configuration of the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// District server base URL, e.g. `https://help.district.example`.
    pub server_url: Option<String>,
    /// District enrollment token (used once, by `enroll`).
    pub enrollment_token: Option<Secret>,
    pub school: Option<String>,
    pub building: Option<String>,
    /// Upper bound of the retry backoff, in seconds.
    pub backoff_cap_secs: u64,
    /// Time between sync passes of the scheduler, in seconds.
    pub sync_interval_secs: u64,
    /// Where the outbox, cache, credentials and logs live.
    pub data_dir: PathBuf,
    /// District policy: read from the system file's `[policy]` table only, so a user's own
    /// file cannot loosen it.
    pub policy: Policy,
    /// "Check my connection": the address fetched to test the internet (none = not tested).
    pub internet_check_url: Option<String>,
    /// "Check my connection": the name looked up to test DNS (default: the server's host).
    pub dns_check_name: Option<String>,
    /// "Check my connection": the address pinged for the gateway (default: the default
    /// route's gateway, read from the OS).
    pub gateway_check_address: Option<String>,
}

/// What a district admin decides for every teacher (`[policy]` in the system file).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Whether the tray menu offers Quit.
    pub allow_quit: bool,
    /// The global shortcut that opens the report form ("" turns it off).
    pub shortcut: String,
    /// Device facts never attached (keys of the report form's list: `computer`, `os`,
    /// `model`, `cpu`, `memory`, `disks`, `network`, `connection`, `battery`, `displays`,
    /// `printers`, `processes`, `time`, `uptime`).
    pub hide_facts: Vec<String>,
    /// Start the tray app at login.
    pub autostart: bool,
    /// Allow a plain `http://` server URL whose host is not this computer (device secrets and
    /// tickets then travel unencrypted). Without it such a URL is refused.
    pub allow_insecure_http: bool,
    /// A PEM file of certificate authorities trusted for the server besides the system's
    /// (a district's own CA, or a test's self-signed certificate).
    pub ca_file: Option<PathBuf>,
    /// The district's mail domain: a ticket's reporter email is `account@email_domain`
    /// (the OS account of the teacher), and Setup does not ask for one (`reporter.rs`).
    pub email_domain: Option<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            autostart: true,
            allow_quit: true,
            shortcut: "Ctrl+Alt+H".into(),
            hide_facts: Vec::new(),
            allow_insecure_http: false,
            ca_file: None,
            email_domain: None,
        }
    }
}

#[derive(Deserialize)]
struct PolicyFile {
    #[serde(default)]
    policy: Option<Policy>,
}

impl Policy {
    /// The `[policy]` table of the system file, or the defaults.
    pub fn from_system_file(path: &Path) -> Result<Policy, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Policy::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let file: PolicyFile = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        Ok(file.policy.unwrap_or_default())
    }
}

impl Config {
    pub const DEFAULT_BACKOFF_CAP_SECS: u64 = 300;
    pub const DEFAULT_SYNC_INTERVAL_SECS: u64 = 60;
    /// Fetched only when the teacher presses "Check my connection".
    pub const DEFAULT_INTERNET_CHECK_URL: &str =
        "http://connectivitycheck.gstatic.com/generate_204";

    /// Defaults, with the data directory at `data_dir`.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            server_url: None,
            enrollment_token: None,
            school: None,
            building: None,
            backoff_cap_secs: Self::DEFAULT_BACKOFF_CAP_SECS,
            sync_interval_secs: Self::DEFAULT_SYNC_INTERVAL_SECS,
            data_dir: data_dir.into(),
            policy: Policy::default(),
            internet_check_url: Some(Self::DEFAULT_INTERNET_CHECK_URL.into()),
            dns_check_name: None,
            gateway_check_address: None,
        }
    }

    /// Loads the configuration of this process: real files, real environment, and `flags`.
    pub fn load(flags: ConfigLayer) -> Result<Self, ConfigError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        // Group Policy (Windows); the override variable stands for every system-level source.
        let registry = if env.contains_key(ENV_SYSTEM_CONFIG) {
            None
        } else {
            registry::read()?
        };
        Self::load_with_registry(&ConfigSources::platform(&env, flags), registry.as_ref())
    }

    /// Loads from explicit sources (tests pass their own paths and environment).
    pub fn load_from(sources: &ConfigSources) -> Result<Self, ConfigError> {
        Self::load_with_registry(sources, None)
    }

    /// Loads from explicit sources and the values of the Windows policy key (see [`registry`]).
    pub fn load_with_registry(
        sources: &ConfigSources,
        registry: Option<&registry::PolicyKey>,
    ) -> Result<Self, ConfigError> {
        let mut merged = ConfigLayer::default();
        if let Some(layer) = sources.system_file.as_deref().map(ConfigLayer::from_file) {
            merged.overlay(layer?.unwrap_or_default());
        }
        let mut plist_policy = None;
        for path in &sources.system_preferences {
            if let Some(prefs) = managed::Preferences::from_file(path)? {
                merged.overlay(prefs.layer);
                plist_policy = prefs.policy.or(plist_policy);
            }
        }
        if let Some(key) = registry {
            merged.overlay(key.layer()?);
        }
        if let Some(layer) = sources.user_file.as_deref().map(ConfigLayer::from_file) {
            merged.overlay(layer?.unwrap_or_default());
        }
        merged.overlay(ConfigLayer::from_env(&sources.env)?);
        merged.overlay(sources.flags.clone());

        let data_dir = match merged.data_dir.take() {
            Some(dir) => dir,
            None => default_data_dir(&sources.env).ok_or(ConfigError::NoDataDir)?,
        };
        let mut config = Config::with_data_dir(data_dir);
        if let Some(system) = &sources.system_file {
            config.policy = Policy::from_system_file(system)?;
        }
        if let Some(policy) = plist_policy {
            config.policy = policy;
        }
        if let Some(key) = registry {
            config.policy = key.apply_policy(&config.policy)?;
        }
        if let Some(domain) = config.policy.email_domain.take() {
            let checked =
                handraise_wire::check_email_domain(&domain).map_err(|e| ConfigError::Parse {
                    path: sources.system_file.clone().unwrap_or_default(),
                    message: format!("policy email_domain '{domain}': {e}"),
                })?;
            config.policy.email_domain = Some(checked);
        }
        if let Some(url) = merged.server_url {
            config.server_url = Some(check_server_url(&url, &config.policy)?);
        }
        config.enrollment_token = merged.enrollment_token;
        config.school = merged.school;
        config.building = merged.building;
        if let Some(v) = merged.backoff_cap_secs {
            config.backoff_cap_secs = v.max(1);
        }
        if let Some(v) = merged.sync_interval_secs {
            config.sync_interval_secs = v.max(1);
        }
        if let Some(url) = merged.internet_check_url {
            // An empty value turns the internet check off.
            config.internet_check_url = Some(url).filter(|u| !u.trim().is_empty());
        }
        config.dns_check_name = merged.dns_check_name;
        config.gateway_check_address = merged.gateway_check_address;
        Ok(config)
    }
}

/// One layer of configuration; every key optional. Files, the environment and
/// command-line flags each produce one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ConfigLayer {
    pub server_url: Option<String>,
    pub enrollment_token: Option<Secret>,
    pub school: Option<String>,
    pub building: Option<String>,
    pub backoff_cap_secs: Option<u64>,
    pub sync_interval_secs: Option<u64>,
    pub data_dir: Option<PathBuf>,
    pub internet_check_url: Option<String>,
    pub dns_check_name: Option<String>,
    pub gateway_check_address: Option<String>,
}

impl ConfigLayer {
    /// Reads a TOML file; a missing file is no layer, an unreadable or invalid one an error.
    pub fn from_file(path: &Path) -> Result<Option<Self>, ConfigError> {
        let Some(bytes) = read_if_present(path)? else {
            return Ok(None);
        };
        toml::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ConfigError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            })
    }

    /// The `HANDRAISE_*` variables of `env`.
    pub fn from_env(env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |k: &str| env.get(k).filter(|v| !v.trim().is_empty()).cloned();
        let num = |k: &'static str| -> Result<Option<u64>, ConfigError> {
            match get(k) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| ConfigError::InvalidNumber { key: k, value: v }),
            }
        };
        Ok(ConfigLayer {
            server_url: get("HANDRAISE_SERVER_URL"),
            enrollment_token: get("HANDRAISE_ENROLLMENT_TOKEN").map(Secret),
            school: get("HANDRAISE_SCHOOL"),
            building: get("HANDRAISE_BUILDING"),
            backoff_cap_secs: num("HANDRAISE_BACKOFF_CAP_SECS")?,
            sync_interval_secs: num("HANDRAISE_SYNC_INTERVAL_SECS")?,
            data_dir: get("HANDRAISE_DATA_DIR").map(PathBuf::from),
            internet_check_url: env.get("HANDRAISE_INTERNET_CHECK_URL").cloned(),
            dns_check_name: get("HANDRAISE_DNS_CHECK_NAME"),
            gateway_check_address: get("HANDRAISE_GATEWAY_CHECK_ADDRESS"),
        })
    }

    /// Every key set in `upper` wins over this layer.
    pub fn overlay(&mut self, upper: ConfigLayer) {
        macro_rules! take {
            ($($f:ident),*) => { $( if upper.$f.is_some() { self.$f = upper.$f; } )* };
        }
        take!(
            server_url,
            enrollment_token,
            school,
            building,
            backoff_cap_secs,
            sync_interval_secs,
            data_dir,
            internet_check_url,
            dns_check_name,
            gateway_check_address
        );
    }
}

/// The bytes of a configuration file; a missing file is none, an unreadable one an error.
fn read_if_present(path: &Path) -> Result<Option<Vec<u8>>, ConfigError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Where the layers come from.
#[derive(Debug, Clone, Default)]
pub struct ConfigSources {
    pub system_file: Option<PathBuf>,
    /// Property lists over the system file, lowest first (macOS preferences; see
    /// [`managed`]); their `policy` also wins over the system file's.
    pub system_preferences: Vec<PathBuf>,
    pub user_file: Option<PathBuf>,
    pub env: HashMap<String, String>,
    pub flags: ConfigLayer,
}

impl ConfigSources {
    /// The platform's file locations (honouring the override variables) for `env`.
    pub fn platform(env: &HashMap<String, String>, flags: ConfigLayer) -> Self {
        ConfigSources {
            system_file: env
                .get(ENV_SYSTEM_CONFIG)
                .map(PathBuf::from)
                .or_else(|| system_config_path(env)),
            // The override variable stands for every system-level source (tests, packagers).
            system_preferences: if cfg!(target_os = "macos") && !env.contains_key(ENV_SYSTEM_CONFIG)
            {
                managed::macos_preference_files()
            } else {
                Vec::new()
            },
            user_file: env
                .get(ENV_USER_CONFIG)
                .map(PathBuf::from)
                .or_else(|| user_config_path(env)),
            env: env.clone(),
            flags,
        }
    }
}

fn env_path(env: &HashMap<String, String>, key: &str) -> Option<PathBuf> {
    env.get(key)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// The system-wide configuration file of this platform.
pub fn system_config_path(env: &HashMap<String, String>) -> Option<PathBuf> {
    if cfg!(windows) {
        let base = env_path(env, "ProgramData").unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"));
        Some(base.join("HandRaise").join("agent.toml"))
    } else if cfg!(target_os = "macos") {
        Some(PathBuf::from(
            "/Library/Application Support/HandRaise/agent.toml",
        ))
    } else {
        Some(PathBuf::from("/etc/handraise/agent.toml"))
    }
}

/// The user's configuration file of this platform.
pub fn user_config_path(env: &HashMap<String, String>) -> Option<PathBuf> {
    if cfg!(windows) {
        env_path(env, "APPDATA").map(|p| p.join("HandRaise").join("agent.toml"))
    } else if cfg!(target_os = "macos") {
        env_path(env, "HOME").map(|h| {
            h.join("Library/Application Support/HandRaise")
                .join("agent.toml")
        })
    } else {
        env_path(env, "XDG_CONFIG_HOME")
            .or_else(|| env_path(env, "HOME").map(|h| h.join(".config")))
            .map(|p| p.join("handraise").join("agent.toml"))
    }
}

/// The per-user data directory of this platform.
pub fn default_data_dir(env: &HashMap<String, String>) -> Option<PathBuf> {
    if cfg!(windows) {
        env_path(env, "LOCALAPPDATA")
            .or_else(|| env_path(env, "APPDATA"))
            .map(|p| p.join("HandRaise"))
    } else if cfg!(target_os = "macos") {
        env_path(env, "HOME").map(|h| h.join("Library/Application Support/HandRaise"))
    } else {
        env_path(env, "XDG_DATA_HOME")
            .or_else(|| env_path(env, "HOME").map(|h| h.join(".local/share")))
            .map(|p| p.join("handraise"))
    }
}

/// Why a plain `http://` URL to another computer is refused, naming the setting that allows it.
pub const INSECURE_HTTP_REFUSED: &str = "plain http:// to a server that is not this computer \
     would send the device's secret and its tickets unencrypted: use https://, or have the \
     district set allow_insecure_http = true in the [policy] table of the system \
     configuration file";

/// Validates a server URL: `https://` always; `http://` when the host is loopback, or when
/// `policy.allow_insecure_http` (with a warning). Returns it without a trailing slash.
pub fn check_server_url(url: &str, policy: &Policy) -> Result<String, ConfigError> {
    let url = url.trim().trim_end_matches('/');
    let invalid = |reason: &str| ConfigError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid("it must start with https:// or http://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(stripped) = host_port.strip_prefix('[') {
        stripped.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err(invalid("it has no host name"));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if is_loopback_host(host) => {}
        "http" if policy.allow_insecure_http => {
            tracing::warn!(
                url,
                "the server URL uses plain http:// (allowed by policy allow_insecure_http); \
                 device secrets travel unencrypted — use https://"
            );
        }
        "http" => return Err(invalid(INSECURE_HTTP_REFUSED)),
        _ => return Err(invalid("it must start with https:// or http://")),
    }
    Ok(url.to_owned())
}

fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_comes_from_the_system_file_only() {
        let (dir, system, user) = system_and_user(
            "server_url = \"https://help.example\"\n[policy]\nallow_quit = false\nhide_facts = [\"processes\"]\n",
            "[policy]\nallow_quit = true\n",
        );
        let sources = files_only(dir.path(), system, user);
        let config = Config::load_from(&sources).expect("loads");
        assert!(
            !config.policy.allow_quit,
            "the user file cannot loosen policy"
        );
        assert_eq!(config.policy.hide_facts, vec!["processes".to_string()]);
        assert_eq!(
            config.policy.shortcut, "Ctrl+Alt+H",
            "defaults fill the rest"
        );
        let bad = write(dir.path(), "bad.toml", "[policy]\nallow_qiut = false\n");
        let err = Policy::from_system_file(&bad).expect_err("a misspelt key is an error");
        assert!(err.to_string().contains("allow_qiut"), "{err}");
    }

    #[test]
    fn the_policy_email_domain_is_checked_and_normalised() {
        let (dir, system, user) = system_and_user(
            "[policy]\nemail_domain = \"@Lincoln.K12.Example\"\n",
            "[policy]\nemail_domain = \"gmail.example\"\n",
        );
        let sources = files_only(dir.path(), system, user);
        let config = Config::load_from(&sources).expect("loads");
        assert_eq!(
            config.policy.email_domain.as_deref(),
            Some("lincoln.k12.example"),
            "from the system file only, lowercased"
        );
        let (dir, system, user) =
            system_and_user("[policy]\nemail_domain = \"not a domain\"\n", "");
        let err = Config::load_from(&files_only(dir.path(), system, user))
            .expect_err("a bad domain is refused");
        assert!(err.to_string().contains("email_domain"), "{err}");
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write fixture");
        p
    }

    /// Sources of just these two files, with the data directory in `dir`.
    fn files_only(dir: &Path, system: PathBuf, user: PathBuf) -> ConfigSources {
        ConfigSources {
            system_file: Some(system),
            system_preferences: Vec::new(),
            user_file: Some(user),
            env: HashMap::new(),
            flags: ConfigLayer {
                data_dir: Some(dir.join("data")),
                ..Default::default()
            },
        }
    }

    /// A system and a user configuration file with these texts, in a fresh directory.
    fn system_and_user(system: &str, user: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let system = write(dir.path(), "system.toml", system);
        let user = write(dir.path(), "user.toml", user);
        (dir, system, user)
    }

    #[test]
    fn layering_precedence_system_user_env_flags() {
        let (_dir, system, user) = system_and_user(
            r#"server_url = "https://system.example"
school = "System School"
building = "System Building"
backoff_cap_secs = 10
sync_interval_secs = 11
enrollment_token = "sys-token"
data_dir = "/sys/data"
"#,
            r#"school = "User School"
building = "User Building"
backoff_cap_secs = 20
"#,
        );
        let env: HashMap<String, String> = [
            ("HANDRAISE_BUILDING", "Env Building"),
            ("HANDRAISE_BACKOFF_CAP_SECS", "30"),
            ("HANDRAISE_DATA_DIR", "/env/data"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let flags = ConfigLayer {
            backoff_cap_secs: Some(40),
            ..Default::default()
        };
        let sources = ConfigSources {
            system_file: Some(system),
            system_preferences: Vec::new(),
            user_file: Some(user),
            env,
            flags,
        };
        let c = Config::load_from(&sources).expect("load");
        assert_eq!(c.server_url.as_deref(), Some("https://system.example"));
        assert_eq!(c.school.as_deref(), Some("User School"));
        assert_eq!(c.building.as_deref(), Some("Env Building"));
        assert_eq!(c.backoff_cap_secs, 40);
        assert_eq!(c.sync_interval_secs, 11);
        assert_eq!(c.data_dir, PathBuf::from("/env/data"));
        assert_eq!(
            c.enrollment_token.as_ref().map(Secret::expose),
            Some("sys-token")
        );
    }

    #[test]
    fn defaults_and_missing_files() {
        let env: HashMap<String, String> =
            [("XDG_DATA_HOME".to_owned(), "/xdg/data".to_owned())].into();
        let sources = ConfigSources {
            system_file: Some(PathBuf::from("/nonexistent/handraise/agent.toml")),
            system_preferences: Vec::new(),
            user_file: None,
            env,
            flags: ConfigLayer::default(),
        };
        let c = Config::load_from(&sources).expect("load");
        assert_eq!(c.backoff_cap_secs, 300);
        assert_eq!(c.sync_interval_secs, 60);
        assert_eq!(c.server_url, None);
        if cfg!(all(unix, not(target_os = "macos"))) {
            assert_eq!(c.data_dir, PathBuf::from("/xdg/data/handraise"));
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bad = write(dir.path(), "bad.toml", "server_url = [");
        let sources = ConfigSources {
            system_file: Some(bad),
            flags: ConfigLayer {
                data_dir: Some("/d".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(matches!(
            Config::load_from(&sources),
            Err(ConfigError::Parse { .. })
        ));
        let env: HashMap<String, String> =
            [("HANDRAISE_SYNC_INTERVAL_SECS".into(), "soon".into())].into();
        assert!(matches!(
            ConfigLayer::from_env(&env),
            Err(ConfigError::InvalidNumber { .. })
        ));
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let mut c = Config::with_data_dir("/d");
        c.enrollment_token = Some(Secret::new("hunter2"));
        let text = format!("{c:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn server_url_checks() {
        let strict = Policy::default();
        let check = |url: &str| check_server_url(url, &strict);
        assert_eq!(
            check("https://help.example/").expect("ok"),
            "https://help.example"
        );
        assert!(check("http://127.0.0.1:8080").is_ok());
        assert!(check("http://[::1]:8080").is_ok());
        assert!(check("http://localhost:8080").is_ok());
        assert!(check("ftp://help.example").is_err());
        assert!(check("help.example").is_err());
        assert!(check("https://").is_err());
        assert!(is_loopback_host("localhost"));
        assert!(!is_loopback_host("help.example"));
    }

    #[test]
    fn plain_http_to_another_computer_needs_the_policy() {
        let strict = Policy::default();
        for url in [
            "http://help.example",
            "http://10.0.0.5:8080",
            "HTTP://help.example/",
        ] {
            let err = check_server_url(url, &strict).expect_err("refused");
            let text = err.to_string();
            assert!(text.contains("allow_insecure_http = true"), "{text}");
            assert!(text.contains("[policy]"), "{text}");
        }
        let lax = Policy {
            allow_insecure_http: true,
            ..Policy::default()
        };
        assert_eq!(
            check_server_url("http://help.example/", &lax)
                .ok()
                .as_deref(),
            Some("http://help.example")
        );
        // The policy comes from the system file, and loading refuses the URL without it.
        let (dir, system, user) = system_and_user(
            "[policy]\nca_file = \"/etc/handraise/district-ca.pem\"\n",
            "server_url = \"http://help.example\"\n",
        );
        let mut sources = files_only(dir.path(), system, user);
        let err = Config::load_from(&sources).expect_err("refused");
        assert!(err.to_string().contains("allow_insecure_http"), "{err}");
        let system = write(
            dir.path(),
            "system.toml",
            "[policy]\nallow_insecure_http = true\nca_file = \"/etc/handraise/district-ca.pem\"\n",
        );
        sources.system_file = Some(system);
        let config = Config::load_from(&sources).expect("allowed by policy");
        assert_eq!(config.server_url.as_deref(), Some("http://help.example"));
        assert_eq!(
            config.policy.ca_file,
            Some(PathBuf::from("/etc/handraise/district-ca.pem"))
        );
        // A user's own file cannot allow it.
        let user = write(
            dir.path(),
            "user.toml",
            "server_url = \"http://help.example\"\n[policy]\nallow_insecure_http = true\n",
        );
        let sources = ConfigSources {
            system_file: None,
            user_file: Some(user),
            ..sources
        };
        assert!(Config::load_from(&sources).is_err());
    }
}
