//! The Debian packages `cargo xtask dist` builds from `packaging/`:
//!
//! - `handraise-server`: staged here (binary, systemd unit, maintainer scripts) and built with
//!   `dpkg-deb`, so nothing beyond dpkg is needed;
//! - `handraise` (the tray app for fleets): the `.deb` Tauri bundles, repacked with the agent
//!   CLI, the debconf questions that carry the district's settings, the maintainer scripts that
//!   write `/etc/handraise/agent.toml`, and the login entry.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Name of the server package (and of its unit, `handraise-server.service`).
pub const SERVER_PACKAGE: &str = "handraise-server";
/// Name of the tray app's package once repacked (Tauri names it after the product).
pub const AGENT_PACKAGE: &str = "handraise";
/// The placeholder in `packaging/agent/postinst` that takes `render-agent-toml.sh`.
const RENDER_MARKER: &str = "@RENDER_AGENT_TOML@";

/// What a package is built from: the workspace root (for `packaging/`) and the version.
pub struct Inputs<'a> {
    pub root: &'a Path,
    pub version: &'a str,
    pub arch: &'a str,
}

impl Inputs<'_> {
    fn server_dir(&self) -> PathBuf {
        self.root.join("packaging/server")
    }
    fn agent_dir(&self) -> PathBuf {
        self.root.join("packaging/agent")
    }
}

