//! macOS preferences (`org.handraise.agent`) as configuration layers, from fixture files: a
//! binary plist as an MDM profile leaves in `/Library/Managed Preferences`, and an XML one as
//! `defaults write /Library/Preferences/org.handraise.agent` makes.

use handraise_agent::config::managed::Preferences;
use handraise_agent::config::{Config, ConfigLayer, ConfigSources, Policy};
use std::collections::HashMap;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn a_binary_managed_preferences_file_carries_every_key_and_the_policy() {
    let prefs = Preferences::from_file(&fixture("managed-preferences.plist"))
        .expect("parses")
        .expect("present");
    assert_eq!(
        prefs.layer.server_url.as_deref(),
        Some("https://help.district.example")
    );
    assert_eq!(
        prefs.layer.enrollment_token.as_ref().map(|t| t.expose()),
        Some("lincoln-fall-token")
    );
    assert_eq!(prefs.layer.school.as_deref(), Some("Lincoln Elementary"));
    assert_eq!(prefs.layer.building.as_deref(), Some("North"));
    assert_eq!(prefs.layer.sync_interval_secs, Some(120));
    assert_eq!(
        prefs.policy,
        Some(Policy {
            allow_quit: false,
            autostart: true,
            shortcut: "Ctrl+Alt+J".into(),
            hide_facts: vec!["processes".into(), "printers".into()],
            ..Policy::default()
        })
    );
    assert_eq!(
        Preferences::from_file(&fixture("absent.plist")).expect("no error"),
        None
    );
}

#[test]
fn managed_preferences_win_over_local_ones_and_the_system_file_but_not_the_user() {
    let dir = tempfile::tempdir().expect("tempdir");
    let system = dir.path().join("agent.toml");
    std::fs::write(
        &system,
        "server_url = \"https://file.district.example\"\nbuilding = \"File Building\"\n\
         backoff_cap_secs = 10\n[policy]\nallow_quit = true\nshortcut = \"\"\n",
    )
    .expect("system file");
    let user = dir.path().join("user.toml");
    std::fs::write(&user, "building = \"User Building\"\n").expect("user file");
    let sources = ConfigSources {
        system_file: Some(system),
        system_preferences: vec![
            fixture("local-preferences.plist"),
            fixture("managed-preferences.plist"),
        ],
        user_file: Some(user),
        env: HashMap::new(),
        flags: ConfigLayer {
            data_dir: Some(dir.path().join("data")),
            ..Default::default()
        },
    };
    let config = Config::load_from(&sources).expect("loads");
    assert_eq!(
        config.server_url.as_deref(),
        Some("https://help.district.example"),
        "managed over local over the file"
    );
    assert_eq!(config.school.as_deref(), Some("Lincoln Elementary"));
    assert_eq!(
        config.backoff_cap_secs, 30,
        "local preferences over the file"
    );
    assert_eq!(config.building.as_deref(), Some("User Building"));
    assert!(!config.policy.allow_quit, "the managed policy wins");
    assert_eq!(config.policy.shortcut, "Ctrl+Alt+J");

    // Only the local file: its keys, and the system file's policy stays.
    let sources = ConfigSources {
        system_preferences: vec![fixture("local-preferences.plist")],
        ..sources
    };
    let config = Config::load_from(&sources).expect("loads");
    assert_eq!(
        config.server_url.as_deref(),
        Some("https://old.district.example")
    );
    assert!(config.policy.allow_quit);
    assert_eq!(config.policy.shortcut, "");
}

#[test]
fn a_damaged_preferences_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("org.handraise.agent.plist");
    std::fs::write(
        &bad,
        "<plist version=\"1.0\"><dict><key>sync_interval_secs</key><string>soon</string></dict></plist>",
    )
    .expect("write");
    let err = Preferences::from_file(&bad).expect_err("a string for a number");
    assert!(
        err.to_string().contains("org.handraise.agent.plist"),
        "{err}"
    );
}
