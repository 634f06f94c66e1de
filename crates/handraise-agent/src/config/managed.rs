//! macOS preferences as a configuration layer: the same keys as `agent.toml`, in a property
//! list (XML or binary) that a district pushes with its MDM (a configuration profile for the
//! domain `org.handraise.agent` lands in `/Library/Managed Preferences`) or writes with
//! `defaults write /Library/Preferences/org.handraise.agent`.
//!
//! Both files are system-level: they sit above the system `agent.toml` (managed preferences
//! above local ones) and below the user's file, the environment and flags; a `policy`
//! dictionary in them replaces the system file's `[policy]` (the last one found wins).
//! The parsing is compiled and tested on every platform; only macOS reads these paths.

use std::path::{Path, PathBuf};

use super::{ConfigLayer, Policy};
use crate::error::ConfigError;

/// The preferences domain (a configuration profile's `PayloadType`).
pub const DOMAIN: &str = "org.handraise.agent";

/// The preferences files read on macOS, lowest first: local, then managed (MDM).
pub fn macos_preference_files() -> Vec<PathBuf> {
    vec![
        PathBuf::from(format!("/Library/Preferences/{DOMAIN}.plist")),
        PathBuf::from(format!("/Library/Managed Preferences/{DOMAIN}.plist")),
    ]
}

/// What one preferences file sets: keys of the layer, and the policy when it has one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preferences {
    pub layer: ConfigLayer,
    pub policy: Option<Policy>,
}

impl Preferences {
    /// Reads a property list; a missing file is none, an unreadable or invalid one an error.
    /// Keys the agent does not know (an MDM's `PayloadUUID` and the like) are ignored, except
    /// inside `policy`, where a misspelt key is an error as in `agent.toml`.
    pub fn from_file(path: &Path) -> Result<Option<Self>, ConfigError> {
        let Some(bytes) = super::read_if_present(path)? else {
            return Ok(None);
        };
        Self::parse(&bytes)
            .map(Some)
            .map_err(|message| ConfigError::Parse {
                path: path.to_owned(),
                message,
            })
    }

    /// Parses an XML or binary property list whose root is a dictionary.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let root: plist::Value = plist::from_bytes(bytes).map_err(|e| e.to_string())?;
        let mut dict = root
            .into_dictionary()
            .ok_or("its root is not a dictionary")?;
        let policy = dict
            .remove("policy")
            .map(|p| plist::from_value::<Policy>(&p))
            .transpose()
            .map_err(|e| format!("policy: {e}"))?;
        let layer =
            plist::from_value(&plist::Value::Dictionary(dict)).map_err(|e| e.to_string())?;
        Ok(Preferences { layer, policy })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_key_misspelt_is_an_error_and_unknown_top_level_keys_are_ignored() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
  <key>PayloadUUID</key><string>0F0E</string>
  <key>school</key><string>Lincoln</string>
  <key>policy</key><dict><key>allow_qiut</key><false/></dict>
</dict></plist>"#;
        let err = Preferences::parse(xml).expect_err("misspelt policy key");
        assert!(err.contains("allow_qiut"), "{err}");
        let ok = Preferences::parse(
            br#"<plist version="1.0"><dict><key>PayloadUUID</key><string>x</string>
<key>school</key><string>Lincoln</string></dict></plist>"#,
        )
        .expect("parses");
        assert_eq!(ok.layer.school.as_deref(), Some("Lincoln"));
        assert_eq!(ok.policy, None);
        assert!(Preferences::parse(b"not a plist").is_err());
    }
}
