//! `cargo xtask run`: a demo district server on 127.0.0.1 and a local agent enrolled against it.

use anyhow::{Context, Result, bail};
use handraise_testkit::{Agent, Guard, Launch};
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let port = args
        .iter()
        .position(|a| a == "--port")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
        .unwrap_or("8080");
    crate::deps::ensure(crate::deps::BUILD_PACKAGES)?;
    crate::deps::ensure_node()?;
    crate::build_server_and_agent(false)?;
    let bin = root.join("target/debug");
    crate::build_report(root, &bin)?;
    crate::build_app(root)?;
    let server_bin = bin.join("handraise-server");
    let agent_bin = bin.join("handraise-agent");
    let base: PathBuf = root.join("target/xtask-run");
    let server_dir = base.join("server");
    let agent_dir = base.join("agent");
    std::fs::create_dir_all(&base)?;

    let port: u16 = port.parse().context("--port N")?;
    // The demo shows the server's log as it comes (its own default unless RUST_LOG says).
    let log = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    let mut server = Launch::new(&server_bin)
        .data_dir(&server_dir)
        .port(port)
        .env("RUST_LOG", &log)
        .start()
        .context("try another port with --port N")?;
    eprint!("{}", server.init_output);
    let url = server.url.clone();
    let enroll_token = server.enroll_token("demo")?;
    let tech_token = server.tech_token("Demo Technician")?;

    // A demo sign-in for the technician console (the password is read from stdin). A user
    // added by an earlier run keeps its password; the marker remembers it.
    let demo_email = "demo@handraise.local";
    let demo_password = "handraise-demo-2026";
    let marker = base.join("demo-login-created");
    let added = server.cli_with_input(
        &["user", "add", "--email", demo_email, "--role", "admin"],
        demo_password,
    );
    if added.is_ok() {
        std::fs::write(&marker, demo_email)?;
    }
    let console_login = marker.exists();

    let agent = Agent::at(&agent_bin, &agent_dir);
    if !agent.enrolled() {
        agent.enroll(&url, &enroll_token)?;
    }

    let console = if console_login {
        format!(
            "\n  technician console  {url}/   sign in as {demo_email} / {demo_password}\
             \n  web report page     {url}/report/   (needs [oidc] in the server's config.toml)"
        )
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
    let _client = Guard(client);
    let status = server.wait()?;
    bail!("handraise-server stopped ({status})")
}
