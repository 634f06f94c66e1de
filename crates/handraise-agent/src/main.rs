//! `handraise-agent`: the agent core on the command line.
//!
//! Results go to stdout, logs to stderr and `DATA_DIR/logs/agent.log`.
//! Exit codes: 0 success; 1 failure; 2 invalid input; 3 `sync` left items
//! queued (server unreachable or busy); 4 not enrolled or paused (device
//! refused: re-enroll); 5 another process holds the sync lock.

use anyhow::Context;
use clap::{Parser, Subcommand};
use handraise_agent::{
    Agent, AgentError, Config, ConfigLayer, ItemState, ReportInput, Screenshot, Secret, SyncError,
    TicketView,
};
use handraise_wire::{Category, Scope, Urgency};
use std::path::PathBuf;
use std::process::ExitCode;
use uuid::Uuid;

const EXIT_FAILURE: u8 = 1;
const EXIT_INVALID: u8 = 2;
const EXIT_QUEUED: u8 = 3;
const EXIT_NEEDS_ENROLL: u8 = 4;
const EXIT_LOCKED: u8 = 5;

#[derive(Parser, Debug)]
#[command(
    name = "handraise-agent",
    version,
    about = "HandRaise agent: report IT problems, offline first"
)]
struct Cli {
    /// Data directory (outbox, cache, credentials, logs). Env: HANDRAISE_DATA_DIR.
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Enroll this computer with the district server.
    Enroll {
        /// Server URL (default: server_url from the configuration).
        #[arg(long, value_name = "URL")]
        server: Option<String>,
        /// Enrollment token (default: enrollment_token from the configuration).
        #[arg(long, value_name = "TOKEN")]
        token: Option<String>,
        #[arg(long)]
        school: Option<String>,
        #[arg(long)]
        building: Option<String>,
    },
    /// Save a ticket on this computer (never uses the network); prints its id.
    Report {
        /// display, sound, printer, wifi, sign-in, app, computer, other
        #[arg(long, value_name = "C")]
        category: Category,
        /// What is wrong, 1–200 characters.
        #[arg(long, value_name = "TEXT")]
        summary: String,
        #[arg(long, value_name = "TEXT")]
        details: Option<String>,
        /// now, soon, whenever
        #[arg(long, value_name = "U")]
        urgency: Option<Urgency>,
        /// me, room, building, district
        #[arg(long, value_name = "S")]
        scope: Option<Scope>,
        #[arg(long, value_name = "R")]
        room: Option<String>,
        /// Attach a PNG or JPEG screenshot.
        #[arg(long, value_name = "FILE")]
        screenshot: Option<PathBuf>,
    },
    /// Queue a message on one of this computer's tickets; prints its id.
    Message {
        #[arg(long, value_name = "CLIENT_ID")]
        ticket: Uuid,
        #[arg(long, value_name = "TEXT")]
        body: String,
    },
    /// One sync pass: send everything queued, fetch updates, refresh the cache.
    Sync,
    /// The tickets of this computer.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// A fresh device snapshot.
    Facts {
        #[arg(long)]
        json: bool,
    },
    /// Run the sync scheduler until Ctrl-C or SIGTERM.
    Run,
    /// The configuration in effect, as JSON: settings and the district policy from every
    /// source (files, Group Policy, preferences), the enrollment token not shown.
    Config,
    /// The offline knowledge base.
    Kb {
        #[command(subcommand)]
        command: KbCommand,
    },
}

