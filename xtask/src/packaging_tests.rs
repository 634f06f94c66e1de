//! The packages' contents, the unit under `systemd-analyze verify`, and the debconf answers
//! rendered into an `agent.toml` the agent itself loads.

use super::*;
use std::collections::HashMap;

fn root() -> PathBuf {
    crate::project_root().expect("workspace root")
}

fn inputs(root: &Path) -> Inputs<'_> {
    Inputs {
        root,
        version: "1.2.3",
        arch: "amd64",
    }
}

/// A stand-in for a binary (the packages' layout does not depend on its contents).
fn fake_binary(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    write(&p, "#!/bin/sh\nexit 0\n", 0o755).expect("fake binary");
    p
}

fn output(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let (ok, text) = output(Command::new("dpkg-deb").args(args).arg(deb));
    assert!(ok, "dpkg-deb {args:?}: {text}");
    text
}

/// `dpkg-deb -c` as (mode and owner, path) pairs.
fn listing(deb: &Path) -> Vec<(String, String)> {
    dpkg_deb(&["-c"], deb)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((
                format!("{} {}", f.first()?, f.get(1)?),
                (*f.get(5)?).to_owned(),
            ))
        })
        .collect()
}

fn entry<'a>(files: &'a [(String, String)], path: &str) -> &'a str {
    files
        .iter()
        .find(|(_, p)| p == path)
        .map(|(m, _)| m.as_str())
        .unwrap_or_else(|| panic!("{path} missing from {files:#?}"))
}

/// The `.deb` is named `name`, and `dpkg-deb -I` shows every one of `wants`.
fn assert_deb_info(deb: &Path, name: &str, wants: &[&str]) {
    assert_eq!(deb.file_name().and_then(|n| n.to_str()), Some(name));
    let info = dpkg_deb(&["-I"], deb);
    for want in wants {
        assert!(info.contains(want), "{want:?} not in\n{info}");
    }
}

/// `dpkg-deb -I DEB FILE`: one of the control members.
fn control_member(deb: &Path, member: &str) -> String {
    let (_, text) = output(Command::new("dpkg-deb").arg("-I").arg(deb).arg(member));
    text
}

/// `systemd-analyze verify` of the unit in the staged tree: (exit 0, output).
fn verify_unit(stage: &Path) -> (bool, String) {
    output(
        Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(format!("--root={}", stage.display()))
            .arg("/lib/systemd/system/handraise-server.service"),
    )
}

/// The unit's value for `key` (the last one wins, as in systemd).
fn unit_value<'a>(unit: &'a str, key: &str) -> Option<&'a str> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .next_back()
}

#[test]
fn the_server_package_carries_the_web_report_page_built_beside_the_binary() {
    let root = root();
    let tmp = tempfile::tempdir().expect("tempdir");
    let bin = fake_binary(tmp.path(), "handraise-server");
    let stage = tmp.path().join("stage");
    stage_server(&inputs(&root), &bin, &stage).expect("stages without it");
    assert!(!stage.join("usr/share/handraise-server/report").exists());
    std::fs::create_dir_all(tmp.path().join("report/assets")).expect("bundle dir");
    std::fs::write(tmp.path().join("report/report.html"), "<!doctype html>").expect("page");
    std::fs::write(tmp.path().join("report/assets/report.js"), "").expect("asset");
    stage_server(&inputs(&root), &bin, &stage).expect("stages with it");
    let shared = stage.join("usr/share/handraise-server/report");
    assert!(shared.join("report.html").is_file());
    assert!(shared.join("assets/report.js").is_file());
}

