//! `doctor`: what is wrong with this server, one line per check. A check that
//! does not apply (no server running, no backup yet, no TLS) says `skipped`;
//! the exit status is non-zero only when a check fails.

use handraise_server::config::{Config, Location};
use handraise_server::service::backups;
use handraise_server::store::{GaugeStore, MIGRATIONS, SqlStore, now_utc};
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// Free space below this fails the disk check; below [`DISK_WARN_PERCENT`] it warns
/// (measured on Unix only, where `statvfs` tells).
#[cfg(unix)]
const DISK_FAIL_BYTES: u64 = 512 * 1024 * 1024;
#[cfg(unix)]
const DISK_WARN_PERCENT: u64 = 10;
/// A certificate expiring within this warns; an expired one fails.
const CERT_WARN: Duration = Duration::from_secs(14 * 24 * 3600);
/// A device clock this far off warns (sign-in codes, SLA times and logs go wrong).
const SKEW_WARN_SECS: i64 = 5 * 60;
/// How far back the clock skews of devices are read.
const SKEW_WINDOW_DAYS: i64 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Outcome {
    Ok,
    Warn,
    Fail,
    Skipped,
}

#[derive(Debug, Serialize)]
struct Check {
    check: &'static str,
    outcome: Outcome,
    detail: String,
}

fn check(check: &'static str, outcome: Outcome, detail: impl Into<String>) -> Check {
    Check {
        check,
        outcome,
        detail: detail.into(),
    }
}

/// Runs every check; `Ok(false)` when one failed.
pub(super) async fn doctor(location: &Location, json: bool) -> anyhow::Result<bool> {
    let mut checks = Vec::new();
    let config = match location.config() {
        Ok(config) => {
            checks.push(check(
                "configuration",
                Outcome::Ok,
                format!("{} read", location.config_file.display()),
            ));
            Some(config)
        }
        Err(e) => {
            checks.push(check("configuration", Outcome::Fail, e.to_string()));
            None
        }
    };
    let data_dir = &location.data_dir;
    let (database, current) = database(data_dir);
    checks.push(database);
    checks.push(disk(data_dir));
    if let Some(config) = &config {
        checks.push(tls(config, data_dir));
        checks.push(listening(config).await);
        checks.push(backup_age(config));
        checks.push(if current {
            clock_skew(data_dir)
        } else {
            check(
                "clock skew",
                Outcome::Skipped,
                "the database is not at this binary's schema",
            )
        });
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&checks)?);
    } else {
        for c in &checks {
            let outcome = format!("{:?}", c.outcome).to_lowercase();
            println!("{outcome:<8} {:<14} {}", c.check, c.detail);
        }
    }
    Ok(checks.iter().all(|c| c.outcome != Outcome::Fail))
}

/// The database check, and whether the database is at this binary's schema
/// (so opening it changes nothing).
fn database(data_dir: &Path) -> (Check, bool) {
    let path = data_dir.join(handraise_server::config::DATABASE_FILE);
    if !path.exists() {
        let missing = check(
            "database",
            Outcome::Fail,
            format!("{} does not exist (run init)", path.display()),
        );
        return (missing, false);
    }
    match SqlStore::inspect_copy(&path) {
        Ok(facts) => {
            let known = MIGRATIONS.len() as u32;
            let tickets = facts
                .counts
                .iter()
                .find(|(t, _)| t == "tickets")
                .map_or(0, |(_, n)| *n);
            let schema = if facts.schema_version == known {
                format!("schema {known} (current)")
            } else {
                format!(
                    "schema {} (this binary migrates it to {known} when it opens it)",
                    facts.schema_version
                )
            };
            let ok = check(
                "database",
                Outcome::Ok,
                format!("integrity ok, {schema}, {tickets} tickets"),
            );
            (ok, facts.schema_version == known)
        }
        Err(e) => (check("database", Outcome::Fail, e.to_string()), false),
    }
}

#[cfg(unix)]
fn disk(data_dir: &Path) -> Check {
    match rustix::fs::statvfs(data_dir) {
        Ok(st) => {
            let free = st.f_bavail.saturating_mul(st.f_frsize);
            let total = st.f_blocks.saturating_mul(st.f_frsize).max(1);
            let percent = free.saturating_mul(100) / total;
            let detail = format!("{} MiB free ({percent}%)", free / (1024 * 1024));
            let outcome = if free < DISK_FAIL_BYTES {
                Outcome::Fail
            } else if percent < DISK_WARN_PERCENT {
                Outcome::Warn
            } else {
                Outcome::Ok
            };
            check("disk", outcome, detail)
        }
        Err(e) => check(
            "disk",
            Outcome::Fail,
            format!("cannot read {}: {e}", data_dir.display()),
        ),
    }
}

#[cfg(not(unix))]
fn disk(_data_dir: &Path) -> Check {
    check("disk", Outcome::Skipped, "not measured on this platform")
}