/// The architecture dpkg builds for here (`amd64`, `arm64`, ...).
pub fn host_arch() -> Result<String> {
    let out = Command::new("dpkg")
        .arg("--print-architecture")
        .output()
        .context("dpkg --print-architecture")?;
    if !out.status.success() {
        bail!("dpkg --print-architecture failed");
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Builds `handraise-server_VERSION_ARCH.deb` in `out_dir` around `binary`; returns its path.
pub fn server_deb(inputs: &Inputs, binary: &Path, out_dir: &Path) -> Result<PathBuf> {
    let stage = out_dir.join("handraise-server.stage");
    stage_server(inputs, binary, &stage)?;
    finish(inputs, SERVER_PACKAGE, &stage, out_dir)
}

/// The server package's tree: `/usr/bin/handraise-server`, the unit, `/etc/handraise`, the
/// docs, and `DEBIAN/` (control with the size and the glibc floor filled in, scripts).
pub fn stage_server(inputs: &Inputs, binary: &Path, stage: &Path) -> Result<()> {
    fresh_dir(stage)?;
    let src = inputs.server_dir();
    let files = [
        (binary.to_owned(), "usr/bin/handraise-server", 0o755),
        (
            src.join("handraise-server.service"),
            "lib/systemd/system/handraise-server.service",
            0o644,
        ),
        (
            inputs.root.join("README.md"),
            "usr/share/doc/handraise-server/README.md",
            0o644,
        ),
        (src.join("postinst"), "DEBIAN/postinst", 0o755),
        (src.join("prerm"), "DEBIAN/prerm", 0o755),
        (src.join("postrm"), "DEBIAN/postrm", 0o755),
    ];
    install_all(stage, files)?;
    // The web report page's bundle, built beside the binary by `build_report`; the server
    // looks in `/usr/share/handraise-server/report` when `report_dir` is not set.
    let report = binary.with_file_name("report");
    if report.is_dir() {
        crate::copy_dir(&report, &stage.join("usr/share/handraise-server/report"))?;
    }
    std::fs::create_dir_all(stage.join("etc/handraise"))?;
    let template = read(&src.join("control"))?;
    let control = template
        .replace("@VERSION@", inputs.version)
        .replace("@ARCH@", inputs.arch)
        .replace("@INSTALLED_SIZE@", &installed_size_kib(stage)?.to_string())
        .replace(
            "libc6 (>= 2.34)",
            &format!("libc6 (>= {})", glibc_floor(binary)?),
        );
    write(&stage.join("DEBIAN/control"), &control, 0o644)
}

/// Repacks the `.deb` Tauri bundled into `handraise_VERSION_ARCH.deb` in `out_dir`: the agent
/// CLI beside the app, the debconf questions, the maintainer scripts, the login entry.
pub fn agent_deb(
    inputs: &Inputs,
    tauri_deb: &Path,
    agent_binary: &Path,
    out_dir: &Path,
) -> Result<PathBuf> {
    let stage = out_dir.join("handraise.stage");
    fresh_dir(&stage)?;
    crate::run_cmd(
        Command::new("dpkg-deb")
            .arg("-R")
            .arg(tauri_deb)
            .arg(&stage),
    )?;
    let src = inputs.agent_dir();
    let files = [
        (agent_binary.to_owned(), "usr/bin/handraise-agent", 0o755),
        (
            src.join("autostart.desktop"),
            "usr/share/handraise/autostart.desktop",
            0o644,
        ),
        (src.join("templates"), "DEBIAN/templates", 0o644),
        (src.join("config"), "DEBIAN/config", 0o755),
        (src.join("postrm"), "DEBIAN/postrm", 0o755),
    ];
    install_all(&stage, files)?;
    write(
        &stage.join("DEBIAN/postinst"),
        &agent_postinst(&src)?,
        0o755,
    )?;
    let control_path = stage.join("DEBIAN/control");
    let control = agent_control(&read(&control_path)?, installed_size_kib(&stage)?);
    write(&control_path, &control, 0o644)?;
    // Tauri's md5sums no longer cover every file; dpkg does without one.
    let _ = std::fs::remove_file(stage.join("DEBIAN/md5sums"));
    finish(inputs, AGENT_PACKAGE, &stage, out_dir)
}

/// `packaging/agent/postinst` with the renderer of `agent.toml` put in its place.
fn agent_postinst(src: &Path) -> Result<String> {
    let postinst = read(&src.join("postinst"))?;
    if !postinst.contains(RENDER_MARKER) {
        bail!("packaging/agent/postinst lacks {RENDER_MARKER}");
    }
    Ok(postinst.replace(
        RENDER_MARKER,
        read(&src.join("render-agent-toml.sh"))?.trim_end(),
    ))
}

/// What the repacked package needs beyond Tauri's list: debconf for its questions, and the CA
/// certificates the agent's TLS client trusts (without them it cannot reach an https server).
const AGENT_EXTRA_DEPENDS: &str = "debconf (>= 0.5) | debconf-2.0, ca-certificates";

/// Tauri's control file renamed to `handraise`, with [`AGENT_EXTRA_DEPENDS`] and the size of
/// the repacked tree.
fn agent_control(tauri: &str, installed_size: u64) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut has_depends = false;
    for line in tauri.lines() {
        if line.starts_with("Package:") {
            lines.push(format!("Package: {AGENT_PACKAGE}"));
        } else if line.starts_with("Installed-Size:") {
            lines.push(format!("Installed-Size: {installed_size}"));
        } else if let Some(deps) = line.strip_prefix("Depends:") {
            has_depends = true;
            lines.push(format!("Depends: {AGENT_EXTRA_DEPENDS}, {}", deps.trim()));
        } else {
            lines.push(line.to_owned());
        }
    }
    if !has_depends {
        lines.push(format!("Depends: {AGENT_EXTRA_DEPENDS}"));
    }
    lines.join("\n") + "\n"
}

/// Builds `PACKAGE_VERSION_ARCH.deb` in `out_dir` from `stage`, then removes the stage.
fn finish(inputs: &Inputs, package: &str, stage: &Path, out_dir: &Path) -> Result<PathBuf> {
    let deb = out_dir.join(format!("{package}_{}_{}.deb", inputs.version, inputs.arch));
    build_deb(stage, &deb)?;
    std::fs::remove_dir_all(stage)?;
    Ok(deb)
}

/// `dpkg-deb --build` with files owned by root whoever builds.
fn build_deb(stage: &Path, deb: &Path) -> Result<()> {
    crate::run_cmd(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zxz", "--build"])
            .arg(stage)
            .arg(deb)
            .stdout(std::process::Stdio::null()),
    )
}

/// The highest `GLIBC_x.y` symbol version the binary asks for: the `libc6` it depends on.
pub fn glibc_floor(binary: &Path) -> Result<String> {
    let bytes = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    let mut best: Option<(u32, u32)> = None;
    let needle = b"GLIBC_2.";
    let mut i = 0;
    while let Some(pos) = find(&bytes[i..], needle) {
        let start = i + pos + needle.len();
        let digits = |from: usize| -> (Option<u32>, usize) {
            let end = bytes[from..]
                .iter()
                .position(|b| !b.is_ascii_digit())
                .map_or(bytes.len(), |p| from + p);
            (
                std::str::from_utf8(&bytes[from..end])
                    .ok()
                    .and_then(|s| s.parse().ok()),
                end,
            )
        };
        if let (Some(minor), _) = digits(start) {
            best = best.max(Some((2, minor)));
        }
        i = start;
    }
    let (major, minor) = best.unwrap_or((2, 17));
    Ok(format!("{major}.{minor}"))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `Installed-Size` of a staged tree: the KiB of its files outside `DEBIAN/`.
fn installed_size_kib(stage: &Path) -> Result<u64> {
    fn walk(dir: &Path, total: &mut u64) -> Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_dir() {
                walk(&entry.path(), total)?;
            } else {
                *total += meta.len().div_ceil(1024);
            }
        }
        Ok(())
    }
    let mut total = 0;
    for entry in std::fs::read_dir(stage)? {
        let entry = entry?;
        if entry.file_name() != "DEBIAN" && entry.metadata()?.is_dir() {
            walk(&entry.path(), &mut total)?;
        }
    }
    Ok(total.max(1))
}

fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Copies `from` to `to` (creating its directory) with `mode`.
fn install(from: &Path, to: &Path, mode: u32) -> Result<()> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    set_mode(to, mode)
}

/// Copies each (source, path in the stage, mode).
fn install_all<const N: usize>(stage: &Path, files: [(PathBuf, &str, u32); N]) -> Result<()> {
    for (from, to, mode) in files {
        install(&from, &stage.join(to), mode)?;
    }
    Ok(())
}

fn write(path: &Path, text: &str, mode: u32) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    set_mode(path, mode)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {mode:o} {}", path.display()))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> Result<()> {
    Ok(())
}

#[cfg(test)]
#[path = "packaging_tests.rs"]
mod tests;
