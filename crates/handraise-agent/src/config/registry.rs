//! Windows Group Policy as a configuration layer: the same keys as `agent.toml`, as registry
//! values under `HKLM\SOFTWARE\Policies\HandRaise` (the Group Policy convention: only
//! administrators and Group Policy write there), the policy's keys under its `Policy` subkey.
//!
//! - settings: `server_url`, `enrollment_token`, `school`, `building` (`REG_SZ`),
//!   `sync_interval_secs`, `backoff_cap_secs` (`REG_DWORD`), and the other keys of the file;
//! - `Policy`: `allow_quit`, `autostart`, `allow_insecure_http` (`REG_DWORD`, 0 or 1),
//!   `shortcut`, `ca_file`, `email_domain` (`REG_SZ`), `hide_facts` (`REG_MULTI_SZ`, or a `REG_SZ` list
//!   separated by `;` or `,`).
//!
//! The key is a system-level layer above the system file (and so wins over it) and below the
//! user's file, the environment and flags; each value of `Policy` replaces that one key of the
//! file's `[policy]` (the rest of the file's policy stays). A misspelt policy value is an error,
//! as in `agent.toml`. The conversion is compiled and tested on every platform; only Windows
//! reads the registry ([`read`]).

use serde::Serialize;
use toml::{Table, Value};

use super::{ConfigLayer, Policy};
use crate::error::ConfigError;

/// The key, under `HKEY_LOCAL_MACHINE`.
pub const POLICY_KEY: &str = r"SOFTWARE\Policies\HandRaise";
/// The subkey holding the district policy.
pub const POLICY_SUBKEY: &str = "Policy";

/// One registry value, as far as the agent reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegValue {
    Dword(u32),
    Qword(u64),
    Sz(String),
    MultiSz(Vec<String>),
}

/// What the policy key holds: its own values (settings) and those of its `Policy` subkey.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyKey {
    pub settings: Vec<(String, RegValue)>,
    pub policy: Vec<(String, RegValue)>,
}

fn err(message: String) -> ConfigError {
    ConfigError::Registry {
        key: format!(r"HKLM\{POLICY_KEY}"),
        message,
    }
}

/// A value as TOML, shaped like `like` (the key's current value) when there is one: a number
/// becomes a boolean where a boolean is expected, a string a list where a list is.
fn to_toml(value: &RegValue, like: Option<&Value>) -> Result<Value, String> {
    Ok(match (value, like) {
        (RegValue::Dword(n), Some(Value::Boolean(_))) => Value::Boolean(*n != 0),
        (RegValue::Qword(n), Some(Value::Boolean(_))) => Value::Boolean(*n != 0),
        (RegValue::Sz(s), Some(Value::Boolean(_))) => match s.trim() {
            "1" | "true" => Value::Boolean(true),
            "0" | "false" => Value::Boolean(false),
            other => return Err(format!("'{other}' is not 0 or 1")),
        },
        (RegValue::Sz(s), Some(Value::Array(_))) => Value::Array(
            s.split([';', ','])
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| Value::String(p.to_owned()))
                .collect(),
        ),
        (RegValue::Dword(n), _) => Value::Integer(i64::from(*n)),
        (RegValue::Qword(n), _) => {
            Value::Integer(i64::try_from(*n).map_err(|_| format!("{n} is too large"))?)
        }
        (RegValue::Sz(s), _) => Value::String(s.clone()),
        (RegValue::MultiSz(v), _) => {
            Value::Array(v.iter().map(|s| Value::String(s.clone())).collect())
        }
    })
}

fn merge(base: &mut Table, values: &[(String, RegValue)]) -> Result<(), String> {
    for (name, value) in values {
        let v = to_toml(value, base.get(name)).map_err(|e| format!("{name}: {e}"))?;
        base.insert(name.clone(), v);
    }
    Ok(())
}

impl PolicyKey {
    /// The settings as a layer (keys the agent does not know are ignored, as in the file).
    pub fn layer(&self) -> Result<ConfigLayer, ConfigError> {
        let mut table = Table::new();
        merge(&mut table, &self.settings).map_err(err)?;
        Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| err(e.to_string()))
    }

    /// `base` with each value of the `Policy` subkey replacing its key.
    pub fn apply_policy(&self, base: &Policy) -> Result<Policy, ConfigError> {
        if self.policy.is_empty() {
            return Ok(base.clone());
        }
        let mut table = to_table(base).map_err(err)?;
        merge(&mut table, &self.policy).map_err(|e| err(format!("{POLICY_SUBKEY}\\{e}")))?;
        Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| err(format!("{POLICY_SUBKEY}: {e}")))
    }
}

fn to_table(policy: &impl Serialize) -> Result<Table, String> {
    Table::try_from(policy).map_err(|e| e.to_string())
}