#[derive(Subcommand, Debug)]
enum KbCommand {
    /// Search the cached articles.
    Search {
        text: String,
        #[arg(long, value_name = "C")]
        category: Option<Category>,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("handraise-agent: cannot start: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = match e.downcast_ref::<AgentError>() {
                Some(AgentError::Invalid(_) | AgentError::EnrollRefused(_)) => EXIT_INVALID,
                Some(AgentError::Sync(SyncError::LockBusy)) => EXIT_LOCKED,
                Some(AgentError::Sync(SyncError::NotEnrolled)) => EXIT_NEEDS_ENROLL,
                _ => EXIT_FAILURE,
            };
            eprintln!("handraise-agent: {e:#}");
            ExitCode::from(code)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    let flags = ConfigLayer {
        data_dir: cli.data_dir.clone(),
        ..Default::default()
    };
    // Loaded once to find the log directory, then again with logging on so
    // configuration warnings are recorded.
    let pre = Config::load(flags.clone()).context("configuration")?;
    handraise_agent::private::create_dir(&pre.data_dir)
        .with_context(|| format!("cannot create data directory {}", pre.data_dir.display()))?;
    if let Some(problem) = handraise_agent::logging::init(&pre.data_dir) {
        tracing::warn!("{problem}");
    }
    let config = Config::load(flags).context("configuration")?;
    let agent = Agent::open(config).map_err(anyhow::Error::new)?;
    if let Some(aside) = agent.recovered_database() {
        eprintln!(
            "handraise-agent: the local database was damaged; it was moved to {} and a fresh one created",
            aside.display()
        );
    }

    match cli.command {
        Command::Enroll {
            server,
            token,
            school,
            building,
        } => {
            let c = agent.config();
            let server = server
                .or_else(|| c.server_url.clone())
                .ok_or_else(|| AgentError::Invalid("--server URL is required".into()))?;
            let token = token
                .map(Secret::new)
                .or_else(|| c.enrollment_token.clone())
                .ok_or_else(|| AgentError::Invalid("--token TOKEN is required".into()))?;
            let school = school.or_else(|| c.school.clone());
            let building = building.or_else(|| c.building.clone());
            let e = agent
                .enroll(&server, token.expose(), school, building)
                .await?;
            println!("enrolled with {} as device {}", e.server_url, e.device_id);
            Ok(0)
        }
        Command::Report {
            category,
            summary,
            details,
            urgency,
            scope,
            room,
            screenshot,
        } => {
            let mut input = ReportInput::new(category, summary);
            input.details = details;
            input.urgency = urgency;
            input.scope = scope;
            input.room = room;
            if let Some(path) = screenshot {
                let bytes = std::fs::read(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let content_type = if bytes.starts_with(b"\x89PNG") {
                    "image/png"
                } else {
                    "image/jpeg"
                };
                input.screenshot = Some(Screenshot {
                    bytes,
                    content_type: content_type.into(),
                });
            }
            let id = agent.report(input).await?;
            println!("saved on this computer; it will be sent when the help desk can be reached");
            println!("{id}");
            Ok(0)
        }
        Command::Message { ticket, body } => {
            let id = agent.send_message(ticket, &body).await?;
            println!("{id}");
            Ok(0)
        }
        Command::Sync => sync(&agent).await,
        Command::Status { json } => {
            let tickets = agent.tickets().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tickets)?);
            } else {
                print_table(&tickets);
                let st = agent.status().await?;
                if let Some(p) = st.paused {
                    println!("\nPaused: {p}.");
                }
            }
            Ok(0)
        }
        Command::Facts { json } => {
            let snap = agent.facts().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&snap)?);
            } else {
                let value = serde_json::to_value(&snap)?;
                if let Some(obj) = value.as_object() {
                    for (k, v) in obj {
                        println!("{k:>20}: {v}");
                    }
                }
            }
            Ok(0)
        }
        Command::Config => {
            let c = agent.config();
            let shown = serde_json::json!({
                "server_url": c.server_url,
                "enrollment_token_set": c.enrollment_token.is_some(),
                "school": c.school,
                "building": c.building,
                "data_dir": c.data_dir,
                "sync_interval_secs": c.sync_interval_secs,
                "policy": c.policy,
            });
            println!("{}", serde_json::to_string_pretty(&shown)?);
            Ok(0)
        }
        Command::Run => {
            let shutdown = async {
                #[cfg(unix)]
                {
                    use tokio::signal::unix::{SignalKind, signal};
                    match signal(SignalKind::terminate()) {
                        Ok(mut term) => {
                            tokio::select! {
                                _ = tokio::signal::ctrl_c() => {}
                                _ = term.recv() => {}
                            }
                        }
                        Err(_) => {
                            let _ = tokio::signal::ctrl_c().await;
                        }
                    }
                }
                #[cfg(not(unix))]
                {
                    let _ = tokio::signal::ctrl_c().await;
                }
            };
            tracing::info!(data_dir = %agent.data_dir().display(), "sync scheduler running");
            agent.run_sync_loop(shutdown).await?;
            tracing::info!("sync scheduler stopped");
            Ok(0)
        }
        Command::Kb {
            command:
                KbCommand::Search {
                    text,
                    category,
                    limit,
                    json,
                },
        } => {
            let hits = agent.search_kb(&text, category, limit).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&hits)?);
            } else if hits.is_empty() {
                println!("no matching articles");
            } else {
                for h in hits {
                    println!(
                        "{}  {}\n    {}",
                        h.slug,
                        h.title,
                        h.snippet.replace('\n', " ")
                    );
                }
            }
            Ok(0)
        }
    }
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

