//! `desk add|list|test|enable|disable|default`: the help desks tickets are
//! forwarded to. Secrets come from a file (owner-only) or stdin, never from
//! the command line, and are never printed.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use handraise_server::config::Location;
use handraise_server::service::desks::{self, DeskInput};
use handraise_server::service::hooks;
use handraise_server::store::{DeskKind, DeskOptions, DeskSecret, DeskStore, now_utc};
use serde::Serialize;
use std::io::{Read, Write};
use std::path::Path;

#[derive(Debug, Subcommand)]
pub enum DeskCommand {
    /// Add a desk; prints its id on the last line. The first desk added
    /// becomes the default (new tickets go there) until `desk default`.
    Add(Box<AddArgs>),
    /// A webhook's events the receiver refused, with their ids (for
    /// `desk retry --event` and `desk skip --event`).
    Events {
        #[arg(long)]
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// List desks with their outbox: queued, sent, failed, last success and
    /// last error. Never the secrets.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Check that the desk answers and accepts its secret, creating nothing.
    Test(DeskId),
    /// Forward to this desk again (what waited is delivered).
    Enable(DeskId),
    /// Stop forwarding to this desk: new tickets stay in HandRaise, its
    /// outbox waits.
    Disable(DeskId),
    /// Choose the default desk, or `--id none` to keep new tickets in HandRaise.
    Default {
        #[arg(long, value_name = "N|none")]
        id: String,
    },
    /// Queue again what the desk refused for a ticket (see `desk list`'s
    /// failed count and the ticket's page for the desk's answer).
    Retry(TicketArg),
    /// Take a ticket the desk does not have yet (queued or refused) back
    /// into HandRaise's own console.
    Skip(TicketArg),
    /// Routing rules, tried in order before the default desk.
    #[command(subcommand)]
    Route(RouteCommand),
}

/// `desk add`'s options (`docs/forwarding.md` has an example per kind).
#[derive(Debug, Args)]
pub struct AddArgs {
    /// rt, email, osticket or webhook.
    #[arg(long)]
    kind: String,
    #[arg(long)]
    name: String,
    /// rt: RT's web base, without `/REST/2.0`; osticket: osTicket's web
    /// base (the API is `/api/tickets.json` under it); email: the SMTP
    /// server, `smtp://host[:port]` (STARTTLS) or `smtps://host[:port]`.
    #[arg(long)]
    url: String,
    /// File holding the secret, readable by its owner only (mode 0600 or
    /// stricter); `-` reads it from stdin. rt: an auth token; osticket: the
    /// API key; email: the SMTP password (with --smtp-user; optional);
    /// webhook: the signing key.
    #[arg(long, value_name = "FILE")]
    secret_file: Option<String>,
    /// RT queue for new tickets (default General).
    #[arg(long)]
    queue: Option<String>,
    /// Seconds between polls for replies (default 30).
    #[arg(long)]
    poll_secs: Option<u32>,
    /// email: the desk's email-to-ticket address; osticket: its address,
    /// for teacher messages by mail (with --smtp).
    #[arg(long, value_name = "ADDR")]
    to: Option<String>,
    /// HandRaise's own address (`a@b` or `Name <a@b>`): mail is sent from
    /// it, osTicket's requester, where the desk sends its replies.
    #[arg(long, value_name = "ADDR")]
    from: Option<String>,
    /// The SMTP user; the secret is its password. Without it, no SMTP auth.
    #[arg(long, value_name = "USER")]
    smtp_user: Option<String>,
    /// osticket: an SMTP server for teacher messages (`smtp://` or `smtps://`).
    #[arg(long, value_name = "URL")]
    smtp: Option<String>,
    /// The mailbox replies are read from: `imap://host[:port]` (STARTTLS)
    /// or `imaps://host[:port]`.
    #[arg(long, value_name = "URL")]
    imap: Option<String>,
    /// The IMAP user (default: the --from address).
    #[arg(long, value_name = "USER")]
    imap_user: Option<String>,
    /// The folder read (default INBOX).
    #[arg(long, value_name = "FOLDER")]
    imap_folder: Option<String>,
    /// File holding the IMAP password (owner-only, or `-`); an email desk
    /// without it uses the secret of --secret-file.
    #[arg(long, value_name = "FILE")]
    imap_secret_file: Option<String>,
    /// webhook: the "me too" count on an outage that makes an event
    /// (default 5).
    #[arg(long)]
    me_too_threshold: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum RouteCommand {
    /// Send new tickets from SCHOOL/BUILDING in CATEGORY (each optional) to
    /// desk N, or keep them in HandRaise (`--to none`); prints the rule's id
    /// on the last line. The first matching rule wins.
    Add {
        #[arg(long)]
        school: Option<String>,
        #[arg(long)]
        building: Option<String>,
        #[arg(long)]
        category: Option<String>,
        #[arg(long, value_name = "N|none")]
        to: String,
    },
    /// The rules in the order they are tried.
    List {
        #[arg(long)]
        json: bool,
    },
    Remove(DeskId),
}

/// `N` or `none`.
fn desk_or_none(v: &str) -> anyhow::Result<Option<i64>> {
    match v {
        "none" => Ok(None),
        n => Ok(Some(
            n.parse::<i64>().context("expected a desk id or none")?,
        )),
    }
}

fn route(location: &Location, command: RouteCommand, out: &mut impl Write) -> anyhow::Result<()> {
    let store = super::open(location)?;
    match command {
        RouteCommand::Add {
            school,
            building,
            category,
            to,
        } => {
            let to = desk_or_none(&to)?;
            let id = desks::add_route(
                &store,
                school.as_deref(),
                building.as_deref(),
                category.as_deref(),
                to,
                now_utc(),
            )?;
            writeln!(out, "routing rule added:")?;
            writeln!(out, "{id}")?;
        }
        RouteCommand::List { json } => {
            let rules: Vec<serde_json::Value> = store
                .routes()?
                .into_iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id,
                        "school": r.school,
                        "building": r.building,
                        "category": r.category,
                        "to": r.desk_id,
                    })
                })
                .collect();
            if json {
                serde_json::to_writer_pretty(&mut *out, &rules)?;
                writeln!(out)?;
            } else {
                for r in &rules {
                    let any = |v: &serde_json::Value| v.as_str().unwrap_or("any").to_owned();
                    writeln!(
                        out,
                        "{:>4}  school {}  building {}  category {}  -> {}",
                        r["id"],
                        any(&r["school"]),
                        any(&r["building"]),
                        any(&r["category"]),
                        r["to"]
                            .as_i64()
                            .map_or("HandRaise".to_owned(), |d| format!("desk {d}"))
                    )?;
                }
                writeln!(out, "{} rule(s)", rules.len())?;
            }
        }
        RouteCommand::Remove(DeskId { id }) => {
            desks::remove_route(&store, id)
                .with_context(|| format!("no routing rule with id {id}"))?;
            writeln!(out, "routing rule {id} removed")?;
        }
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct TicketArg {
    /// The HandRaise ticket number.
    #[arg(long, required_unless_present = "event", conflicts_with = "event")]
    ticket: Option<i64>,
    /// A webhook event's id (`desk events`).
    #[arg(long)]
    event: Option<i64>,
}

