//! The Windows agent (`handraise-agent.exe`, cross-built) under Wine against the real Linux
//! server on loopback: enrollment from Group Policy (`HKLM\SOFTWARE\Policies\HandRaise`, set
//! with `wine reg add`) winning over `%ProgramData%\HandRaise\agent.toml`, the domain and Entra
//! joins `facts` reads from the registry (set the same way), reports made offline, one sync
//! that delivers each ticket once, and SIGKILLs in the middle of syncs that lose and double
//! nothing.
//!
//! Run by `cargo xtask test` (its Windows phase), which builds the `.exe`, makes the Wine prefix
//! with its stand-in DLLs (`cargo xtask wine-prefix`) and sets `HANDRAISE_WINE_BIN_DIR`,
//! `HANDRAISE_WINE_PREFIX` and `HANDRAISE_WINE`. Without them the test says so and passes:
//! `cargo test --workspace` has no Windows build.

use anyhow::{Context, Result, bail};
use handraise_testkit::{Server, last_line, wait_until};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// How long one Wine command may take on a busy machine (the first start of a prefix is slow).
const WINE_COMMAND: Duration = Duration::from_secs(180);

struct Wine {
    wine: PathBuf,
    prefix: PathBuf,
    exe: PathBuf,
}

impl Wine {
    fn from_env() -> Option<Wine> {
        let bin = std::env::var_os("HANDRAISE_WINE_BIN_DIR")?;
        let prefix = std::env::var_os("HANDRAISE_WINE_PREFIX")?;
        Some(Wine {
            wine: std::env::var_os("HANDRAISE_WINE")
                .map(PathBuf::from)
                .unwrap_or_else(|| "wine".into()),
            prefix: prefix.into(),
            exe: Path::new(&bin).join("handraise-agent.exe"),
        })
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new(&self.wine);
        cmd.env("WINEPREFIX", &self.prefix)
            .env("WINEARCH", "win64")
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .env("RUST_LOG", "warn")
            .env_remove("HANDRAISE_SYSTEM_CONFIG")
            .env_remove("HANDRAISE_USER_CONFIG")
            .env_remove("HANDRAISE_DATA_DIR")
            .stdin(Stdio::null());
        cmd
    }

    /// `reg ARGS` in the prefix; must succeed.
    fn reg(&self, args: &[&str]) -> Result<()> {
        let out = run(self.cmd().arg("reg").args(args))?;
        if !out.status.success() {
            bail!(
                "wine reg {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// The prefix's `C:\ProgramData`.
    fn program_data(&self) -> PathBuf {
        self.prefix.join("drive_c/ProgramData")
    }
}

/// Runs `cmd` to completion within [`WINE_COMMAND`].
fn run(cmd: &mut Command) -> Result<Output> {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start {cmd:?}"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    let id = child.id();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(WINE_COMMAND) {
        Ok(out) => Ok(out?),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &id.to_string()]).status();
            bail!("{cmd:?} did not finish within {WINE_COMMAND:?}")
        }
    }
}

/// The agent on a data directory of its own, named to Windows through Wine's `Z:` drive.
struct WinAgent<'a> {
    wine: &'a Wine,
    dir: tempfile::TempDir,
}

