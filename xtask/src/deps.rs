//! Installs the Debian packages the build and the tests need, when they are missing.
//!
//! As root it runs `apt-get update` once and `apt-get install`; with passwordless sudo it does
//! the same through sudo; otherwise it prints the exact command and stops.

use anyhow::{Result, bail};
use handraise_testkit::is_root;
use std::process::{Command, Stdio};

/// What building the workspace needs: the C toolchain, and WebKitGTK with the tray libraries
/// for the Tauri app (SQLite is bundled and TLS is rustls, so nothing else).
pub const BUILD_PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "file",
    "libssl-dev",
    "libwebkit2gtk-4.1-dev",
    "libayatana-appindicator3-dev",
    "librsvg2-dev",
    "libxdo-dev",
];

/// What running the tests needs on top: a virtual display with a window manager and a tray
/// host, a session bus, WebKit's WebDriver, Chromium for browser tests, screenshots,
/// Prometheus to scrape the server's metrics, `systemd-analyze` to verify the server's unit,
/// Postfix and Dovecot (IMAP, LMTP) for the mail desks' tests, which start their own
/// instances on loopback (`handraise_testkit::mail`), PostgreSQL for the test phases on it
/// (a throwaway cluster, `handraise_testkit::postgres`; the package's own cluster and service
/// are not used) and HAProxy in front of several server nodes (`handraise_testkit::haproxy`).
pub const TEST_RUNTIME_PACKAGES: &[&str] = &[
    "xvfb",
    "xauth",
    "dbus",
    "dbus-x11",
    "imagemagick",
    "webkit2gtk-driver",
    "chromium",
    "fonts-dejavu-core",
    "trayer",
    "xdotool",
    "openbox",
    "wmctrl",
    "prometheus",
    "systemd",
    "postfix",
    "dovecot-core",
    "dovecot-imapd",
    "dovecot-lmtpd",
    "postgresql",
    "haproxy",
];

/// Answers given to debconf before installing: Postfix unconfigured (the tests run their
/// own instance with a private configuration; the system's stays off).
const DEBCONF_PRESEED: &str = "postfix postfix/main_mailer_type select No configuration";

/// What `cargo xtask test --soak` needs on top: debootstrap, for the clean Debian install of
/// the packages (`clean_install.rs`).
pub const SOAK_PACKAGES: &[&str] = &["debootstrap"];

/// What running the Windows binaries under Wine needs: Wine (64-bit) and mingw, which builds
/// the prefix's stand-in DLLs (`xtask/src/windows.rs`).
pub const WINE_PACKAGES: &[&str] = &["gcc-mingw-w64-x86-64", "wine", "wine64"];

/// What building for Windows needs on top of Wine's: Debian's Rust (its compiler builds the
/// standard library for `x86_64-pc-windows-gnu` from `rust-web-src`, which rustup cannot fetch
/// here), its clippy, and mingw's C++ compiler for the C parts.
pub const WINDOWS_PACKAGES: &[&str] = &[
    "gcc-mingw-w64-x86-64",
    "g++-mingw-w64-x86-64",
    "wine",
    "wine64",
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "rust-web-clippy",
];

/// What `cargo xtask dist --windows` needs on top: NSIS for the installer, ImageMagick for
/// checking the icon.
pub const WINDOWS_DIST_PACKAGES: &[&str] = &["nsis", "imagemagick"];

/// Node.js runs the UI build and the browser tests; a machine without it gets Debian's.
pub fn ensure_node() -> Result<()> {
    let ok = Command::new("node")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return Ok(());
    }
    ensure(&["nodejs", "npm"])
}

/// `tauri-driver` (the WebDriver bridge for the real app), from crates.io when missing.
pub fn ensure_tauri_driver() -> Result<std::path::PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| ".cargo".into());
    let bin = home.join("bin/tauri-driver");
    if bin.exists() {
        return Ok(bin);
    }
    eprintln!("installing tauri-driver (cargo install tauri-driver --locked)");
    crate::run_cmd(crate::cargo().args(["install", "tauri-driver", "--locked"]))?;
    Ok(bin)
}

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn has_passwordless_sudo() -> bool {
    Command::new("sudo")
        .args(["-n", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

pub fn ensure(packages: &[&str]) -> Result<()> {
    if Command::new("dpkg-query")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("not a Debian-based system: skipping package checks ({packages:?} are needed)");
        return Ok(());
    }
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        eprintln!("system packages present: {}", packages.join(" "));
        return Ok(());
    }
    let install = format!(
        "apt-get update && apt-get install -y --no-install-recommends {}",
        missing.join(" ")
    );
    let prefix = if is_root() {
        ""
    } else if has_passwordless_sudo() {
        "sudo "
    } else {
        bail!("missing system packages; run this, then try again:\n  sudo sh -c '{install}'");
    };
    eprintln!("installing: {}", missing.join(" "));
    let sh = format!(
        "echo '{DEBCONF_PRESEED}' | {prefix}debconf-set-selections && {prefix}env DEBIAN_FRONTEND=noninteractive apt-get update -q && {prefix}env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends {}",
        missing.join(" ")
    );
    crate::run_cmd(Command::new("sh").args(["-c", &sh]))
}
