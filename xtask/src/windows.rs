//! Windows, built and tested from Linux.
//!
//! - Cross-building: rustup cannot fetch other targets' standard libraries here, so the
//!   Windows binaries are built by Debian's Rust (`rustc-web`, `cargo-web`, with the standard
//!   library's source in `rust-web-src`) as `/usr/bin/cargo -Zbuild-std` for
//!   `x86_64-pc-windows-gnu`, linked and with their C parts (SQLite, aws-lc) compiled by mingw.
//!   They land in `target/x86_64-pc-windows-gnu/{debug,release}`.
//! - `cargo xtask wine-prefix DIR`: a 64-bit Wine prefix with the stand-ins for two gaps of Wine
//!   (not of Windows), built from `xtask/wine/*.c` with mingw: `bcryptprimitives.dll`
//!   (`ProcessPrng`, which Rust's standard library needs at start) and `pdh.dll`
//!   (`PdhEnumObjectsW`, which aborts under Wine when sysinfo calls it).
//! - The `cargo xtask test` phases: the Windows agent (debug) built with clippy `-D warnings`,
//!   then run under Wine against the Linux server on loopback (`tests/wine/main.rs`).
//! - `cargo xtask dist --windows`: release `handraise-agent.exe`, `handraise-server.exe`,
//!   `handraise.exe` (the tray app) and the installer, `HandRaise-VERSION-setup.exe`, made by
//!   Debian's NSIS from `packaging/windows/handraise.nsi`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{deps, run_cmd};

/// The Rust target of the Windows binaries.
pub const TARGET: &str = "x86_64-pc-windows-gnu";
/// The mingw tools' prefix.
const MINGW: &str = "x86_64-w64-mingw32";

/// `/usr/bin/cargo` (Debian's) set up to build for [`TARGET`] with mingw.
pub fn cargo() -> Command {
    let mut cmd = Command::new("/usr/bin/cargo");
    let target_env = TARGET.replace('-', "_");
    cmd.env("RUSTC", "/usr/bin/rustc")
        .env("RUSTDOC", "/usr/bin/rustdoc")
        // `-Zbuild-std` is unstable; Debian's stable compiler builds the standard library.
        .env("RUSTC_BOOTSTRAP", "1")
        // Not incremental: the Windows builds are built once per run (cold on CI), and
        // incremental data only slows that and takes disk (1.6 GB).
        .env("CARGO_INCREMENTAL", "0")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC_WRAPPER")
        .env(
            format!("CARGO_TARGET_{}_LINKER", target_env.to_uppercase()),
            format!("{MINGW}-gcc"),
        )
        .env(format!("CC_{target_env}"), format!("{MINGW}-gcc"))
        .env(format!("CXX_{target_env}"), format!("{MINGW}-g++"))
        .env(format!("AR_{target_env}"), format!("{MINGW}-ar"));
    cmd
}

/// The arguments that build for Windows: `-Zbuild-std` and the target.
fn target_args(cmd: &mut Command) -> &mut Command {
    cmd.args(["-Zbuild-std=std,panic_abort", "--target", TARGET])
}

/// Builds `packages`' binaries for Windows with `profile` (`dev` or `release`) and `extra`
/// arguments (features); returns the directory holding the `.exe`s.
pub fn build(root: &Path, profile: &str, packages: &[&str], extra: &[&str]) -> Result<PathBuf> {
    deps::ensure(deps::WINDOWS_PACKAGES)?;
    let mut cmd = cargo();
    cmd.args(["build", "--profile", profile, "--bins"]);
    for p in packages {
        cmd.args(["-p", p]);
    }
    cmd.args(extra);
    run_cmd(target_args(&mut cmd).current_dir(root))?;
    Ok(out_dir(root, profile))
}

/// Where `profile`'s Windows binaries land.
pub fn out_dir(root: &Path, profile: &str) -> PathBuf {
    let dir = if profile == "dev" { "debug" } else { profile };
    crate::target_dir(root).join(TARGET).join(dir)
}

