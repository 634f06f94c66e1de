//! Command line: `init`, `serve`, `enroll-token create|list|revoke`,
//! `devices list|allow-reenroll|reenrollments` (in `enroll`),
//! `tech-token create|list|revoke`, `user add`, `user list`, `tickets list`,
//! `kb list|export|import`, `purge`, `backup`, `restore`, `migrate`, `desk add|list|test|enable|disable|default|route|retry|skip` (in `desk`). Every command accepts `--data-dir` before or
//! after the subcommand, or `HANDRAISE_SERVER_DATA_DIR`, and `--database`
//! (else the configuration's `database_url`); `open` is how each opens its
//! store.

mod desk;
mod doctor;
mod enroll;
mod kb;
mod migrate;
mod ops;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use enroll::{DevicesCommand, EnrollTokenCommand};
use handraise_server::config::{ConfigWrite, DatabaseUrl, Location};
use handraise_server::service::accounts::{self, UserInput};
use handraise_server::service::enrollment;
use handraise_server::service::leases::Leases;
use handraise_server::store::{
    AccountStore, Backend, LeaseStore, Role, TicketDetail, TicketFilter, TicketOrder, TicketQuery,
    now_utc,
};
use handraise_server::transport::{self, Tls};
use handraise_server::{AppState, Store, init_data_dir, open_database, open_location};
use kb::{KbCommand, kb_export, kb_import, kb_list};
use serde::Serialize;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "handraise-server",
    version,
    about = "HandRaise district server"
)]
pub struct Cli {
    /// Directory holding handraise.db (and config.toml, unless --config
    /// names another file).
    #[arg(long, global = true, env = "HANDRAISE_SERVER_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The configuration file (such as /etc/handraise/server.toml); its
    /// `data_dir` key names the data directory when --data-dir is not given.
    /// Default: DATA_DIR/config.toml.
    #[arg(long, global = true, env = "HANDRAISE_SERVER_CONFIG")]
    config: Option<PathBuf>,
    /// The database: `sqlite` (DATA_DIR/handraise.db) or
    /// postgres://USER:PASSWORD@HOST/DATABASE; wins over `database_url` in
    /// the configuration (which `init --database` writes).
    #[arg(long, global = true, value_name = "URL")]
    database: Option<String>,
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
    /// Devices: list them, allow a revoked computer to enroll again, list re-enrollments.
    #[command(subcommand)]
    Devices(DevicesCommand),
    /// Manage technician API tokens.
    #[command(subcommand)]
    TechToken(TechTokenCommand),
    /// Manage console users (technicians and admins).
    #[command(subcommand)]
    User(UserCommand),
    /// Inspect tickets.
    #[command(subcommand)]
    Tickets(TicketsCommand),
    /// Help desks that new tickets are forwarded to (Request Tracker).
    #[command(subcommand)]
    Desk(desk::DeskCommand),
    /// Write a consistent copy of the database (safe while serving): a
    /// SQLite file, or on PostgreSQL a `pg_dump --format=custom` file.
    Backup {
        /// The file to write. Default: a new file named by the time in the
        /// configuration's `backup_dir`.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check this server: configuration, database, disk, TLS certificate,
    /// the listen address, backups and devices' clocks; one line each. Exits
    /// non-zero only when a check fails.
    Doctor(JsonFlag),
    /// Restore a backup into a new or empty data directory (never over a
    /// database), or a PostgreSQL dump into an empty PostgreSQL database
    /// (`--database`); agents then send again what the backup lacks.
    Restore {
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
    /// The knowledge base as documents (Markdown with front matter).
    #[command(subcommand)]
    Kb(KbCommand),
    /// Move a district's data from a SQLite data directory to an empty
    /// PostgreSQL database (every table, ids and the feed's cursors kept, in
    /// one transaction); prints the row counts of both sides.
    Migrate {
        /// sqlite:DIR, the data directory to move.
        #[arg(long, value_name = "sqlite:DIR")]
        from: String,
        /// postgres://USER:PASSWORD@HOST/DATABASE, an empty database.
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Apply the data-retention policy: resolved and closed tickets older
    /// than the policy lose their screenshots and device snapshots (the
    /// ticket text and history stay). `serve` does this daily.
    Purge {
        /// Apply the policy as of this RFC 3339 time instead of now.
        #[arg(long, value_name = "TIME")]
        as_of: Option<String>,
        /// Print a JSON report.
        #[arg(long)]
        json: bool,
    },
}

/// `purge --json`.
#[derive(Debug, Serialize)]
struct PurgeLine {
    retention_days: u32,
    #[serde(with = "time::serde::rfc3339")]
    as_of: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    closed_before: time::OffsetDateTime,
    tickets: Vec<i64>,
    screenshots: u64,
    screenshot_bytes: u64,
    snapshots: u64,
}

/// `--json` of a token list.
#[derive(Debug, Args)]
struct JsonFlag {
    /// Print a JSON array.
    #[arg(long)]
    json: bool,
}

/// `--id N` of a token to revoke.
#[derive(Debug, Args)]
struct TokenId {
    #[arg(long)]
    id: i64,
}

#[derive(Debug, Subcommand)]
enum TechTokenCommand {
    /// Create an API token for the console user EMAIL (it carries their role
    /// and stops working when they are disabled); prints it on the last line.
    /// `--name NAME` instead (for scripts) makes the token for a
    /// technician-role user NAME without a password, created if missing,
    /// who cannot sign in to the console.
    Create {
        #[arg(long, required_unless_present = "name", conflicts_with = "name")]
        email: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// Days until the token expires.
        #[arg(long, default_value_t = enrollment::DEFAULT_TECH_TOKEN_DAYS)]
        expires_days: u32,
    },
    /// List API tokens (id, user email, created, last used, expires, revoked);
    /// never the tokens themselves.
    List(JsonFlag),
    /// Revoke the API token with this id: its next request answers 401.
    Revoke(TokenId),
}

/// One token in `tech-token list --json`.
#[derive(Debug, Serialize)]
struct TechTokenLine {
    id: i64,
    user_email: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    last_used_at: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    expires_at: Option<time::OffsetDateTime>,
    revoked: bool,
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
        /// existing technician of that name (from `tech-token create --name`)
        /// becomes this user, with its tokens.
        #[arg(long)]
        name: Option<String>,
    },
    /// List console users.
    List,
    /// Release a console user from the OpenID Connect account it is linked
    /// to (its email now belongs to another account at the provider).
    Unlink {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
enum TicketsCommand {
    /// List tickets in every status, newest first, a page at a time.
    List {
        /// Print a JSON array: every ticket, oldest first (read a page at a
        /// time), or only the page given with `--page`.
        #[arg(long)]
        json: bool,
        /// Tickets per page (1 to 200).
        #[arg(long, default_value_t = handraise_server::service::tickets::PAGE_SIZE)]
        limit: usize,
        /// Which page, from 1.
        #[arg(long)]
        page: Option<usize>,
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

/// A server time as RFC 3339 text.
fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Cli {
    /// The `log_format` of the data directory's configuration (text when it
    /// cannot be read: the command then says why).
    pub fn log_format(&self) -> handraise_server::config::LogFormat {
        Location::resolve(self.data_dir.clone(), self.config.clone())
            .and_then(|l| l.config())
            .map(|c| c.log_format)
            .unwrap_or_default()
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Migrate { from, to } = &cli.command {
        // Its own source and target: no data directory of its own.
        return migrate::migrate(from, to);
    }
    // Parsed here rather than by clap, whose error would repeat the password.
    let database = cli
        .database
        .as_deref()
        .map(str::parse::<DatabaseUrl>)
        .transpose()
        .context("--database")?;
    let location = Location::resolve(cli.data_dir, cli.config)?.with_database(database);
    let at = &location;
    match cli.command {
        Command::Init => init(at),
        Command::Serve { listen } => serve(at, listen).await,
        Command::EnrollToken(cmd) => enroll::enroll_token(at, cmd),
        Command::Devices(cmd) => enroll::devices(at, cmd),
        Command::TechToken(TechTokenCommand::Create {
            email,
            name,
            expires_days,
        }) => {
            let store = open(at)?;
            let owner = match (&email, &name) {
                (Some(email), _) => enrollment::TokenOwner::Email(email),
                (None, Some(name)) => enrollment::TokenOwner::Name(name),
                (None, None) => bail!("give --email (or --name for a script's technician)"),
            };
            let created =
                enrollment::create_tech_token(&store, owner, Some(expires_days), now_utc())
                    .map_err(|e| match e {
                        handraise_server::AppError::NotFound => {
                            anyhow::anyhow!(
                                "no console user with the email {:?}",
                                email.unwrap_or_default()
                            )
                        }
                        e => e.into(),
                    })?;
            let made = &created.of;
            println!(
                "token {} for {:?} ({}, technician {:?}) expires {}; it is shown only once:",
                made.id,
                made.user.email,
                made.user.role.as_str(),
                made.user.technician_name,
                rfc3339(made.expires_at)
            );
            println!("{}", created.token);
            Ok(())
        }
        Command::TechToken(TechTokenCommand::List(JsonFlag { json })) => {
            let store = open(at)?;
            let tokens = enrollment::list_tech_tokens(&store, None)?;
            if json {
                let rows: Vec<TechTokenLine> = tokens
                    .into_iter()
                    .map(|t| TechTokenLine {
                        id: t.id,
                        user_email: t.user_email,
                        created_at: t.created_at,
                        last_used_at: t.last_used_at,
                        expires_at: t.expires_at,
                        revoked: t.revoked,
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                let now = now_utc();
                for t in &tokens {
                    let state = if t.revoked {
                        "revoked"
                    } else if t.expires_at.is_some_and(|e| e <= now) {
                        "expired"
                    } else {
                        "active"
                    };
                    let expires = t.expires_at.map(rfc3339).unwrap_or_else(|| "never".into());
                    println!(
                        "{:>4}  {:<8} {}  expires {expires}",
                        t.id, state, t.user_email
                    );
                }
            }
            Ok(())
        }
        Command::TechToken(TechTokenCommand::Revoke(TokenId { id })) => {
            let store = open(at)?;
            enrollment::revoke_tech_token(&store, None, id, now_utc())
                .with_context(|| format!("no technician API token with id {id}"))?;
            println!("technician API token {id} revoked");
            Ok(())
        }
        Command::User(UserCommand::Add { email, role, name }) => {
            let role = Role::parse(&role).context("--role must be technician or admin")?;
            let password = read_password()?;
            let store = open(at)?;
            let input = UserInput {
                email: &email,
                name: name.as_deref(),
                role,
                password: &password,
            };
            let user = accounts::create_user(&store, &input, now_utc())?;
            println!(
                "user {} ({}, technician {:?}) created",
                user.email,
                user.role.as_str(),
                user.technician_name
            );
            Ok(())
        }
        Command::User(UserCommand::List) => {
            let store = open(at)?;
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
        Command::User(UserCommand::Unlink { email }) => {
            let user = handraise_server::service::oidc::unlink(&open(at)?, &email)?;
            println!(
                "user {} unlinked: its next sign-in links it again",
                user.email
            );
            Ok(())
        }
        Command::Tickets(TicketsCommand::List { json, limit, page }) => {
            list_tickets(at, json, limit, page)
        }
        Command::Desk(command) => desk::run(at, command).await,
        Command::Kb(KbCommand::List { json }) => kb_list(at, json),
        Command::Kb(KbCommand::Export { out }) => kb_export(at, &out),
        Command::Kb(KbCommand::Import { folder }) => kb_import(at, &folder),
        Command::Purge { as_of, json } => purge(at, as_of.as_deref(), json),
        Command::Backup { out } => ops::backup(at, out.as_deref()),
        Command::Restore { from } => ops::restore(at, &from),
        Command::Migrate { from, to } => migrate::migrate(&from, &to),
        Command::Doctor(JsonFlag { json }) => {
            if doctor::doctor(&location, json).await? {
                Ok(())
            } else {
                bail!("a check failed")
            }
        }
    }
}

/// The store of the command's data directory and database.
fn open(location: &Location) -> anyhow::Result<handraise_server::SqlStore> {
    open_location(location).with_context(|| format!("opening {}", describe(location)))
}

/// The data directory and, when it is not SQLite's file there, the database
/// (its password masked).
fn describe(location: &Location) -> String {
    let dir = location.data_dir.display();
    match location.config().map(|c| c.database_url) {
        Ok(DatabaseUrl::Sqlite) | Err(_) => format!("data directory {dir}"),
        Ok(database) => format!("database {database} (data directory {dir})"),
    }
}

fn init(location: &Location) -> anyhow::Result<()> {
    let data_dir = &location.data_dir;
    let (store, wrote_config) =
        init_data_dir(location).with_context(|| format!("preparing {}", describe(location)))?;
    println!("data directory: {}", data_dir.display());
    let database = match location.config()?.database_url {
        DatabaseUrl::Sqlite => handraise_server::database_path(data_dir)
            .display()
            .to_string(),
        database => database.to_string(),
    };
    println!(
        "database: {database} (schema version {})",
        store.schema_version()?
    );
    let config_file = location.config_file.display();
    match wrote_config {
        ConfigWrite::Wrote => println!("config: wrote {config_file}"),
        ConfigWrite::Kept => println!("config: kept existing {config_file}"),
        ConfigWrite::AddedDatabase => {
            println!("config: added database_url to {config_file} (nothing else changed)")
        }
    }
    let added = handraise_server::service::load_default_articles(&store, now_utc())?;
    println!(
        "knowledge base: {} shipped article(s) added, {} already present (never overwritten)",
        added.len(),
        handraise_server::kb::DEFAULT_FILES.len() - added.len()
    );
    Ok(())
}

fn purge(location: &Location, as_of: Option<&str>, json: bool) -> anyhow::Result<()> {
    let now = match as_of {
        Some(t) => time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .with_context(|| format!("--as-of {t:?} is not an RFC 3339 time"))?,
        None => now_utc(),
    };
    let store = open(location)?;
    let (days, report) = handraise_server::service::purge(&store, now)?;
    let closed_before = now - time::Duration::days(i64::from(days));
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(
            &mut out,
            &PurgeLine {
                retention_days: days,
                as_of: now,
                closed_before,
                tickets: report.tickets,
                screenshots: report.screenshots,
                screenshot_bytes: report.screenshot_bytes,
                snapshots: report.snapshots,
            },
        )?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "retention: {days} days; tickets resolved or closed before {closed_before} lose their \
             screenshots and device snapshots"
        )?;
        writeln!(
            out,
            "removed {} screenshot(s) ({} bytes) and {} snapshot(s) from {} ticket(s){}",
            report.screenshots,
            report.screenshot_bytes,
            report.snapshots,
            report.tickets.len(),
            if report.tickets.is_empty() {
                String::new()
            } else {
                format!(
                    ": {}",
                    report
                        .tickets
                        .iter()
                        .map(|n| format!("#{n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )?;
    }
    out.flush()?;
    Ok(())
}

/// Applies the retention policy once a day across the server nodes (on the
/// node that takes the day's turn; with one node, at its start and daily).
fn spawn_daily_purge(leases: &Leases, store: Arc<dyn Store>) {
    let day = std::time::Duration::from_secs(24 * 60 * 60);
    leases.spawn_periodic("retention", day, move || {
        let store = Arc::clone(&store);
        async move {
            let result = tokio::task::spawn_blocking(move || {
                handraise_server::service::purge(store.as_ref(), now_utc())
            })
            .await;
            match result {
                Ok(Ok((days, report))) => tracing::info!(
                    retention_days = days,
                    tickets = report.tickets.len(),
                    screenshots = report.screenshots,
                    snapshots = report.snapshots,
                    "retention policy applied"
                ),
                Ok(Err(e)) => tracing::error!(error = %e, "retention purge failed"),
                Err(e) => tracing::error!(error = %e, "retention purge task failed"),
            }
        }
    });
}

/// Starts the background jobs, each on the one server node holding its lease:
/// retention, scheduled backups, forwarding (with the desks' mailboxes) and
/// webhooks. `feed` wakes the long-polls of a device whose feed a reply read
/// back from a desk changed.
fn spawn_background_jobs(leases: &Leases, state: &AppState) {
    let store = Arc::clone(state.store());
    spawn_daily_purge(leases, Arc::clone(&store));
    ops::spawn_scheduled_backups(leases, Arc::clone(&store), state.config());
    let (forwarding, feed) = (Arc::clone(&store), state.feed_handle());
    leases.spawn_worker("forwarding", move || {
        let feed = Arc::clone(&feed);
        handraise_server::service::forward::run_worker(Arc::clone(&forwarding), move |device| {
            feed.notify(device)
        })
    });
    leases.spawn_worker("webhooks", move || {
        handraise_server::service::hooks::run_worker(Arc::clone(&store))
    });
}

async fn serve(location: &Location, listen: Option<String>) -> anyhow::Result<()> {
    let data_dir = &location.data_dir;
    let mut config = location.config()?;
    let store = open_database(data_dir, &config.database_url)
        .with_context(|| format!("opening {}", describe(location)))?;
    if let Some(listen) = listen {
        config.listen = listen;
    }
    transport::raise_open_file_limit();
    let listener = transport::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let tls = match config.tls_files(data_dir)? {
        Some((cert, key)) => {
            let tls = Tls::load(&cert, &key)?;
            transport::reload_on_sighup(Arc::clone(&tls));
            Some(tls)
        }
        None => None,
    };
    if let Some(oidc) = &mut config.oidc {
        // Checked now; the provider itself is asked at the first sign-in.
        oidc.check()?;
        oidc.client_secret_file = data_dir.join(&oidc.client_secret_file);
        handraise_server::secret::read_secret_file(&oidc.client_secret_file)?;
    }
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, scheme, data_dir = %data_dir.display(), database = %config.database_url, "serving");
    if store.backend() == Backend::Sqlite {
        // One process serves a SQLite database: nothing a previous (killed)
        // process held is held any more. On PostgreSQL other nodes may hold
        // leases; a killed node's pass to another after their TTL.
        store.clear_leases()?;
    }
    let store: Arc<dyn Store> = Arc::new(store);
    let metrics_listen = config.metrics_listen.clone();
    let cluster_url = config.database_url.postgres_url().map(str::to_owned);
    let state = AppState::new(store, config);
    // Several nodes share a PostgreSQL database: a change written through
    // another node wakes the long-polls held here, and ours wake theirs.
    // Kept until the server stops.
    let _cluster = match &cluster_url {
        Some(url) => Some(state.start_cluster_notifier(url)?),
        None => None,
    };
    if let Some(listen) = metrics_listen {
        // Printed before `listening on`, which says the server is ready.
        spawn_metrics_listener(&listen, state.clone()).await?;
    }
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {scheme}://{addr}")?;
        writeln!(out, "console: {scheme}://{addr}/console/")?;
        out.flush()?;
    }
    let leases = Leases::new(Arc::clone(state.store()));
    spawn_background_jobs(&leases, &state);
    handraise_server::serve_with(listener, state, tls, shutdown_signal()).await?;
    leases.release_all().await;
    Ok(())
}

/// Serves `/metrics` alone on `listen` (the monitoring network's address)
/// until the process ends.
async fn spawn_metrics_listener(listen: &str, state: AppState) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen for metrics on {listen}"))?;
    let addr = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "metrics: http://{addr}/metrics")?;
        out.flush()?;
    }
    let app = handraise_server::metrics_router(state);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
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
    let first = prompt(&format!(
        "Password (at least {} characters): ",
        accounts::MIN_PASSWORD_CHARS
    ))?;
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

/// The tickets `tickets list` prints: page `page` of `limit`, newest first;
/// without a page (for `--json`), every ticket oldest first, read
/// `MAX_PAGE_SIZE` at a time so no read holds the store for long.
fn tickets_to_list(
    store: &dyn Store,
    limit: usize,
    page: Option<usize>,
) -> anyhow::Result<Vec<TicketDetail>> {
    use handraise_server::service::tickets::{MAX_PAGE_SIZE, page_size};
    let query = |before, offset, limit| TicketQuery {
        filter: TicketFilter::default(),
        order: TicketOrder::Newest,
        before,
        offset,
        limit,
    };
    if let Some(page) = page {
        let limit = page_size(Some(limit))?;
        let offset = page.max(1).saturating_sub(1).saturating_mul(limit);
        return Ok(store.ticket_page(&query(None, offset, limit))?);
    }
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let batch = store.ticket_page(&query(before, 0, MAX_PAGE_SIZE))?;
        let Some(last) = batch.last() else { break };
        before = Some(last.ticket.number);
        all.extend(batch);
    }
    all.reverse();
    Ok(all)
}

fn list_tickets(
    location: &Location,
    json: bool,
    limit: usize,
    page: Option<usize>,
) -> anyhow::Result<()> {
    let store = open(location)?;
    let page = if json { page } else { Some(page.unwrap_or(1)) };
    let tickets = tickets_to_list(&store, limit, page)?;
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
        let page = page.unwrap_or(1).max(1);
        if lines.len() < limit && page == 1 {
            writeln!(out, "{} ticket(s)", lines.len())?;
        } else {
            writeln!(
                out,
                "page {page}: {} ticket(s), newest first; --page {} for older ones",
                lines.len(),
                page + 1
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests;
