//! Command line: `init`, `serve`, `enroll-token create`, `tech-token create`,
//! `user add`, `user list`, `tickets list`, `backup`. Every command accepts `--data-dir` before or
//! after the subcommand, or `HANDRAISE_SERVER_DATA_DIR`.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use handraise_server::auth::{hash_secret, new_secret};
use handraise_server::store::{Role, now_utc};
use handraise_server::{AppState, Config, Store, open_data_dir};
use serde::Serialize;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "handraise-server",
    version,
    about = "HandRaise district server"
)]
pub struct Cli {
    /// Directory holding config.toml and handraise.db.
    #[arg(long, global = true, env = "HANDRAISE_SERVER_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the data directory, database and default config (idempotent).
    Init,
    /// Run the server.
    Serve {
        /// Address to listen on, overriding the config (port 0 picks one).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Manage enrollment tokens.
    #[command(subcommand)]
    EnrollToken(EnrollTokenCommand),
    /// Manage technician API tokens.
    #[command(subcommand)]
    TechToken(TechTokenCommand),
    /// Manage console users (technicians and admins).
    #[command(subcommand)]
    User(UserCommand),
    /// Inspect tickets.
    #[command(subcommand)]
    Tickets(TicketsCommand),
    /// Write a consistent copy of the database (safe while serving).
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum EnrollTokenCommand {
    /// Create an enrollment token; prints it on the last line.
    Create {
        #[arg(long)]
        label: String,
    },
}

#[derive(Debug, Subcommand)]
enum TechTokenCommand {
    /// Create (or reuse) the technician NAME and print a new token for them
    /// on the last line.
    Create {
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a console user. The password is read from the first line of
    /// standard input when it is not a terminal, otherwise prompted for
    /// (without echo). At least 12 characters.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["technician", "admin"])]
        role: String,
        /// Technician name shown on assignments (defaults to the email). An
        /// existing technician of that name (from `tech-token create`) is
        /// linked to the user.
        #[arg(long)]
        name: Option<String>,
    },
    /// List console users.
    List,
}

#[derive(Debug, Subcommand)]
enum TicketsCommand {
    /// List every ticket in every status.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
}

/// One ticket in `tickets list --json`.
#[derive(Debug, Serialize)]
struct TicketLine {
    number: i64,
    client_id: uuid::Uuid,
    device_id: uuid::Uuid,
    status: handraise_wire::TicketStatus,
    category: handraise_wire::Category,
    urgency: handraise_wire::Urgency,
    scope: handraise_wire::Scope,
    summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    assignee: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    received_at: time::OffsetDateTime,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let Some(data_dir) = cli.data_dir else {
        bail!("--data-dir (or HANDRAISE_SERVER_DATA_DIR) is required");
    };
    match cli.command {
        Command::Init => init(&data_dir),
        Command::Serve { listen } => serve(&data_dir, listen).await,
        Command::EnrollToken(EnrollTokenCommand::Create { label }) => {
            let (store, _) = open(&data_dir)?;
            let token = new_secret();
            store.create_enroll_token(&hash_secret(&token), &label, now_utc())?;
            println!("enrollment token {label:?} created; it is shown only once:");
            println!("{token}");
            Ok(())
        }
        Command::TechToken(TechTokenCommand::Create { name }) => {
            let name = name.trim();
            if name.is_empty() {
                bail!("--name must not be empty");
            }
            let (store, _) = open(&data_dir)?;
            let token = new_secret();
            let tech = store.create_tech_token(name, &hash_secret(&token), now_utc())?;
            println!(
                "token for technician {:?} (id {}) created; it is shown only once:",
                tech.name, tech.id
            );
            println!("{token}");
            Ok(())
        }
        Command::User(UserCommand::Add { email, role, name }) => {
            let role = Role::parse(&role).context("--role must be technician or admin")?;
            let password = read_password()?;
            let (store, _) = open(&data_dir)?;
            let user = handraise_server::console::new_user(&email, name.as_deref(), role, password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let user = store.create_user(&user, now_utc())?;
            println!(
                "user {} ({}, technician {:?}) created",
                user.email,
                user.role.as_str(),
                user.technician_name
            );
            Ok(())
        }
        Command::User(UserCommand::List) => {
            let (store, _) = open(&data_dir)?;
            for u in store.list_users()? {
                println!(
                    "{:<40} {:<10} {:<30} {}",
                    u.email,
                    u.role.as_str(),
                    u.technician_name,
                    if u.disabled { "disabled" } else { "active" }
                );
            }
            Ok(())
        }
        Command::Tickets(TicketsCommand::List { json }) => list_tickets(&data_dir, json),
        Command::Backup { out } => {
            let (store, _) = open(&data_dir)?;
            store
                .backup(&out)
                .with_context(|| format!("backing up to {}", out.display()))?;
            println!("backup written to {}", out.display());
            Ok(())
        }
    }
}

fn open(data_dir: &Path) -> anyhow::Result<(handraise_server::SqliteStore, bool)> {
    open_data_dir(data_dir)
        .with_context(|| format!("opening data directory {}", data_dir.display()))
}

fn init(data_dir: &Path) -> anyhow::Result<()> {
    let (store, wrote_config) = open(data_dir)?;
    println!("data directory: {}", data_dir.display());
    println!(
        "database: {} (schema version {})",
        handraise_server::database_path(data_dir).display(),
        store.schema_version()?
    );
    if wrote_config {
        println!("config: wrote {}", Config::path(data_dir).display());
    } else {
        println!("config: kept existing {}", Config::path(data_dir).display());
    }
    Ok(())
}

async fn serve(data_dir: &Path, listen: Option<String>) -> anyhow::Result<()> {
    let (store, _) = open(data_dir)?;
    let mut config = Config::load(data_dir)?;
    if let Some(listen) = listen {
        config.listen = listen;
    }
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, data_dir = %data_dir.display(), "serving");
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        writeln!(out, "console: http://{addr}/console/")?;
        out.flush()?;
    }
    let state = AppState::new(Arc::new(store), config);
    handraise_server::serve(listener, state, shutdown_signal()).await?;
    Ok(())
}

/// The new user's password: the first line of stdin when it is not a
/// terminal; otherwise a prompt on stderr with echo turned off on stdin
/// itself (never /dev/tty).
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_owned());
    }
    let first = prompt("Password (at least 12 characters): ")?;
    let again = prompt("Repeat the password: ")?;
    if first != again {
        bail!("the passwords differ");
    }
    Ok(first)
}