/// Reads `HKLM\SOFTWARE\Policies\HandRaise` and its `Policy` subkey; a missing key is none.
#[cfg(windows)]
pub fn read() -> Result<Option<PolicyKey>, ConfigError> {
    use windows_registry::{LOCAL_MACHINE, Type};

    fn values(key: &windows_registry::Key) -> Result<Vec<(String, RegValue)>, ConfigError> {
        let mut out = Vec::new();
        for (name, value) in key.values().map_err(|e| err(e.to_string()))? {
            let v = match value.ty() {
                Type::U32 => RegValue::Dword(u32::try_from(value).map_err(|e| err(e.to_string()))?),
                Type::U64 => RegValue::Qword(u64::try_from(value).map_err(|e| err(e.to_string()))?),
                Type::String | Type::ExpandString => {
                    RegValue::Sz(String::try_from(value).map_err(|e| err(e.to_string()))?)
                }
                // The list's terminating empty strings are not entries.
                Type::MultiString => RegValue::MultiSz(
                    Vec::<String>::try_from(value)
                        .map_err(|e| err(e.to_string()))?
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect(),
                ),
                other => return Err(err(format!("{name}: unsupported value type {other:?}"))),
            };
            out.push((name, v));
        }
        Ok(out)
    }

    let Ok(key) = LOCAL_MACHINE.open(POLICY_KEY) else {
        return Ok(None);
    };
    let settings = values(&key)?;
    let policy = match key.open(POLICY_SUBKEY) {
        Ok(sub) => values(&sub)?,
        Err(_) => Vec::new(),
    };
    Ok(Some(PolicyKey { settings, policy }))
}

/// Elsewhere there is no registry.
#[cfg(not(windows))]
pub fn read() -> Result<Option<PolicyKey>, ConfigError> {
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sz(s: &str) -> RegValue {
        RegValue::Sz(s.into())
    }

    #[test]
    fn settings_become_a_layer_and_policy_values_replace_single_keys() {
        let key = PolicyKey {
            settings: vec![
                ("server_url".into(), sz("https://hr.district.example")),
                ("school".into(), sz("Lincoln")),
                ("sync_interval_secs".into(), RegValue::Dword(30)),
                ("SomethingElse".into(), sz("ignored")),
            ],
            policy: vec![
                ("allow_quit".into(), RegValue::Dword(0)),
                ("hide_facts".into(), sz("processes; printers")),
            ],
        };
        let layer = key.layer().expect("layer");
        assert_eq!(
            layer.server_url.as_deref(),
            Some("https://hr.district.example")
        );
        assert_eq!(layer.school.as_deref(), Some("Lincoln"));
        assert_eq!(layer.sync_interval_secs, Some(30));
        let base = Policy {
            shortcut: "Ctrl+Alt+J".into(),
            ..Policy::default()
        };
        let p = key.apply_policy(&base).expect("policy");
        assert!(!p.allow_quit);
        assert_eq!(p.hide_facts, ["processes", "printers"]);
        assert_eq!(p.shortcut, "Ctrl+Alt+J", "keys not in the registry stay");
        assert!(p.autostart);
    }

    #[test]
    fn the_key_wins_over_the_system_file_and_yields_to_the_user() {
        use super::super::{Config, ConfigSources};
        let dir = tempfile::tempdir().expect("tempdir");
        let system = dir.path().join("system.toml");
        let user = dir.path().join("user.toml");
        std::fs::write(
            &system,
            "school = \"File\"\nbuilding = \"B\"\n[policy]\nallow_quit = true\nautostart = false\n",
        )
        .expect("system");
        std::fs::write(&user, "building = \"User\"\n").expect("user");
        let sources = ConfigSources {
            system_file: Some(system),
            user_file: Some(user),
            flags: ConfigLayer {
                data_dir: Some(dir.path().join("data")),
                ..Default::default()
            },
            ..Default::default()
        };
        let key = PolicyKey {
            settings: vec![
                ("school".into(), sz("Registry")),
                ("building".into(), sz("R")),
            ],
            policy: vec![("allow_quit".into(), RegValue::Dword(0))],
        };
        let c = Config::load_with_registry(&sources, Some(&key)).expect("load");
        assert_eq!(c.school.as_deref(), Some("Registry"));
        assert_eq!(c.building.as_deref(), Some("User"));
        assert!(!c.policy.allow_quit, "the registry's value wins");
        assert!(!c.policy.autostart, "the file's other keys stay");
        let file_only = Config::load_from(&sources).expect("load");
        assert!(file_only.policy.allow_quit);
    }

    #[test]
    fn multi_strings_strings_and_bad_values() {
        let key = PolicyKey {
            settings: Vec::new(),
            policy: vec![
                (
                    "hide_facts".into(),
                    RegValue::MultiSz(vec!["wifi".into(), "battery".into()]),
                ),
                ("allow_insecure_http".into(), sz("1")),
                ("ca_file".into(), sz(r"C:\ProgramData\HandRaise\ca.pem")),
            ],
        };
        let p = key.apply_policy(&Policy::default()).expect("policy");
        assert_eq!(p.hide_facts, ["wifi", "battery"]);
        assert!(p.allow_insecure_http);
        assert_eq!(
            p.ca_file.as_deref(),
            Some(std::path::Path::new(r"C:\ProgramData\HandRaise\ca.pem"))
        );

        let misspelt = PolicyKey {
            settings: Vec::new(),
            policy: vec![("allow_qiut".into(), RegValue::Dword(0))],
        };
        let e = misspelt
            .apply_policy(&Policy::default())
            .expect_err("misspelt");
        assert!(e.to_string().contains("allow_qiut"), "{e}");
        let not_bool = PolicyKey {
            settings: Vec::new(),
            policy: vec![("autostart".into(), sz("maybe"))],
        };
        assert!(not_bool.apply_policy(&Policy::default()).is_err());
        assert_eq!(
            PolicyKey::default()
                .apply_policy(&Policy::default())
                .expect("none"),
            Policy::default()
        );
    }
}
