//! `cargo xtask run`: a demo district server on 127.0.0.1 and a local agent enrolled against it.

use crate::{cargo, run_cmd};
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // SIGTERM first so the server drains, then make sure it is gone.
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

fn last_line(out: &[u8]) -> Result<String> {
    String::from_utf8_lossy(out)
        .lines()
        .last()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .context("command printed nothing")
}

fn output(cmd: &mut Command) -> Result<Vec<u8>> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("could not start {shown}"))?;
    if !out.status.success() {
        bail!("{shown} failed ({})", out.status);
    }
    Ok(out.stdout)
}

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let port = args
        .iter()
        .position(|a| a == "--port")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
        .unwrap_or("8080");
    crate::deps::ensure(crate::deps::BUILD_PACKAGES)?;
    crate::deps::ensure_node()?;
    run_cmd(cargo().args([
        "build",
        "-p",
        "handraise-server",
        "-p",
        "handraise-agent",
        "--bins",
    ]))?;
    crate::build_app(root)?;
    let bin = root.join("target/debug");
    let server_bin = bin.join("handraise-server");
    let agent_bin = bin.join("handraise-agent");
    let base: PathBuf = root.join("target/xtask-run");
    let server_dir = base.join("server");
    let agent_dir = base.join("agent");
    std::fs::create_dir_all(&base)?;

    run_cmd(
        Command::new(&server_bin)
            .arg("init")
            .arg("--data-dir")
            .arg(&server_dir),
    )?;
    let enroll_token = last_line(&output(
        Command::new(&server_bin)
            .args(["enroll-token", "create", "--label", "demo"])
            .arg("--data-dir")
            .arg(&server_dir),
    )?)?;
    let tech_token = last_line(&output(
        Command::new(&server_bin)
            .args(["tech-token", "create", "--name", "Demo Technician"])
            .arg("--data-dir")
            .arg(&server_dir),
    )?)?;

    // A demo sign-in for the technician console (the password is read from stdin).
    let demo_email = "demo@handraise.local";
    let demo_password = "handraise-demo-2026";
    let console_login = {
        let mut child = Command::new(&server_bin)
            .args(["user", "add", "--email", demo_email, "--role", "admin"])
            .arg("--data-dir")
            .arg(&server_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write;
            let _ = writeln!(stdin, "{demo_password}");
        }
        // A user added by an earlier run keeps its password; the marker remembers it.
        let marker = base.join("demo-login-created");
        if child.wait()?.success() {
            std::fs::write(&marker, demo_email)?;
        }
        marker.exists()
    };

    let listen = format!("127.0.0.1:{port}");
    let mut server = Command::new(&server_bin)
        .arg("serve")
        .arg("--data-dir")
        .arg(&server_dir)
        .args(["--listen", &listen])
        .stdout(Stdio::piped())
        .spawn()
        .context("could not start handraise-server")?;
    let stdout = server.stdout.take().context("no server stdout")?;
    let server = KillOnDrop(server);
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        match lines.next() {
            Some(line) => {
                let line = line?;
                if let Some(url) = line.strip_prefix("listening on ") {
                    break url.trim().to_owned();
                }
            }
            None => bail!(
                "handraise-server exited before listening (is port {port} free? try --port N)"
            ),
        }
    };
    // Keep draining the server's stdout so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});

    let enrolled = agent_dir.join("enrollment.json").exists();
    if !enrolled {
        run_cmd(
            Command::new(&agent_bin)
                .arg("enroll")
                .args(["--server", &url, "--token", &enroll_token])
                .arg("--data-dir")
                .arg(&agent_dir),
        )?;
    }

    let console = if console_login {
        format!("\n  technician console  {url}/   sign in as {demo_email} / {demo_password}")
    } else {
        String::new()
    };
    let agent = agent_bin.display();
    let server_cmd = server_bin.display();
    let adir = agent_dir.display();
    let sdir = server_dir.display();
    println!(
        "\nHandRaise is running.\n\
         \n  district server     {url}{console}\
         \n  server data         {sdir}\
         \n  enrollment token    {enroll_token}\
         \n  technician token    {tech_token}   (Demo Technician, for /api/v1/tech)\
         \n  agent data          {adir}\
         \n\nTry:\
         \n  {agent} report --data-dir {adir} --category printer --summary \"Printer in room 12 is jammed\"\
         \n  {agent} sync --data-dir {adir}\
         \n  {agent} status --data-dir {adir}\
         \n  {server_cmd} tickets list --data-dir {sdir} --json\
         \n  curl -s -H 'Authorization: Bearer {tech_token}' {url}/api/v1/tech/tickets\
         \n  curl -s -X POST -H 'Authorization: Bearer {tech_token}' -H 'Content-Type: application/json' \\\
         \n       -d '{{\"body\":\"On my way\"}}' {url}/api/v1/tech/tickets/1/reply\
         \n\nPress Ctrl-C to stop.\n"
    );

    // The tray app shares the agent's data directory and syncs it; without a display the
    // agent's own sync loop keeps the outbox flowing instead.
    let has_display =
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    let client = if has_display {
        println!("Starting the tray app: click the hand icon in the tray, or press Ctrl+Alt+H.");
        Command::new(bin.join("handraise"))
            .env("HANDRAISE_DATA_DIR", &agent_dir)
            .spawn()
            .context("could not start the tray app")?
    } else {
        println!(
            "No display here, so the tray app is not started; the agent's sync loop runs instead."
        );
        Command::new(&agent_bin)
            .arg("run")
            .arg("--data-dir")
            .arg(&agent_dir)
            .spawn()
            .context("could not start handraise-agent run")?
    };
    let _client = KillOnDrop(client);
    let mut server = server;
    let status = server.0.wait()?;
    bail!("handraise-server stopped ({status})")
}