#[test]
fn the_server_unit_is_hardened_and_passes_systemd_analyze_verify() {
    let root = root();
    let tmp = tempfile::tempdir().expect("tempdir");
    let bin = fake_binary(tmp.path(), "handraise-server");
    let stage = tmp.path().join("stage");
    stage_server(&inputs(&root), &bin, &stage).expect("stages");

    let unit = read(&stage.join("lib/systemd/system/handraise-server.service")).expect("unit");
    assert_eq!(
        unit_value(&unit, "ExecStart"),
        Some("/usr/bin/handraise-server serve --config /etc/handraise/server.toml")
    );
    for (key, want) in [
        ("User", "handraise"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("StateDirectory", "handraise"),
        ("CapabilityBoundingSet", ""),
        ("SystemCallFilter", "@system-service"),
        ("Restart", "on-failure"),
        ("KillSignal", "SIGTERM"),
    ] {
        assert_eq!(unit_value(&unit, key), Some(want), "{key}");
    }
    assert!(unit_value(&unit, "RestrictAddressFamilies").is_some());
    assert!(
        unit_value(&unit, "ReadWritePaths").is_none(),
        "only the state directory is writable"
    );
    // The server drains for shutdown_grace_secs (8 s by default) after SIGTERM.
    let stop: u64 = unit_value(&unit, "TimeoutStopSec")
        .and_then(|v| v.parse().ok())
        .expect("TimeoutStopSec in seconds");
    assert!(
        stop > 8,
        "TimeoutStopSec {stop} leaves no room for the drain"
    );

    // `--root` points systemd-analyze at the staged tree (so ExecStart's binary is checked
    // there); it needs the targets the unit's default dependencies name.
    for target in [
        "sysinit",
        "basic",
        "multi-user",
        "network",
        "network-online",
        "shutdown",
        "sockets",
        "timers",
        "paths",
        "slices",
        "local-fs",
        "swap",
    ] {
        let from = Path::new("/lib/systemd/system").join(format!("{target}.target"));
        if from.exists() {
            install(
                &from,
                &stage.join(format!("lib/systemd/system/{target}.target")),
                0o644,
            )
            .expect("target");
        }
    }
    let (ok, text) = verify_unit(&stage);
    assert!(
        ok && text.trim().is_empty(),
        "systemd-analyze verify: {text}"
    );

    // The check has teeth: a misspelt directive is reported.
    let bad = unit.replace("ProtectHome=yes", "ProtectHome=yes\nProtectHomme=yes");
    write(
        &stage.join("lib/systemd/system/handraise-server.service"),
        &bad,
        0o644,
    )
    .expect("bad unit");
    let (_, text) = verify_unit(&stage);
    assert!(text.contains("ProtectHomme"), "{text}");
}

#[test]
fn the_server_deb_holds_the_binary_the_unit_and_the_first_install_scripts() {
    let root = root();
    let tmp = tempfile::tempdir().expect("tempdir");
    let bin = fake_binary(tmp.path(), "handraise-server");
    let deb = server_deb(&inputs(&root), &bin, tmp.path()).expect("builds");
    assert_deb_info(
        &deb,
        "handraise-server_1.2.3_amd64.deb",
        &[
            " Package: handraise-server\n",
            " Version: 1.2.3\n",
            " Architecture: amd64\n",
            "Depends: adduser, libc6 (>= 2.17), init-system-helpers",
            " postinst ",
            " prerm ",
            " postrm ",
        ],
    );
    let files = listing(&deb);
    assert_eq!(
        entry(&files, "./usr/bin/handraise-server"),
        "-rwxr-xr-x root/root"
    );
    assert_eq!(
        entry(&files, "./lib/systemd/system/handraise-server.service"),
        "-rw-r--r-- root/root"
    );
    entry(&files, "./etc/handraise/");
    let postinst = control_member(&deb, "postinst");
    assert!(postinst.contains("adduser --system"), "{postinst}");
    assert!(
        postinst.contains("handraise-server init --config \"$CONFIG\" --data-dir \"$DATA\""),
        "{postinst}"
    );
    assert!(
        postinst.contains("if [ ! -e \"$CONFIG\" ]"),
        "init on the first install only: {postinst}"
    );
}

/// `render-agent-toml.sh` run by `sh` with a `db_get` answering from `answers`.
fn render(answers: &[(&str, &str)]) -> String {
    let root = root();
    let mut script = String::from("db_get() {\n  case \"$1\" in\n");
    for (q, a) in answers {
        script.push_str(&format!(
            "    handraise/{q}) RET='{}' ;;\n",
            a.replace('\'', "'\\''")
        ));
    }
    script.push_str("    *) RET='' ;;\n  esac\n}\n");
    script.push_str(". \"$RENDERER\"\nhandraise_render_agent_toml\n");
    let out = Command::new("sh")
        .args(["-euc", &script])
        .env(
            "RENDERER",
            root.join("packaging/agent/render-agent-toml.sh"),
        )
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn preseeded_answers_become_an_agent_toml_the_agent_loads() {
    use handraise_agent::config::{Config, ConfigLayer, ConfigSources, Policy};
    let text = render(&[
        ("server_url", "https://help.district.example"),
        ("enrollment_token", "tok-\"quoted\"\\back"),
        ("school", "Lincoln Elementary"),
        ("building", "North's Wing"),
        ("allow_quit", "false"),
        ("autostart", "false"),
        ("shortcut", "Ctrl+Alt+J"),
        ("hide_facts", "processes, printers,bogus!"),
    ]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("agent.toml");
    write(&file, &text, 0o644).expect("write");
    let sources = ConfigSources {
        system_file: Some(file.clone()),
        system_preferences: Vec::new(),
        user_file: None,
        env: HashMap::new(),
        flags: ConfigLayer {
            data_dir: Some(tmp.path().join("data")),
            ..Default::default()
        },
    };
    let config = Config::load_from(&sources).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        config.server_url.as_deref(),
        Some("https://help.district.example")
    );
    assert_eq!(
        config.enrollment_token.as_ref().map(|t| t.expose()),
        Some("tok-\"quoted\"\\back")
    );
    assert_eq!(config.school.as_deref(), Some("Lincoln Elementary"));
    assert_eq!(config.building.as_deref(), Some("North's Wing"));
    let policy = Policy::from_system_file(&file).expect("policy");
    assert!(!policy.allow_quit);
    assert!(!policy.autostart);
    assert_eq!(policy.shortcut, "Ctrl+Alt+J");
    assert_eq!(policy.hide_facts, ["processes", "printers", "bogus"]);

    // Nothing answered: no district keys, the policy's defaults spelt out.
    let text = render(&[("allow_quit", "true"), ("autostart", "true")]);
    write(&file, &text, 0o644).expect("write");
    let config = Config::load_from(&sources).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(config.server_url, None);
    assert_eq!(config.enrollment_token, None);
    assert_eq!(
        Policy::from_system_file(&file).expect("policy"),
        Policy {
            shortcut: String::new(),
            ..Policy::default()
        }
    );
}

#[test]
fn the_agent_deb_is_the_tauri_deb_with_the_cli_debconf_and_the_login_entry() {
    let root = root();
    let tmp = tempfile::tempdir().expect("tempdir");
    // A stand-in for the .deb Tauri bundles: its name and layout.
    let tauri = tmp.path().join("tauri.stage");
    write(
        &tauri.join("DEBIAN/control"),
        "Package: hand-raise\nVersion: 1.2.3\nArchitecture: amd64\nInstalled-Size: 1\n\
         Maintainer: x <x@example.invalid>\nDepends: libwebkit2gtk-4.1-0, libgtk-3-0\n\
         Description: Raise your hand for technical help\n",
        0o644,
    )
    .expect("control");
    fake_binary(&tauri.join("usr/bin"), "handraise");
    write(
        &tauri.join("usr/share/applications/HandRaise.desktop"),
        "[Desktop Entry]\n",
        0o644,
    )
    .expect("desktop");
    let tauri_deb = tmp.path().join("HandRaise_1.2.3_amd64.deb");
    build_deb(&tauri, &tauri_deb).expect("tauri stand-in");
    let agent = fake_binary(tmp.path(), "handraise-agent");
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).expect("out");

    let deb = agent_deb(&inputs(&root), &tauri_deb, &agent, &out).expect("repacks");
    assert_deb_info(
        &deb,
        "handraise_1.2.3_amd64.deb",
        &[
            " Package: handraise\n",
            " Depends: debconf (>= 0.5) | debconf-2.0, ca-certificates, libwebkit2gtk-4.1-0, libgtk-3-0\n",
            " templates ",
            " config ",
            " postinst ",
            " postrm ",
        ],
    );
    let files = listing(&deb);
    for path in [
        "./usr/bin/handraise",
        "./usr/bin/handraise-agent",
        "./usr/share/applications/HandRaise.desktop",
    ] {
        assert!(entry(&files, path).starts_with("-rwx") || path.ends_with(".desktop"));
    }
    assert_eq!(
        entry(&files, "./usr/share/handraise/autostart.desktop"),
        "-rw-r--r-- root/root"
    );
    let postinst = control_member(&deb, "postinst");
    assert!(!postinst.contains(RENDER_MARKER), "{postinst}");
    assert!(
        postinst.contains("handraise_render_agent_toml() {"),
        "{postinst}"
    );
    let (_, templates) = output(
        Command::new("dpkg-deb")
            .arg("-I")
            .arg(&deb)
            .arg("templates"),
    );
    for q in [
        "server_url",
        "enrollment_token",
        "school",
        "building",
        "allow_quit",
        "autostart",
        "shortcut",
        "hide_facts",
    ] {
        assert!(
            templates.contains(&format!("Template: handraise/{q}\n")),
            "{q}"
        );
    }
}

#[test]
fn the_glibc_floor_is_the_highest_symbol_version() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let p = tmp.path().join("bin");
    std::fs::write(
        &p,
        b"\0GLIBC_2.2.5\0GLIBC_2.34\0GLIBC_2.17\0GLIBC_PRIVATE\0",
    )
    .expect("w");
    assert_eq!(glibc_floor(&p).expect("reads"), "2.34");
}