fn tls(config: &Config, data_dir: &Path) -> Check {
    let (cert, _key) = match config.tls_files(data_dir) {
        Ok(Some(files)) => files,
        Ok(None) => return check("tls", Outcome::Skipped, "no tls_cert (plain HTTP)"),
        Err(e) => return check("tls", Outcome::Fail, e.to_string()),
    };
    let pem = match std::fs::read(&cert) {
        Ok(pem) => pem,
        Err(e) => {
            return check(
                "tls",
                Outcome::Fail,
                format!("cannot read {}: {e}", cert.display()),
            );
        }
    };
    let not_after = x509_parser::pem::parse_x509_pem(&pem)
        .map_err(|e| e.to_string())
        .and_then(|(_, pem)| {
            pem.parse_x509()
                .map(|c| c.validity().not_after.timestamp())
                .map_err(|e| e.to_string())
        });
    let not_after = match not_after {
        Ok(t) => t,
        Err(e) => {
            return check(
                "tls",
                Outcome::Fail,
                format!("{} is not a PEM certificate: {e}", cert.display()),
            );
        }
    };
    let left = not_after - now_utc().unix_timestamp();
    let days = left / 86_400;
    if left <= 0 {
        check(
            "tls",
            Outcome::Fail,
            format!("{} expired {} days ago", cert.display(), -days),
        )
    } else if left < CERT_WARN.as_secs() as i64 {
        check(
            "tls",
            Outcome::Warn,
            format!("{} expires in {days} days: renew it", cert.display()),
        )
    } else {
        check(
            "tls",
            Outcome::Ok,
            format!("{} valid for {days} more days", cert.display()),
        )
    }
}

/// Whether a server answers on the configured address: `/healthz` over
/// plain HTTP; over TLS only that the port accepts connections.
async fn listening(config: &Config) -> Check {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = config
        .listen
        .replace("0.0.0.0", "127.0.0.1")
        .replace("[::]", "[::1]");
    let connect = tokio::time::timeout(
        Duration::from_secs(3),
        tokio::net::TcpStream::connect(&addr),
    )
    .await;
    let mut stream = match connect {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            return check(
                "listen",
                Outcome::Skipped,
                format!("no server running on {addr} ({e})"),
            );
        }
        Err(_) => {
            return check(
                "listen",
                Outcome::Fail,
                format!("{addr} did not accept a connection within 3 s"),
            );
        }
    };
    if config.tls_cert.is_some() {
        return check(
            "listen",
            Outcome::Ok,
            format!("{addr} accepts connections (HTTPS)"),
        );
    }
    let ask = async {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: doctor\r\nConnection: close\r\n\r\n")
            .await?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await?;
        std::io::Result::Ok(answer)
    };
    match tokio::time::timeout(Duration::from_secs(5), ask).await {
        Ok(Ok(answer)) if answer.starts_with("HTTP/1.1 200") => {
            check("listen", Outcome::Ok, format!("{addr}/healthz answers ok"))
        }
        Ok(Ok(answer)) => check(
            "listen",
            Outcome::Fail,
            format!(
                "{addr}/healthz answered {}",
                answer.lines().next().unwrap_or("nothing")
            ),
        ),
        Ok(Err(e)) => check("listen", Outcome::Fail, format!("{addr}: {e}")),
        Err(_) => check(
            "listen",
            Outcome::Fail,
            format!("{addr}/healthz did not answer within 5 s"),
        ),
    }
}

fn backup_age(config: &Config) -> Check {
    let Some(dir) = &config.backup_dir else {
        return check("backup", Outcome::Skipped, "no backup_dir configured");
    };
    let every = Duration::from_secs(u64::from(config.backup_every_hours.max(1)) * 3600);
    match backups::newest_age(dir, std::time::SystemTime::now()) {
        Ok(None) => check(
            "backup",
            Outcome::Skipped,
            format!("no backup in {} yet", dir.display()),
        ),
        Ok(Some(age)) => {
            let hours = age.as_secs() / 3600;
            if age > every * 2 {
                check(
                    "backup",
                    Outcome::Fail,
                    format!(
                        "the newest backup in {} is {hours} h old (one is due every {} h)",
                        dir.display(),
                        every.as_secs() / 3600
                    ),
                )
            } else {
                check(
                    "backup",
                    Outcome::Ok,
                    format!("the newest backup in {} is {hours} h old", dir.display()),
                )
            }
        }
        Err(e) => check("backup", Outcome::Fail, e.to_string()),
    }
}

fn clock_skew(data_dir: &Path) -> Check {
    let path = data_dir.join(handraise_server::config::DATABASE_FILE);
    if !path.exists() {
        return check("clock skew", Outcome::Skipped, "no database");
    }
    let skews = SqlStore::open(&path)
        .and_then(|s| s.clock_skews(now_utc() - time::Duration::days(SKEW_WINDOW_DAYS)));
    match skews {
        Ok(skews) if skews.is_empty() => check(
            "clock skew",
            Outcome::Skipped,
            format!("no device reported its clock in {SKEW_WINDOW_DAYS} days"),
        ),
        Ok(skews) => {
            let off: Vec<&(String, i64)> = skews
                .iter()
                .filter(|(_, s)| s.abs() > SKEW_WARN_SECS)
                .collect();
            let worst = skews.iter().map(|(_, s)| s.abs()).max().unwrap_or(0);
            if off.is_empty() {
                check(
                    "clock skew",
                    Outcome::Ok,
                    format!("{} devices, the furthest {worst} s off", skews.len()),
                )
            } else {
                check(
                    "clock skew",
                    Outcome::Warn,
                    format!(
                        "{} of {} devices are more than {} min off (the furthest {worst} s): \
                         check their time settings, or the server's",
                        off.len(),
                        skews.len(),
                        SKEW_WARN_SECS / 60
                    ),
                )
            }
        }
        Err(e) => check("clock skew", Outcome::Fail, e.to_string()),
    }
}