fn prompt(text: &str) -> anyhow::Result<String> {
    eprint!("{text}");
    std::io::stderr().flush()?;
    #[cfg(unix)]
    let saved = {
        use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
        let fd = rustix::stdio::stdin();
        let saved = tcgetattr(fd).ok();
        if let Some(t) = &saved {
            let mut quiet = t.clone();
            quiet.local_modes.remove(LocalModes::ECHO);
            let _ = tcsetattr(fd, OptionalActions::Now, &quiet);
        }
        saved
    };
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    #[cfg(unix)]
    if let Some(t) = saved {
        let _ = rustix::termios::tcsetattr(
            rustix::stdio::stdin(),
            rustix::termios::OptionalActions::Now,
            &t,
        );
    }
    eprintln!();
    read?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

fn list_tickets(data_dir: &Path, json: bool) -> anyhow::Result<()> {
    let (store, _) = open(data_dir)?;
    let mut tickets = store.list_tickets(None)?;
    tickets.sort_by_key(|d| d.ticket.number);
    let lines: Vec<TicketLine> = tickets
        .into_iter()
        .map(|d| TicketLine {
            number: d.ticket.number,
            client_id: d.ticket.client_id,
            device_id: d.ticket.device_id,
            status: d.ticket.status,
            category: d.ticket.category,
            urgency: d.ticket.urgency,
            scope: d.ticket.scope,
            summary: d.ticket.summary,
            assignee: d.ticket.assignee,
            created_at: d.ticket.created_at,
            received_at: d.ticket.received_at,
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &lines)?;
        writeln!(out)?;
    } else {
        for t in &lines {
            writeln!(
                out,
                "#{:<6} {:<18} {:<9} {:<8} {}",
                t.number,
                t.status.as_str(),
                t.category.as_str(),
                t.urgency.as_str(),
                t.summary
            )?;
        }
        writeln!(out, "{} ticket(s)", lines.len())?;
    }
    out.flush()?;
    Ok(())
}