impl WinAgent<'_> {
    fn windows_dir(&self) -> String {
        format!("Z:{}", self.dir.path().display()).replace('/', "\\")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.wine.cmd();
        cmd.arg(&self.wine.exe)
            .args(args)
            .arg("--data-dir")
            .arg(self.windows_dir());
        cmd
    }

    /// Runs a command; (exit code, stdout, stderr).
    fn exec(&self, args: &[&str]) -> Result<(i32, String, String)> {
        let out = run(&mut self.cmd(args))?;
        Ok((
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    fn ok(&self, args: &[&str]) -> Result<String> {
        let (code, out, err) = self.exec(args)?;
        if code != 0 {
            bail!("handraise-agent.exe {args:?} exited {code}: {err}");
        }
        Ok(out)
    }

    fn report(&self, summary: &str) -> Result<String> {
        let out = self.ok(&["report", "--category", "printer", "--summary", summary])?;
        Ok(last_line(&out))
    }

    fn spawn(&self, args: &[&str]) -> Result<Child> {
        self.cmd(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("spawn the agent under Wine")
    }
}

/// Every client id is on the server exactly once, and nothing else is.
fn assert_exactly_once(server: &Server, ids: &[String]) -> Result<()> {
    let tickets = server.tickets()?;
    for id in ids {
        let n = tickets.iter().filter(|t| t["client_id"] == *id).count();
        if n != 1 {
            bail!("ticket {id} is on the server {n} times");
        }
    }
    if tickets.len() != ids.len() {
        bail!(
            "the server has {} tickets, {} reported",
            tickets.len(),
            ids.len()
        );
    }
    Ok(())
}

/// Where Group Policy keeps the computer's domain (an Active Directory join).
const GROUP_POLICY_DATA_STORE: &str =
    r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Group Policy\DataStore";
/// Where Windows keeps a Microsoft Entra join.
const CLOUD_DOMAIN_JOIN: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\CloudDomainJoin";

fn policy_key() -> String {
    r"HKLM\SOFTWARE\Policies\HandRaise".to_owned()
}

#[test]
fn windows_agent_under_wine() -> Result<()> {
    let Some(wine) = Wine::from_env() else {
        if std::env::var_os("HANDRAISE_WINE_REQUIRED").is_some() {
            bail!("HANDRAISE_WINE_BIN_DIR and HANDRAISE_WINE_PREFIX are not set");
        }
        eprintln!("skipped: no Windows build (`cargo xtask test` runs this under Wine)");
        return Ok(());
    };
    if !wine.exe.is_file() {
        bail!("{} is missing", wine.exe.display());
    }
    let mut server = Server::start()?;
    let port = server.port;
    let token = server.enroll_token("wine")?;

    // District settings: the file says one school, Group Policy another, and Group Policy
    // carries the server and the token, so `enroll` needs no flags.
    let system_dir = wine.program_data().join("HandRaise");
    std::fs::create_dir_all(&system_dir)?;
    std::fs::write(
        system_dir.join("agent.toml"),
        "school = \"File School\"\n[policy]\nallow_quit = true\nshortcut = \"Ctrl+Alt+J\"\n",
    )?;
    let key = policy_key();
    let policy = format!(r"{key}\Policy");
    let _ = run(wine.cmd().args(["reg", "delete", &key, "/f"]));
    wine.reg(&["add", &key, "/v", "server_url", "/d", &server.url, "/f"])?;
    wine.reg(&["add", &key, "/v", "enrollment_token", "/d", &token, "/f"])?;
    wine.reg(&["add", &key, "/v", "school", "/d", "Registry School", "/f"])?;
    wine.reg(&[
        "add",
        &policy,
        "/v",
        "allow_quit",
        "/t",
        "REG_DWORD",
        "/d",
        "0",
        "/f",
    ])?;
    wine.reg(&[
        "add",
        &policy,
        "/v",
        "hide_facts",
        "/t",
        "REG_MULTI_SZ",
        "/d",
        r"processes\0printers",
        "/f",
    ])?;

    let agent = WinAgent {
        wine: &wine,
        dir: tempfile::Builder::new()
            .prefix("handraise-wine-agent-")
            .tempdir()?,
    };
    let config: Value = serde_json::from_str(&agent.ok(&["config"])?)?;
    eprintln!("config under Wine: {config}");
    assert_eq!(
        config["school"], "Registry School",
        "Group Policy wins over the file"
    );
    assert_eq!(config["server_url"], server.url.as_str());
    assert_eq!(config["policy"]["allow_quit"], false);
    assert_eq!(
        config["policy"]["shortcut"], "Ctrl+Alt+J",
        "the file's other keys stay"
    );
    assert_eq!(
        config["policy"]["hide_facts"],
        serde_json::json!(["processes", "printers"])
    );

    let enrolled = agent.ok(&["enroll"])?;
    eprintln!("{}", enrolled.trim());
    // No join in the registry: a workgroup. Then an Active Directory domain (Group Policy's
    // data store) and an Entra join (`CloudDomainJoin`) set with `wine reg add`: hybrid.
    for key in [GROUP_POLICY_DATA_STORE, CLOUD_DOMAIN_JOIN] {
        let _ = run(wine.cmd().args(["reg", "delete", key, "/f"]));
    }
    let facts: Value = serde_json::from_str(&agent.ok(&["facts", "--json"])?)?;
    eprintln!(
        "facts under Wine: {} ({}), directory {}, battery {}, wifi {}",
        facts["os_version"], facts["kernel"], facts["directory"], facts["battery"], facts["wifi"]
    );
    assert!(
        facts["os_version"].is_string(),
        "the Windows version from the registry"
    );
    assert_eq!(facts["directory"], serde_json::json!({"kind": "workgroup"}));
    assert!(facts["battery"].is_null(), "Wine has no battery");
    assert!(facts["wifi"].is_null(), "Wine's netsh has no WLAN");
    let tenant = "0e0adb39-f83f-4576-9102-db1b902ca108";
    let machine_policy = format!(r"{GROUP_POLICY_DATA_STORE}\Machine\0");
    wine.reg(&[
        "add",
        &machine_policy,
        "/v",
        "DomainName",
        "/d",
        "district.local",
        "/f",
    ])?;
    let join_info =
        format!(r"{CLOUD_DOMAIN_JOIN}\JoinInfo\3F2A0C1D9E8B7A6F5E4D3C2B1A0F9E8D7C6B5A49");
    wine.reg(&["add", &join_info, "/v", "TenantId", "/d", tenant, "/f"])?;
    let tenant_info = format!(r"{CLOUD_DOMAIN_JOIN}\TenantInfo\{tenant}");
    wine.reg(&[
        "add",
        &tenant_info,
        "/v",
        "DisplayName",
        "/d",
        "Lincoln Schools",
        "/f",
    ])?;
    let facts: Value = serde_json::from_str(&agent.ok(&["facts", "--json"])?)?;
    assert_eq!(
        facts["directory"],
        serde_json::json!({
            "kind": "hybrid",
            "domain": "district.local",
            "tenant_id": tenant,
            "tenant_name": "Lincoln Schools",
        }),
        "the joins from the registry"
    );

    // Offline: the server is down, reports are kept, a sync leaves them queued (exit 3).
    server.stop()?;
    let mut reported = vec![
        agent.report("Printer offline under Wine")?,
        agent.report("Second printer under Wine")?,
    ];
    let (code, _, _) = agent.exec(&["sync"])?;
    assert_eq!(
        code, 3,
        "sync with the server down leaves the tickets queued"
    );
    server.serve(port)?;
    agent.ok(&["sync"])?;
    assert_exactly_once(&server, &reported)?;
    let status: Value = serde_json::from_str(&agent.ok(&["status", "--json"])?)?;
    eprintln!(
        "status under Wine: {} tickets",
        status.as_array().map_or(0, Vec::len)
    );

    // SIGKILL in the middle of syncs: each round queues tickets, starts a sync and kills it
    // as soon as the server holds one of this round's tickets.
    for round in 0..2 {
        let mut batch = Vec::new();
        for i in 0..8 {
            batch.push(agent.report(&format!("Killed sync {round}.{i}"))?);
        }
        let mut sync = agent.spawn(&["sync"])?;
        let first = batch[0].clone();
        wait_until(
            "the first ticket of the round on the server",
            WINE_COMMAND,
            || server.count(&first).unwrap_or(0) > 0,
        )?;
        let alive = sync.try_wait()?.is_none();
        let _ = sync.kill(); // SIGKILL
        let _ = sync.wait();
        let arrived = batch
            .iter()
            .filter(|id| server.count(id).unwrap_or(0) > 0)
            .count();
        eprintln!(
            "round {round}: SIGKILL {} the sync, {arrived} of {} tickets had arrived",
            if alive { "during" } else { "after" },
            batch.len()
        );
        reported.extend(batch);
    }
    agent.ok(&["sync"])?;
    assert_exactly_once(&server, &reported)?;
    eprintln!("{} tickets, each once on the server", reported.len());

    run(wine.cmd().args(["reg", "delete", &key, "/f"]))?;
    std::fs::remove_file(system_dir.join("agent.toml"))?;
    Ok(())
}