#[derive(Debug, Args)]
pub struct DeskId {
    #[arg(long)]
    id: i64,
}

/// One desk in `desk list --json`.
#[derive(Debug, Serialize)]
struct DeskLine {
    id: i64,
    kind: &'static str,
    name: String,
    url: String,
    queue: String,
    poll_secs: u32,
    enabled: bool,
    default: bool,
    queued: i64,
    sent: i64,
    failed: i64,
    /// Forwards to a create-only desk whose receipt was lost: the desk may
    /// hold a duplicate.
    receipts_lost: i64,
    /// Mail in the desk's mailbox that answers no forwarded ticket, left there.
    unmatched_mail: i64,
    /// The kind's settings (addresses, mailbox); never a secret.
    options: handraise_server::store::DeskOptions,
    #[serde(with = "time::serde::rfc3339::option")]
    last_success_at: Option<time::OffsetDateTime>,
    last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    last_error_at: Option<time::OffsetDateTime>,
}

/// Reads the secret from `path` (refusing a file others may read) or stdin.
fn read_secret(path: &str) -> anyhow::Result<DeskSecret> {
    let raw = if path == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the secret from stdin")?;
        s
    } else {
        let path = Path::new(path);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                bail!(
                    "{} is readable by others (mode {:o}); make it owner-only: chmod 600 {}",
                    path.display(),
                    mode & 0o777,
                    path.display()
                );
            }
        }
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?
    };
    Ok(desks::secret(&raw)?)
}

