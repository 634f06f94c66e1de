//! The tray waits all day; nothing in it may wake up on a timer of its own. Tauri's "dbus"
//! feature starts a thread that polls the session bus every 5 s (to follow the desktop's
//! dark/light setting, which HandRaise does not use), so the app is built without it; the
//! `dbus` crate appearing in the lock file means the feature came back.

#[test]
fn the_build_has_no_session_bus_polling_thread() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock"))
        .expect("the workspace lock file");
    let packages: Vec<&str> = lock
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .collect();
    assert!(packages.contains(&"tauri"), "the lock file lists packages");
    assert!(
        !packages.contains(&"dbus"),
        "the `dbus` crate is back in the build: some dependency turned on Tauri's \"dbus\" \
         feature, whose thread wakes the idle tray every 5 s"
    );
}