async fn sync(agent: &Agent) -> anyhow::Result<u8> {
    let report = agent.sync_once().await?;
    for r in &report.rejected {
        eprintln!(
            "handraise-agent: {} {} was not accepted: {}",
            r.kind, r.client_id, r.reason
        );
    }
    if report.not_enrolled {
        let reason = match &report.failure {
            Some(e) => format!("not enrolled: {e}"),
            None => SyncError::NotEnrolled.to_string(),
        };
        eprintln!("handraise-agent: {reason}");
        return Ok(EXIT_NEEDS_ENROLL);
    }
    let q = report.remaining;
    let mut left = Vec::new();
    if q.tickets > 0 {
        left.push(plural(q.tickets, "ticket"));
    }
    if q.messages > 0 {
        left.push(plural(q.messages, "message"));
    }
    if q.screenshots > 0 {
        left.push(plural(q.screenshots, "screenshot"));
    }
    let left = if left.is_empty() {
        "nothing".to_owned()
    } else {
        left.join(", ")
    };
    if let Some(p) = &report.paused {
        eprintln!(
            "handraise-agent: {left} still queued: paused — {p} (run `handraise-agent enroll` again)"
        );
        return Ok(EXIT_NEEDS_ENROLL);
    }
    if q.total() > 0 {
        let why = match &report.failure {
            Some(e) => e.to_string(),
            None => "not sent yet".to_owned(),
        };
        eprintln!("handraise-agent: {left} still queued: {why}");
        return Ok(EXIT_QUEUED);
    }
    println!(
        "sent {}, {}, {}; {} applied",
        plural(report.sent_tickets.len(), "ticket"),
        plural(report.sent_messages, "message"),
        plural(report.sent_screenshots, "screenshot"),
        plural(report.updates_applied, "update"),
    );
    if let Some(e) = &report.failure {
        // Everything was sent, but a refresh failed: not fatal.
        eprintln!("handraise-agent: warning: {e}");
    }
    Ok(0)
}

fn state_text(t: &TicketView) -> String {
    match t.state {
        ItemState::Queued => "saved, not sent yet".into(),
        ItemState::Rejected => format!(
            "not accepted: {}",
            t.reject_reason.as_deref().unwrap_or("no reason given")
        ),
        _ => match (t.number, t.status) {
            (Some(n), Some(s)) => format!("#{n} {}", s.label()),
            (Some(n), None) => format!("#{n} received"),
            _ => "sent".into(),
        },
    }
}

fn print_table(tickets: &[TicketView]) {
    if tickets.is_empty() {
        println!("No tickets on this computer.");
        return;
    }
    println!(
        "{:<36}  {:<16}  {:<10}  {:<30}  SUMMARY",
        "CLIENT ID", "CREATED", "CATEGORY", "STATE"
    );
    for t in tickets {
        let created = format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            t.created_at.year(),
            u8::from(t.created_at.month()),
            t.created_at.day(),
            t.created_at.hour(),
            t.created_at.minute()
        );
        let mut summary: String = t.summary.chars().take(50).collect();
        if t.unread {
            summary.push_str("  (new)");
        }
        let state: String = state_text(t).chars().take(30).collect();
        println!(
            "{:<36}  {:<16}  {:<10}  {:<30}  {}",
            t.client_id,
            created,
            t.category.as_str(),
            state,
            summary
        );
    }
}