pub async fn run(location: &Location, command: DeskCommand) -> anyhow::Result<()> {
    let store = super::open(location)?;
    let mut out = std::io::stdout().lock();
    match command {
        DeskCommand::Add(a) => {
            let a = *a;
            // The kind is checked before a secret is asked for.
            let kind = desks::kind(&a.kind)?;
            let is_hook = kind == DeskKind::Webhook;
            if a.me_too_threshold.is_some() && !is_hook {
                bail!("--me-too-threshold is for a desk of kind webhook");
            }
            if a.secret_file.as_deref() == Some("-") && a.imap_secret_file.as_deref() == Some("-") {
                bail!("only one of --secret-file and --imap-secret-file can be `-` (stdin)");
            }
            let secret = match (&a.secret_file, kind) {
                (Some(f), _) => read_secret(f)?,
                (None, DeskKind::Email) => DeskSecret(String::new()),
                (None, _) => bail!("--secret-file is needed for a desk of kind {}", a.kind),
            };
            let mailbox_secret = match (&a.imap_secret_file, &a.imap, kind) {
                (Some(f), _, _) => Some(read_secret(f)?),
                (None, Some(_), DeskKind::Email) if !secret.0.is_empty() => Some(secret.clone()),
                _ => None,
            };
            let input = DeskInput {
                kind: &a.kind,
                name: &a.name,
                url: &a.url,
                secret,
                queue: a.queue.as_deref(),
                poll_secs: a.poll_secs,
                options: DeskOptions {
                    to: a.to,
                    from: a.from,
                    smtp_user: a.smtp_user,
                    smtp_url: a.smtp,
                    imap_url: a.imap,
                    imap_user: a.imap_user,
                    imap_folder: a.imap_folder,
                },
                mailbox_secret,
            };
            let id = if is_hook {
                hooks::add(&store, input, a.me_too_threshold, now_utc())?
            } else {
                desks::add(&store, input, now_utc())?
            };
            let desk = desks::get(&store, id)?;
            let queue = match desk.kind {
                DeskKind::Rt => format!(", queue {:?}", desk.queue),
                _ => String::new(),
            };
            writeln!(
                out,
                "desk {:?} ({}, {}{queue}) added; test it with `desk test --id {id}`:",
                desk.name,
                desk.kind.as_str(),
                desk.url,
            )?;
            writeln!(out, "{id}")?;
        }
        DeskCommand::List { json } => {
            let lines: Vec<DeskLine> = desks::list(&store)?
                .into_iter()
                .map(|s| DeskLine {
                    id: s.desk.id,
                    kind: s.desk.kind.as_str(),
                    name: s.desk.name,
                    url: s.desk.url,
                    queue: s.desk.queue,
                    poll_secs: s.desk.poll_secs,
                    enabled: s.desk.enabled,
                    default: s.is_default,
                    queued: s.queued,
                    sent: s.sent,
                    failed: s.failed,
                    receipts_lost: s.receipts_lost,
                    unmatched_mail: s.unmatched_mail,
                    options: s.desk.options,
                    last_success_at: s.desk.last_success_at,
                    last_error: s.desk.last_error,
                    last_error_at: s.desk.last_error_at,
                })
                .collect();
            if json {
                serde_json::to_writer_pretty(&mut out, &lines)?;
                writeln!(out)?;
            } else {
                for d in &lines {
                    writeln!(
                        out,
                        "{:>4}  {:<8} {:<9}{:<8} queued {:<4} sent {:<5} failed {:<4} {}{}  {}  {}{}",
                        d.id,
                        d.kind,
                        if d.enabled { "enabled" } else { "disabled" },
                        if d.default { "default" } else { "" },
                        d.queued,
                        d.sent,
                        d.failed,
                        if d.receipts_lost > 0 {
                            format!(
                                "receipt lost {} (a duplicate may exist in the desk)  ",
                                d.receipts_lost
                            )
                        } else {
                            String::new()
                        },
                        if d.unmatched_mail > 0 {
                            format!("unmatched mail {}  ", d.unmatched_mail)
                        } else {
                            String::new()
                        },
                        d.name,
                        d.url,
                        d.last_error
                            .as_deref()
                            .map(|e| format!("  last error: {e}"))
                            .unwrap_or_default()
                    )?;
                }
                writeln!(out, "{} desk(s)", lines.len())?;
            }
        }
        DeskCommand::Test(DeskId { id }) => {
            let desk = desks::get(&store, id).with_context(|| format!("no desk with id {id}"))?;
            desks::test(&desk)
                .await
                .with_context(|| format!("desk {id} ({}) failed the test", desk.url))?;
            match desk.kind {
                DeskKind::Rt => writeln!(
                    out,
                    "desk {id} answers at {} and accepts its token; queue {:?} found",
                    desk.url, desk.queue
                )?,
                DeskKind::Webhook => {
                    writeln!(out, "webhook {id} at {} took a signed ping", desk.url)?
                }
                _ => writeln!(
                    out,
                    "desk {id} answers at {} and accepts its credentials{}; nothing was sent",
                    desk.url,
                    if desk.options.imap_url.is_some() {
                        "; its mailbox logged in"
                    } else {
                        ""
                    }
                )?,
            }
        }
        DeskCommand::Enable(DeskId { id }) | DeskCommand::Disable(DeskId { id }) => {
            let enable = matches!(command, DeskCommand::Enable(_));
            desks::set_enabled(&store, id, enable)
                .with_context(|| format!("no desk with id {id}"))?;
            writeln!(
                out,
                "desk {id} {}",
                if enable { "enabled" } else { "disabled" }
            )?;
        }
        DeskCommand::Route(command) => route(location, command, &mut out)?,
        DeskCommand::Retry(TicketArg {
            event: Some(event), ..
        }) => {
            hooks::retry(&store, event, now_utc())
                .with_context(|| format!("webhook event {event} was not refused"))?;
            writeln!(out, "webhook event {event} queued again")?;
        }
        DeskCommand::Skip(TicketArg {
            event: Some(event), ..
        }) => {
            hooks::skip(&store, event)
                .with_context(|| format!("webhook event {event} is not waiting"))?;
            writeln!(out, "webhook event {event} dropped")?;
        }
        DeskCommand::Retry(TicketArg { ticket, .. }) => {
            let ticket = ticket.context("--ticket or --event")?;
            desks::retry(&store, ticket, now_utc())
                .with_context(|| format!("ticket #{ticket} has nothing refused by a desk"))?;
            writeln!(out, "ticket #{ticket} queued for its desk again")?;
        }
        DeskCommand::Skip(TicketArg { ticket, .. }) => {
            let ticket = ticket.context("--ticket or --event")?;
            desks::skip(&store, ticket).with_context(|| format!("ticket #{ticket}"))?;
            writeln!(out, "ticket #{ticket} stays in HandRaise")?;
        }
        DeskCommand::Events { id, json } => {
            let failed: Vec<serde_json::Value> = hooks::failed(&store, id)?
                .into_iter()
                .map(|e| {
                    serde_json::json!({
                        "id": e.id,
                        "type": e.kind,
                        "event_id": e.key,
                        "attempts": e.attempts,
                        "last_error": e.last_error,
                    })
                })
                .collect();
            if json {
                serde_json::to_writer_pretty(&mut out, &failed)?;
                writeln!(out)?;
            } else {
                for e in &failed {
                    writeln!(
                        out,
                        "{:>6}  {:<22} {}  {}",
                        e["id"],
                        e["type"].as_str().unwrap_or_default(),
                        e["event_id"].as_str().unwrap_or_default(),
                        e["last_error"].as_str().unwrap_or_default()
                    )?;
                }
                writeln!(out, "{} refused event(s)", failed.len())?;
            }
        }
        DeskCommand::Default { id } => {
            let chosen = desk_or_none(&id)?;
            desks::set_default(&store, chosen).context("no such desk")?;
            match chosen {
                Some(n) => writeln!(out, "new tickets go to desk {n}")?,
                None => writeln!(out, "new tickets stay in HandRaise")?,
            }
        }
    }
    out.flush()?;
    Ok(())
}
