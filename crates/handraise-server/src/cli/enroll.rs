//! `enroll-token create|list|revoke` and `devices list|allow-reenroll|reenrollments`.

use super::{JsonFlag, TokenId, open, rfc3339};
use anyhow::Context;
use clap::{Args, Subcommand};
use handraise_server::AppError;
use handraise_server::config::Location;
use handraise_server::service::enrollment::{self, EnrollTokenInput, ReenrollTarget};
use handraise_server::store::{DeviceStore, now_utc};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, Subcommand)]
pub(super) enum EnrollTokenCommand {
    /// Create an enrollment token; prints it on the last line. Without
    /// --expires-days it never expires; without --max-uses it enrolls any number.
    Create {
        #[arg(long)]
        label: String,
        /// Every device it enrolls gets this school, whatever the device says.
        #[arg(long)]
        school: Option<String>,
        /// Every device it enrolls gets this building, whatever the device says.
        #[arg(long)]
        building: Option<String>,
        /// Days until it expires (1 to 3650).
        #[arg(long, conflicts_with = "expires_at")]
        expires_days: Option<u32>,
        /// When it expires instead (RFC 3339, e.g. the end of a rollout day).
        #[arg(long, value_name = "TIME")]
        expires_at: Option<String>,
        /// How many devices it may enroll.
        #[arg(long)]
        max_uses: Option<u32>,
    },
    /// List enrollment tokens (id, label, school, building, created, expires, max uses,
    /// uses, state, bursts); never the tokens themselves.
    List(JsonFlag),
    /// Revoke the enrollment token with this id: it enrolls no more devices (devices
    /// already enrolled keep working).
    Revoke(TokenId),
}

#[derive(Debug, Subcommand)]
pub(super) enum DevicesCommand {
    /// List devices (id, hostname, school, building, machine id, enrolled, last seen,
    /// revoked, allowed to enroll again).
    List(JsonFlag),
    /// Allow the computer of a revoked device to enroll again (a computer whose device
    /// was revoked is refused until then).
    AllowReenroll(ReenrollTargetArgs),
    /// List re-enrollments: new devices from computers that had enrolled before.
    Reenrollments(JsonFlag),
}

/// `--machine M` or `--device ID`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(super) struct ReenrollTargetArgs {
    /// The machine id (from `devices list`).
    #[arg(long)]
    machine: Option<String>,
    /// A revoked device's id: its computer.
    #[arg(long)]
    device: Option<uuid::Uuid>,
}

/// One token in `enroll-token list --json`.
#[derive(Debug, Serialize)]
struct TokenLine {
    id: i64,
    label: String,
    school: Option<String>,
    building: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    expires_at: Option<OffsetDateTime>,
    max_uses: Option<u32>,
    uses: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    last_used_at: Option<OffsetDateTime>,
    revoked: bool,
    /// `active`, or the refusal code (`token_revoked`, `token_expired`, `token_used_up`).
    state: &'static str,
    /// Most enrollments within 10 minutes, and whether that is a burst (over 20).
    busiest_enrollments: usize,
    burst: bool,
}

/// One device in `devices list --json`.
#[derive(Debug, Serialize)]
struct DeviceLine {
    id: uuid::Uuid,
    hostname: String,
    school: Option<String>,
    building: Option<String>,
    machine_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    enrolled_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    last_seen_at: Option<OffsetDateTime>,
    revoked: bool,
    reenroll_allowed: bool,
}

/// One re-enrollment in `devices reenrollments --json`.
#[derive(Debug, Serialize)]
struct ReenrollmentLine {
    machine_id: String,
    previous_device: uuid::Uuid,
    previous_hostname: String,
    previous_revoked: bool,
    device: uuid::Uuid,
    hostname: String,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    token_label: Option<String>,
}

/// Re-enrollments `devices reenrollments` prints at most.
const REENROLLMENTS_LISTED: usize = 10_000;

fn print_json<T: Serialize>(rows: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(rows)?);
    Ok(())
}

