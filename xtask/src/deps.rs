//! Installs the Debian packages the build and the tests need, when they are missing.
//!
//! As root it runs `apt-get update` once and `apt-get install`; with passwordless sudo it does
//! the same through sudo; otherwise it prints the exact command and stops.

use anyhow::{Result, bail};
use std::process::{Command, Stdio};

/// Packages `cargo xtask test` needs. The spine (server, agent, wire) builds with the Rust
/// toolchain alone (SQLite is bundled, TLS is rustls), so only the C toolchain is listed.
pub const TEST_PACKAGES: &[&str] = &["build-essential", "pkg-config"];

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
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
        "{prefix}env DEBIAN_FRONTEND=noninteractive apt-get update -q && {prefix}env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends {}",
        missing.join(" ")
    );
    crate::run_cmd(Command::new("sh").args(["-c", &sh]))
}
