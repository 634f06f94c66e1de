//! `cargo xtask dist --windows`: the release Windows binaries and the installer IT pushes.
//!
//! 1. what is missing is installed (`deps::WINDOWS_PACKAGES`, `WINDOWS_DIST_PACKAGES`, Node);
//! 2. `handraise-agent.exe` and `handraise-server.exe`, then the UI (`ui/dist`) and
//!    `handraise.exe` (the tray app, UI embedded), all release, in
//!    `target/x86_64-pc-windows-gnu/release/`;
//! 3. the installer `HandRaise-VERSION-setup.exe` beside them, by Debian's `makensis` from
//!    `packaging/windows/handraise.nsi` (silent with `/S`; the district's settings as
//!    parameters, written to `%ProgramData%\HandRaise\agent.toml`: docs/windows.md);
//! 4. the installer checked under Wine: installed silently with settings into a throwaway
//!    prefix, the file it wrote read back by the installed `handraise-agent.exe config`.
//!
//! Tauri's own NSIS bundle is not used: on Linux it downloads a prebuilt plugin DLL
//! (`nsis_tauri_utils.dll`) at build time, which a district's build machine may not reach.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

use crate::{deps, run_cmd, windows};

/// Builds everything; returns the installer's path.
pub fn dist(root: &Path) -> Result<PathBuf> {
    let started = std::time::Instant::now();
    deps::ensure(&[deps::WINDOWS_PACKAGES, deps::WINDOWS_DIST_PACKAGES].concat())?;
    deps::ensure_node()?;
    let out = windows::build(
        root,
        "release",
        &["handraise-agent", "handraise-server"],
        &[],
    )?;
    crate::npm_ci(&root.join("ui"))?;
    run_cmd(
        std::process::Command::new("npm")
            .args(["run", "build"])
            .current_dir(root.join("ui")),
    )?;
    windows::build(
        root,
        "release",
        &["handraise-app"],
        &["--features", "handraise-app/custom-protocol"],
    )?;
    // Symbols stripped after the build (a `strip` in the profile would rebuild everything).
    for name in [
        "handraise-agent.exe",
        "handraise-server.exe",
        "handraise.exe",
    ] {
        run_cmd(std::process::Command::new("x86_64-w64-mingw32-strip").arg(out.join(name)))?;
    }
    let icon = root.join("src-tauri/icons/icon.ico");
    std::fs::copy(&icon, out.join("icon.ico")).with_context(|| icon.display().to_string())?;
    let setup = out.join(format!("HandRaise-{}-setup.exe", env!("CARGO_PKG_VERSION")));
    run_cmd(
        std::process::Command::new("makensis")
            .arg("-V2")
            .arg(format!("-DVERSION={}", env!("CARGO_PKG_VERSION")))
            .arg(format!("-DSRCDIR={}", out.display()))
            .arg(format!("-DOUTFILE={}", setup.display()))
            .arg(root.join("packaging/windows/handraise.nsi")),
    )?;
    check_installer(root, &setup)?;
    for name in [
        "handraise-agent.exe",
        "handraise-server.exe",
        "handraise.exe",
    ] {
        print_size(&out.join(name));
    }
    print_size(&setup);
    println!(
        "built for Windows in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(setup)
}

fn print_size(f: &Path) {
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    println!("{:>8.1} MiB  {}", size as f64 / 1048576.0, f.display());
}

/// Installs `setup` silently with settings into a fresh Wine prefix, then checks the files
/// and that the installed agent reads the settings the installer wrote.
fn check_installer(root: &Path, setup: &Path) -> Result<()> {
    let prefix = crate::target_dir(root).join("wine-installer-check");
    if prefix.exists() {
        std::fs::remove_dir_all(&prefix)?;
    }
    windows::wine_prefix(root, &prefix)?;
    run_cmd(windows::wine_cmd(&prefix).arg(setup).args([
        "/S",
        "/SERVER=https://handraise.district.example",
        "/TOKEN=district-token",
        "/SCHOOL=Lincoln Elementary",
        r"/BUILDING=North\East",
        "/ALLOWQUIT=0",
        "/HIDEFACTS=processes,printers",
    ]))?;
    let toml = prefix.join("drive_c/ProgramData/HandRaise/agent.toml");
    let text = std::fs::read_to_string(&toml)
        .with_context(|| format!("the installer wrote no {}", toml.display()))?;
    let installed = prefix.join("drive_c/Program Files/HandRaise");
    for f in ["handraise.exe", "handraise-agent.exe", "uninstall.exe"] {
        if !installed.join(f).is_file() {
            bail!("the installer did not install {f}");
        }
    }
    let out = windows::wine_cmd(&prefix)
        .arg(r"C:\Program Files\HandRaise\handraise-agent.exe")
        .args(["config", "--data-dir", r"C:\handraise-check"])
        .output()?;
    let shown = String::from_utf8_lossy(&out.stdout);
    if !out.status.success()
        || !shown.contains(r#""school": "Lincoln Elementary""#)
        || !shown.contains(r#""building": "North\\East""#)
        || !shown.contains(r#""allow_quit": false"#)
        || !shown.contains("\"printers\"")
    {
        bail!(
            "the installed agent did not read the installer's settings:\n{text}\n{shown}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Every user's sign-in starts the tray, flagged as such (a tray already started by the
    // user's own entry then opens nothing).
    let run = windows::wine_cmd(&prefix)
        .args([
            "reg",
            "query",
            r"HKLM\Software\Microsoft\Windows\CurrentVersion\Run",
            "/v",
            "HandRaise",
        ])
        .output()?;
    let run = String::from_utf8_lossy(&run.stdout);
    if !run.contains(r#""C:\Program Files\HandRaise\handraise.exe" --autostart"#) {
        bail!("the installer's sign-in entry is not the flagged tray:\n{run}");
    }
    eprintln!(
        "installer checked under Wine: silent install, the sign-in entry, {} written:\n{text}",
        toml.display()
    );
    Ok(())
}