pub(super) fn enroll_token(location: &Location, cmd: EnrollTokenCommand) -> anyhow::Result<()> {
    let store = open(location)?;
    match cmd {
        EnrollTokenCommand::Create {
            label,
            school,
            building,
            expires_days,
            expires_at,
            max_uses,
        } => {
            let expires_at = expires_at
                .map(|t| {
                    OffsetDateTime::parse(&t, &Rfc3339)
                        .with_context(|| format!("--expires-at {t:?} is not an RFC 3339 time"))
                })
                .transpose()?;
            let input = EnrollTokenInput {
                label: &label,
                school: school.as_deref(),
                building: building.as_deref(),
                expires_days,
                expires_at,
                max_uses,
            };
            let created = enrollment::create_enroll_token(&store, &input, now_utc())?;
            let t = &created.of;
            let expires = t.expires_at.map(rfc3339).unwrap_or_else(|| "never".into());
            println!(
                "enrollment token {} {:?} created (expires {expires}); it is shown only once:",
                t.id, t.label
            );
            println!("{}", created.token);
        }
        EnrollTokenCommand::List(JsonFlag { json }) => {
            let tokens = enrollment::list_enroll_tokens(&store, now_utc())?;
            if json {
                let rows: Vec<TokenLine> = tokens
                    .into_iter()
                    .map(|v| TokenLine {
                        state: v.refusal.map_or("active", |r| r.code()),
                        busiest_enrollments: v.busiest.map_or(0, |b| b.enrollments),
                        burst: v.busiest.is_some_and(|b| b.is_burst()),
                        id: v.token.id,
                        label: v.token.label,
                        school: v.token.school,
                        building: v.token.building,
                        created_at: v.token.created_at,
                        expires_at: v.token.expires_at,
                        max_uses: v.token.max_uses,
                        uses: v.token.uses,
                        last_used_at: v.token.last_used_at,
                        revoked: v.token.revoked,
                    })
                    .collect();
                print_json(&rows)?;
            } else {
                for v in &tokens {
                    let t = &v.token;
                    let state = v.refusal.map_or("active", |r| r.code());
                    let uses = match t.max_uses {
                        Some(max) => format!("{}/{max}", t.uses),
                        None => t.uses.to_string(),
                    };
                    let expires = t.expires_at.map(rfc3339).unwrap_or_else(|| "never".into());
                    let burst = if v.busiest.is_some_and(|b| b.is_burst()) {
                        "  BURST: over 20 enrollments within 10 minutes"
                    } else {
                        ""
                    };
                    println!(
                        "{:>4}  {state:<14} uses {uses:<9} expires {expires}  {}{burst}",
                        t.id, t.label
                    );
                }
            }
        }
        EnrollTokenCommand::Revoke(TokenId { id }) => {
            enrollment::revoke_enroll_token(&store, id, now_utc())
                .with_context(|| format!("no enrollment token with id {id}"))?;
            println!("enrollment token {id} revoked");
        }
    }
    Ok(())
}

pub(super) fn devices(location: &Location, cmd: DevicesCommand) -> anyhow::Result<()> {
    let store = open(location)?;
    match cmd {
        DevicesCommand::List(JsonFlag { json }) => {
            let devices = store.list_devices()?;
            if json {
                let rows: Vec<DeviceLine> = devices
                    .into_iter()
                    .map(|s| DeviceLine {
                        id: s.device.id,
                        hostname: s.device.hostname,
                        school: s.device.school,
                        building: s.device.building,
                        machine_id: s.device.machine_id,
                        enrolled_at: s.device.enrolled_at,
                        last_seen_at: s.device.last_seen_at,
                        revoked: s.device.revoked,
                        reenroll_allowed: s.device.reenroll_allowed,
                    })
                    .collect();
                print_json(&rows)?;
            } else {
                for s in &devices {
                    let d = &s.device;
                    let state = match (d.revoked, d.reenroll_allowed) {
                        (false, _) => "active",
                        (true, false) => "revoked",
                        (true, true) => "revoked (allowed to enroll again)",
                    };
                    println!(
                        "{}  {:<24} {:<30} {state}",
                        d.id,
                        d.hostname,
                        d.school.as_deref().unwrap_or("-")
                    );
                }
            }
        }
        DevicesCommand::AllowReenroll(ReenrollTargetArgs { machine, device }) => {
            let target = match (&machine, device) {
                (Some(m), _) => ReenrollTarget::Machine(m),
                (None, Some(d)) => ReenrollTarget::Device(d),
                (None, None) => anyhow::bail!("give --machine or --device"),
            };
            let allowed =
                enrollment::allow_reenrollment(&store, target, now_utc()).map_err(|e| match e {
                    AppError::NotFound => anyhow::anyhow!(match (&machine, device) {
                        (Some(m), _) => format!("no revoked device has the machine id {m}"),
                        (_, d) =>
                            format!("no device {}", d.map(|d| d.to_string()).unwrap_or_default()),
                    }),
                    e => e.into(),
                })?;
            println!("allowed: the computer may enroll again ({allowed} revoked device(s) marked)");
        }
        DevicesCommand::Reenrollments(JsonFlag { json }) => {
            let again = store.list_reenrollments(REENROLLMENTS_LISTED)?;
            if json {
                let rows: Vec<ReenrollmentLine> = again
                    .into_iter()
                    .map(|r| ReenrollmentLine {
                        machine_id: r.machine_id,
                        previous_device: r.previous_device,
                        previous_hostname: r.previous_hostname,
                        previous_revoked: r.previous_revoked,
                        device: r.device,
                        hostname: r.hostname,
                        at: r.at,
                        token_label: r.token_label,
                    })
                    .collect();
                print_json(&rows)?;
            } else {
                for r in &again {
                    println!(
                        "{}  {} -> {}  machine {}  token {}",
                        rfc3339(r.at),
                        r.previous_hostname,
                        r.hostname,
                        &r.machine_id[..r.machine_id.len().min(12)],
                        r.token_label.as_deref().unwrap_or("-")
                    );
                }
            }
        }
    }
    Ok(())
}