/// Builds `packages` for Windows (`dev`) with clippy's `-D warnings` on the workspace's
/// crates, in the same pass: clippy-driver as the workspace wrapper, the way `cargo clippy`
/// runs it, but building instead of checking, so the dependencies are compiled once for both
/// the lint and the binaries the Wine tests run (Debian's clippy, `rust-web-clippy`).
pub fn build_linted(root: &Path, packages: &[&str]) -> Result<PathBuf> {
    deps::ensure(deps::WINDOWS_PACKAGES)?;
    let mut cmd = cargo();
    cmd.args(["build", "--profile", "dev", "--bins"])
        .env("RUSTC_WORKSPACE_WRAPPER", "/usr/bin/clippy-driver")
        .env(
            "CLIPPY_ARGS",
            "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__",
        );
    for p in packages {
        cmd.args(["-p", p]);
    }
    run_cmd(target_args(&mut cmd).current_dir(root))?;
    Ok(out_dir(root, "dev"))
}

/// The Wine loader.
pub fn wine() -> PathBuf {
    for p in ["/usr/bin/wine", "/usr/bin/wine64", "/usr/lib/wine/wine64"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    PathBuf::from("wine")
}

/// `wine ARGS` in the prefix `prefix`, quiet.
pub fn wine_cmd(prefix: &Path) -> Command {
    let mut cmd = Command::new(wine());
    cmd.env("WINEPREFIX", prefix)
        .env("WINEARCH", "win64")
        .env("WINEDEBUG", "-all")
        // No Mono or Gecko installers (they would be downloaded): nothing here needs them.
        .env("WINEDLLOVERRIDES", "mscoree,mshtml=");
    cmd
}

/// Waits until the prefix's wineserver has ended (it writes the registry files then).
fn wineserver_wait(prefix: &Path) -> Result<()> {
    let server = ["/usr/bin/wineserver", "/usr/lib/wine/wineserver64"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("wineserver");
    run_cmd(Command::new(server).arg("-w").env("WINEPREFIX", prefix))
}

/// The stand-ins, as (DLL, C source, module-definition file, libraries).
const STAND_INS: &[(&str, &str, &str, &[&str])] = &[
    (
        "bcryptprimitives.dll",
        "bcryptprimitives.c",
        "bcryptprimitives.def",
        &["-ladvapi32"],
    ),
    ("pdh.dll", "pdh.c", "pdh.def", &[]),
];

/// `cargo xtask wine-prefix DIR`: a Wine prefix at `dir` with the stand-ins installed in its
/// `system32` and preferred to Wine's own `pdh.dll`. An existing prefix is reused; the
/// stand-ins are rebuilt and installed again every time (a second or two).
pub fn wine_prefix(root: &Path, dir: &Path) -> Result<()> {
    deps::ensure(deps::WINE_PACKAGES)?;
    std::fs::create_dir_all(dir)?;
    let dir = dir.canonicalize()?;
    let system32 = dir.join("drive_c/windows/system32");
    if !system32.join("kernel32.dll").exists() {
        eprintln!("creating the Wine prefix {}", dir.display());
        run_cmd(wine_cmd(&dir).args(["wineboot", "--init"]))?;
        wineserver_wait(&dir)?;
    }
    if !system32.is_dir() {
        bail!("wineboot made no {}", system32.display());
    }
    let sources = root.join("xtask/wine");
    for (dll, c, def, libs) in STAND_INS {
        run_cmd(
            Command::new(format!("{MINGW}-gcc"))
                .args(["-shared", "-O2", "-s", "-Wall", "-Werror", "-o"])
                .arg(system32.join(dll))
                .arg(sources.join(c))
                .arg(sources.join(def))
                .args(*libs),
        )
        .with_context(|| format!("building the stand-in {dll}"))?;
    }
    // Wine loads its builtin pdh.dll before a file in system32 unless told otherwise.
    run_cmd(wine_cmd(&dir).args([
        "reg",
        "add",
        r"HKCU\Software\Wine\DllOverrides",
        "/v",
        "pdh",
        "/d",
        "native",
        "/f",
    ]))?;
    wineserver_wait(&dir)?;
    eprintln!(
        "Wine prefix ready: WINEPREFIX={} wine target/{TARGET}/release/handraise-agent.exe --help",
        dir.display()
    );
    Ok(())
}

/// The prefix the tests use, kept in the target directory between runs.
pub fn test_prefix(root: &Path) -> PathBuf {
    crate::target_dir(root).join("wine-prefix")
}

/// The `cargo xtask test` phase after [`build_linted`]: the prefix made, and `tests/wine` run
/// against the Linux debug server in `linux_bin_dir`.
pub fn test_under_wine(root: &Path, linux_bin_dir: &Path) -> Result<()> {
    let exes = out_dir(root, "dev");
    let prefix = test_prefix(root);
    wine_prefix(root, &prefix)?;
    run_cmd(
        crate::cargo()
            .args(["test", "-p", "handraise-e2e", "--test", "wine"])
            .env("HANDRAISE_BIN_DIR", linux_bin_dir)
            .env("HANDRAISE_WINE_BIN_DIR", &exes)
            .env("HANDRAISE_WINE_PREFIX", &prefix)
            .env("HANDRAISE_WINE", wine())
            .current_dir(root),
    )
}

/// The `cargo xtask test` phase for the tray app on Windows: the app's library and binary
/// built for Windows (`dev`) as unit tests, with clippy's `-D warnings` on the app's code,
/// then the tests run under Wine. They are the tests that need no window: WebView2 does not
/// run under Wine, so the UI is tested through the Linux build and the browser tests. One
/// build serves both the lint and the tests (the app has no dev-dependencies on Windows, so
/// the features of its dependencies are those of `handraise.exe`).
pub fn test_app_under_wine(root: &Path) -> Result<()> {
    deps::ensure(deps::WINDOWS_PACKAGES)?;
    let mut tests = cargo();
    tests
        .args([
            "test",
            "--profile",
            "dev",
            "--no-run",
            "--message-format=json-render-diagnostics",
            "-p",
            "handraise-app",
            "--lib",
            "--bins",
        ])
        .env("RUSTC_WORKSPACE_WRAPPER", "/usr/bin/clippy-driver")
        .env(
            "CLIPPY_ARGS",
            "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__",
        )
        .current_dir(root)
        .stderr(std::process::Stdio::inherit());
    let out = target_args(&mut tests)
        .output()
        .context("could not start cargo test --no-run")?;
    if !out.status.success() {
        bail!("building the tray app's unit tests for Windows failed");
    }
    let exes = test_executables(&String::from_utf8_lossy(&out.stdout));
    if exes.is_empty() {
        bail!("cargo named no test executable of handraise-app");
    }

    let prefix = test_prefix(root);
    wine_prefix(root, &prefix)?;
    // `WebView2Loader.dll`, which the app links, is copied next to the binaries only: the
    // test executables in `deps` find it through WINEPATH.
    let loader_dir = out_dir(root, "dev");
    for exe in exes {
        let status = wine_cmd(&prefix)
            .env("WINEPATH", wine_path(&loader_dir))
            .arg(&exe)
            .status()
            .with_context(|| format!("could not run {} under Wine", exe.display()))?;
        if !status.success() {
            bail!("{} failed under Wine ({status})", exe.display());
        }
    }
    Ok(())
}

/// The test executables `cargo test --no-run --message-format=json` built.
fn test_executables(json_lines: &str) -> Vec<PathBuf> {
    json_lines
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["profile"]["test"] == true)
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .collect()
}

/// A Linux directory as Wine sees it (drive `Z:` is the root).
fn wine_path(dir: &Path) -> String {
    format!("Z:{}", dir.display()).replace('/', "\\")
}
