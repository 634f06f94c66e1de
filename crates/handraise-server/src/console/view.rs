//! What the console pages show, computed from storage rows: the queue order
//! and SLA due times, human-readable device facts with their warnings, and
//! times in the district's zone: [`when`] formats every time the console
//! shows and [`parse_local`] reads every time it is given. Pure functions of
//! their inputs (time and zone are passed in).

use crate::AppError;
use crate::store::{SlaPolicy, TicketRecord};
use crate::tz::Zone;
use handraise_wire::{DeviceSnapshot, DirectoryJoin, JoinKind, Scope, TicketStatus, Urgency, Wifi};
use time::{Duration, OffsetDateTime};

/// Free disk below this share is highlighted.
pub const LOW_DISK_FRACTION: f64 = 0.10;
/// Clock skew beyond this many seconds is highlighted (sign-in failures).
pub const MAX_CLOCK_SKEW_SECS: i64 = 120;
/// A Wi-Fi signal below this percentage is highlighted (drops, slow pages).
pub const WEAK_WIFI_PERCENT: u8 = 30;

/// Whether a ticket still needs work.
pub fn is_open(status: TicketStatus) -> bool {
    !matches!(status, TicketStatus::Resolved | TicketStatus::Closed)
}

/// Impact = scope weight × urgency weight (1..=12); higher first.
pub fn impact(urgency: Urgency, scope: Scope) -> u32 {
    let u = match urgency {
        Urgency::Now => 3,
        Urgency::Soon => 2,
        Urgency::Whenever => 1,
    };
    let s = match scope {
        Scope::Me => 1,
        Scope::Room => 2,
        Scope::Building => 3,
        Scope::District => 4,
    };
    u * s
}

/// When the ticket is due under `policy`.
pub fn due_at(t: &TicketRecord, policy: &SlaPolicy) -> OffsetDateTime {
    t.received_at + Duration::hours(i64::from(policy.hours_for(t.urgency, t.scope)))
}

/// A due-time badge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// `overdue`, `soon` (under an hour left) or `ok`: the CSS class.
    pub class: &'static str,
    pub text: String,
    /// RFC 3339 in the district's zone, for the `<time>` element.
    pub iso: String,
    /// The due time in the district's zone ("28 Nov 2026, 13:42 EST").
    pub at: String,
}

/// The badge of an open ticket; `None` once resolved or closed.
pub fn due_badge(
    t: &TicketRecord,
    policy: &SlaPolicy,
    now: OffsetDateTime,
    zone: &Zone,
) -> Option<Due> {
    is_open(t.status).then(|| badge(due_at(t, policy), now, zone))
}

/// The badge of something due at `due`.
fn badge(due: OffsetDateTime, now: OffsetDateTime, zone: &Zone) -> Due {
    let (class, text) = if due <= now {
        ("overdue", format!("Overdue by {}", span(now - due)))
    } else if due - now < Duration::hours(1) {
        ("soon", format!("Due in {}", span(due - now)))
    } else {
        ("ok", format!("Due in {}", span(due - now)))
    };
    Due {
        class,
        text,
        iso: iso(zone, due),
        at: when(zone, due),
    }
}

/// "3 min", "2 h 5 min", "4 d 3 h".
pub fn span(d: Duration) -> String {
    let mins = d.whole_minutes().max(0);
    if mins < 60 {
        format!("{mins} min")
    } else if mins < 24 * 60 {
        let (h, m) = (mins / 60, mins % 60);
        if m == 0 {
            format!("{h} h")
        } else {
            format!("{h} h {m} min")
        }
    } else {
        let (d, h) = (mins / (24 * 60), (mins % (24 * 60)) / 60);
        if h == 0 {
            format!("{d} d")
        } else {
            format!("{d} d {h} h")
        }
    }
}

/// Every time the console shows: "28 Nov 2026, 08:42 EST", in `zone`.
pub fn when(zone: &Zone, t: OffsetDateTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let l = zone.local(t);
    let month = MONTHS
        .get(usize::try_from(l.month - 1).unwrap_or(0))
        .copied()
        .unwrap_or("");
    format!(
        "{} {month} {}, {:02}:{:02} {}",
        l.day, l.year, l.hour, l.minute, l.abbreviation
    )
}

/// RFC 3339 with the zone's offset, for `<time datetime>`.
pub fn iso(zone: &Zone, t: OffsetDateTime) -> String {
    zone.rfc3339(t)
}

/// Every time the console reads: a `datetime-local` value
/// (`2026-03-02T08:30`, seconds optional) as wall-clock time in `zone`;
/// empty is `None`. `what` names the field in the error. A time skipped by
/// a daylight-saving jump is an error; one that occurs twice is the first.
pub fn parse_local(zone: &Zone, what: &str, v: &str) -> Result<Option<OffsetDateTime>, AppError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let civil: jiff::civil::DateTime = v
        .parse()
        .ok()
        .filter(|_| v.contains('T') && v.len() >= 16)
        .ok_or_else(|| {
            AppError::Invalid(format!(
                "{what} must be a date and time like 2026-03-02T08:30"
            ))
        })?;
    zone.from_local(civil)
        .map(Some)
        .map_err(|e| AppError::Invalid(format!("{what}: {e}")))
}

/// Bytes as "1.5 GB" (decimal units, as the OS shows them).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// One labelled fact of the device snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub label: &'static str,
    pub value: String,
    /// Set when the fact is a likely cause of trouble.
    pub warning: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DiskRow {
    pub mount: String,
    pub total: String,
    pub free: String,
    pub free_percent: String,
    pub low: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InterfaceRow {
    pub name: String,
    pub mac: String,
    pub addresses: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProcessRow {
    pub name: String,
    pub cpu: String,
    pub memory: String,
}

/// The device snapshot, for humans.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SnapshotView {
    pub facts: Vec<Fact>,
    pub disks: Vec<DiskRow>,
    pub interfaces: Vec<InterfaceRow>,
    pub processes: Vec<ProcessRow>,
    /// Every warning, for the summary at the top of the ticket.
    pub warnings: Vec<String>,
}

fn push(facts: &mut Vec<Fact>, label: &'static str, value: Option<String>) {
    if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
        facts.push(Fact {
            label,
            value,
            warning: None,
        });
    }
}

fn join(parts: &[Option<&str>]) -> Option<String> {
    let v: Vec<&str> = parts
        .iter()
        .flatten()
        .copied()
        .filter(|s| !s.trim().is_empty())
        .collect();
    (!v.is_empty()).then(|| v.join(" "))
}

/// "District-Staff, signal 87%, 5 GHz (adapter Wi-Fi)", or "Not connected (adapter Wi-Fi)".
fn wifi_text(w: &Wifi) -> String {
    let mut parts = Vec::new();
    match &w.ssid {
        Some(ssid) => parts.push(format!("Network \u{201c}{ssid}\u{201d}")),
        None if w.signal_percent.is_none() => parts.push("Not connected".to_owned()),
        None => parts.push("Connected".to_owned()),
    }
    if let Some(p) = w.signal_percent {
        parts.push(format!("signal {p}%"));
    }
    if let Some(b) = &w.band {
        parts.push(b.clone());
    }
    let mut text = parts.join(", ");
    if let Some(i) = &w.interface {
        text.push_str(&format!(" (adapter {i})"));
    }
    text
}

/// "Active Directory domain district.local", "Microsoft Entra ID: Lincoln Schools (tenant …)".
fn directory_text(d: &DirectoryJoin) -> Option<String> {
    let tenant = match (&d.tenant_name, &d.tenant_id) {
        (Some(name), Some(id)) => Some(format!("{name} (tenant {id})")),
        (Some(name), None) => Some(name.clone()),
        (None, Some(id)) => Some(format!("tenant {id}")),
        (None, None) => None,
    };
    let domain = d.domain.as_deref().unwrap_or("unknown");
    let tenant_text = tenant.as_deref().unwrap_or("unknown tenant");
    match d.kind {
        JoinKind::Workgroup => Some("No domain (workgroup)".to_owned()),
        JoinKind::ActiveDirectory => Some(format!("Active Directory domain {domain}")),
        JoinKind::Entra => Some(format!("Microsoft Entra ID: {tenant_text}")),
        JoinKind::Hybrid => Some(format!(
            "Hybrid: Active Directory domain {domain} and Microsoft Entra ID: {tenant_text}"
        )),
        JoinKind::Unknown => None,
    }
}

/// Renders a snapshot; `offline_at_submit` adds the unreachable warning even
/// when the snapshot has no reachability fact.
pub fn snapshot_view(s: &DeviceSnapshot, offline_at_submit: bool, zone: &Zone) -> SnapshotView {
    let mut v = SnapshotView::default();
    let f = &mut v.facts;
    push(f, "Hostname", s.hostname.clone());
    push(
        f,
        "Operating system",
        join(&[s.os_name.as_deref(), s.os_version.as_deref()]),
    );
    push(f, "Kernel", s.kernel.clone());
    push(f, "Architecture", s.arch.clone());
    push(
        f,
        "Model",
        join(&[s.manufacturer.as_deref(), s.model.as_deref()]),
    );
    push(f, "Serial number", s.serial.clone());
    if let Some(cpu) = &s.cpu {
        let mut parts = Vec::new();
        if let Some(m) = &cpu.model {
            parts.push(m.clone());
        }
        if let Some(c) = cpu.cores {
            parts.push(format!("{c} cores"));
        }
        if let Some(l) = cpu.load_1m {
            parts.push(format!("load {l:.2}"));
        }
        push(f, "Processor", Some(parts.join(", ")));
    }
    if let Some(m) = &s.memory {
        let pct = if m.total_bytes > 0 {
            format!(
                " ({:.0}% used)",
                m.used_bytes as f64 * 100.0 / m.total_bytes as f64
            )
        } else {
            String::new()
        };
        push(
            f,
            "Memory",
            Some(format!(
                "{} used of {}{pct}",
                bytes(m.used_bytes),
                bytes(m.total_bytes)
            )),
        );
    }
    if let Some(up) = s.uptime_secs {
        push(
            f,
            "Uptime",
            Some(span(Duration::seconds(up.min(i64::MAX as u64) as i64))),
        );
    }
    push(f, "Default gateway", s.default_gateway.clone());
    push(
        f,
        "DNS servers",
        (!s.dns_servers.is_empty()).then(|| s.dns_servers.join(", ")),
    );
    if let Some(w) = &s.wifi {
        f.push(Fact {
            label: "Wi-Fi",
            value: wifi_text(w),
            warning: w
                .signal_percent
                .filter(|p| *p < WEAK_WIFI_PERCENT)
                .map(|p| format!("Weak Wi-Fi signal ({p}%)")),
        });
    }
    if let Some(d) = &s.directory {
        push(f, "Joined to", directory_text(d));
    }
    match &s.server_reachability {
        Some(r) if r.reachable => push(
            f,
            "District server",
            Some(match r.latency_ms {
                Some(ms) => format!("Reachable ({ms} ms)"),
                None => "Reachable".into(),
            }),
        ),
        Some(r) => {
            let warning = "The district server was unreachable when the ticket was submitted";
            f.push(Fact {
                label: "District server",
                value: match &r.error {
                    Some(e) => format!("Not reachable: {e}"),
                    None => "Not reachable".into(),
                },
                warning: Some(warning.into()),
            });
        }
        None => {}
    }
    if let Some(b) = &s.battery {
        let mut parts = Vec::new();
        if let Some(c) = b.charge_percent {
            parts.push(format!("{c:.0}% charged"));
        }
        if let Some(c) = b.charging {
            parts.push(if c { "charging" } else { "on battery" }.to_owned());
        }
        if let Some(h) = b.health_percent {
            parts.push(format!("health {h:.0}%"));
        }
        push(f, "Battery", Some(parts.join(", ")));
    }
    if !s.displays.is_empty() {
        let list: Vec<String> = s
            .displays
            .iter()
            .map(|d| match &d.name {
                Some(n) => format!("{n} {}×{}", d.width, d.height),
                None => format!("{}×{}", d.width, d.height),
            })
            .collect();
        push(
            f,
            "Displays",
            Some(format!("{}: {}", list.len(), list.join(", "))),
        );
    }
    push(
        f,
        "Printers",
        (!s.printers.is_empty()).then(|| s.printers.join(", ")),
    );
    push(f, "App version", s.app_version.clone());
    push(f, "Time zone", s.time_zone.clone());
    if let Some(skew) = s.clock_skew_secs {
        let text = if skew == 0 {
            "In step with the server".to_owned()
        } else {
            let dir = if skew > 0 { "ahead of" } else { "behind" };
            let secs = skew.unsigned_abs();
            let amount = if secs < 60 {
                format!("{secs} s")
            } else {
                span(Duration::seconds(secs.min(i64::MAX as u64) as i64))
            };
            format!("{amount} {dir} the server")
        };
        let warning = (skew.unsigned_abs() > MAX_CLOCK_SKEW_SECS as u64)
            .then(|| format!("The clock is {text} (sign-in failures are likely)"));
        f.push(Fact {
            label: "Clock",
            value: text,
            warning,
        });
    }
    if let Some(at) = s.collected_at {
        push(f, "Facts collected", Some(when(zone, at)));
    }
    for d in &s.disks {
        let fraction = if d.total_bytes > 0 {
            d.free_bytes as f64 / d.total_bytes as f64
        } else {
            1.0
        };
        let low = d.total_bytes > 0 && fraction < LOW_DISK_FRACTION;
        if low {
            v.warnings.push(format!(
                "Disk {} has only {:.0}% free ({})",
                d.mount,
                fraction * 100.0,
                bytes(d.free_bytes)
            ));
        }
        v.disks.push(DiskRow {
            mount: d.mount.clone(),
            total: bytes(d.total_bytes),
            free: bytes(d.free_bytes),
            free_percent: format!("{:.0}%", fraction * 100.0),
            low,
        });
    }
    v.interfaces = s
        .interfaces
        .iter()
        .map(|i| InterfaceRow {
            name: i.name.clone(),
            mac: i.mac.clone().unwrap_or_default(),
            addresses: i.addresses.join(", "),
        })
        .collect();
    v.processes = s
        .top_processes
        .iter()
        .map(|p| ProcessRow {
            name: p.name.clone(),
            cpu: format!("{:.1}%", p.cpu_percent),
            memory: bytes(p.memory_bytes),
        })
        .collect();
    let fact_warnings: Vec<String> = v.facts.iter().filter_map(|f| f.warning.clone()).collect();
    v.warnings.extend(fact_warnings);
    let unreachable = v.warnings.iter().any(|w| w.contains("unreachable"));
    if offline_at_submit && !unreachable {
        v.warnings
            .push("The computer was offline when the teacher submitted the ticket".into());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use handraise_wire::{Disk, Reachability};

    #[test]
    fn impact_orders_the_queue_then_age() {
        assert_eq!(impact(Urgency::Now, Scope::District), 12);
        assert_eq!(impact(Urgency::Whenever, Scope::Me), 1);
        assert!(impact(Urgency::Now, Scope::Me) > impact(Urgency::Whenever, Scope::Room));
    }

    #[test]
    fn sla_defaults_follow_k12_policy() {
        let p = SlaPolicy::default();
        assert_eq!(p.hours_for(Urgency::Now, Scope::Me), 4);
        assert_eq!(p.hours_for(Urgency::Soon, Scope::Building), 4);
        assert_eq!(p.hours_for(Urgency::Whenever, Scope::District), 4);
        assert_eq!(p.hours_for(Urgency::Soon, Scope::Room), 8);
        assert_eq!(p.hours_for(Urgency::Whenever, Scope::Me), 24);
    }

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(Duration::minutes(5)), "5 min");
        assert_eq!(span(Duration::minutes(125)), "2 h 5 min");
        assert_eq!(span(Duration::hours(27)), "1 d 3 h");
        assert_eq!(bytes(1_500_000_000), "1.5 GB");
    }

    #[test]
    fn times_are_shown_and_read_in_the_district_zone() {
        use time::macros::datetime;
        let ny = Zone::named("America/New_York").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            when(&ny, datetime!(2026-01-15 17:30 UTC)),
            "15 Jan 2026, 12:30 EST"
        );
        assert_eq!(
            when(&ny, datetime!(2026-07-04 13:05 UTC)),
            "4 Jul 2026, 09:05 EDT"
        );
        assert_eq!(
            when(&Zone::utc(), datetime!(2026-11-28 13:42 UTC)),
            "28 Nov 2026, 13:42 UTC"
        );
        assert_eq!(
            iso(&ny, datetime!(2026-01-15 17:30 UTC)),
            "2026-01-15T12:30:00-05:00"
        );
        let read = |v: &str| parse_local(&ny, "the start", v);
        assert_eq!(
            read("2026-07-04T09:05").ok(),
            Some(Some(datetime!(2026-07-04 13:05 UTC)))
        );
        assert_eq!(
            read("2026-07-04T09:05:30").ok(),
            Some(Some(datetime!(2026-07-04 13:05:30 UTC)))
        );
        assert_eq!(read("  ").ok(), Some(None));
        for bad in ["tomorrow", "2026-07-04", "2026-13-04T09:05"] {
            let e = read(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(
                e.contains("the start must be a date and time"),
                "{bad}: {e}"
            );
        }
        let gap = read("2026-03-08T02:30")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            gap.contains("2026-03-08 02:30 does not exist in America/New_York"),
            "{gap}"
        );
    }

    #[test]
    fn due_badges_carry_the_due_time_in_the_zone() {
        use time::macros::datetime;
        let ny = Zone::named("America/New_York").unwrap_or_else(|e| panic!("{e}"));
        let now = datetime!(2026-01-15 14:00 UTC);
        let due = badge(datetime!(2026-01-15 17:00 UTC), now, &ny);
        assert_eq!((due.class, due.text.as_str()), ("ok", "Due in 3 h"));
        assert_eq!(due.at, "15 Jan 2026, 12:00 EST");
        assert_eq!(due.iso, "2026-01-15T12:00:00-05:00");
        let soon = badge(datetime!(2026-01-15 14:20 UTC), now, &ny);
        assert_eq!((soon.class, soon.text.as_str()), ("soon", "Due in 20 min"));
        let late = badge(datetime!(2026-01-15 13:30 UTC), now, &ny);
        assert_eq!(
            (late.class, late.text.as_str()),
            ("overdue", "Overdue by 30 min")
        );
        assert_eq!(late.at, "15 Jan 2026, 08:30 EST");
    }

    #[test]
    fn wifi_and_directory_read_plainly() {
        let s = DeviceSnapshot {
            wifi: Some(Wifi {
                interface: Some("Wi-Fi".into()),
                ssid: Some("District-Staff".into()),
                signal_percent: Some(87),
                band: Some("5 GHz".into()),
            }),
            directory: Some(DirectoryJoin {
                kind: JoinKind::Hybrid,
                domain: Some("district.local".into()),
                tenant_id: Some("0e0adb39".into()),
                tenant_name: Some("Lincoln Schools".into()),
            }),
            ..Default::default()
        };
        let v = snapshot_view(&s, false, &Zone::utc());
        let get = |label: &str| {
            v.facts
                .iter()
                .find(|f| f.label == label)
                .map(|f| f.value.clone())
        };
        assert_eq!(
            get("Wi-Fi").as_deref(),
            Some("Network \u{201c}District-Staff\u{201d}, signal 87%, 5 GHz (adapter Wi-Fi)")
        );
        assert_eq!(
            get("Joined to").as_deref(),
            Some(
                "Hybrid: Active Directory domain district.local and Microsoft Entra ID: \
                 Lincoln Schools (tenant 0e0adb39)"
            )
        );
        assert_eq!(
            wifi_text(&Wifi {
                interface: Some("wlan0".into()),
                ..Default::default()
            }),
            "Not connected (adapter wlan0)"
        );
        let workgroup = DirectoryJoin {
            kind: JoinKind::Workgroup,
            ..Default::default()
        };
        assert_eq!(
            directory_text(&workgroup).as_deref(),
            Some("No domain (workgroup)")
        );
        let unknown = DirectoryJoin::default();
        assert_eq!(directory_text(&unknown), None);
        assert!(v.warnings.is_empty());
        let weak = DeviceSnapshot {
            wifi: Some(Wifi {
                signal_percent: Some(22),
                ..Default::default()
            }),
            ..Default::default()
        };
        let v = snapshot_view(&weak, false, &Zone::utc());
        assert_eq!(v.warnings, ["Weak Wi-Fi signal (22%)"]);
        assert_eq!(v.facts[0].value, "Connected, signal 22%");
    }

    #[test]
    fn snapshot_warnings_are_highlighted() {
        let s = DeviceSnapshot {
            disks: vec![
                Disk {
                    mount: "C:".into(),
                    total_bytes: 100_000,
                    free_bytes: 5_000,
                },
                Disk {
                    mount: "D:".into(),
                    total_bytes: 100_000,
                    free_bytes: 50_000,
                },
            ],
            clock_skew_secs: Some(-300),
            server_reachability: Some(Reachability {
                reachable: false,
                latency_ms: None,
                error: Some("timed out".into()),
            }),
            ..Default::default()
        };
        let v = snapshot_view(&s, true, &Zone::utc());
        assert!(v.disks[0].low && !v.disks[1].low);
        assert_eq!(v.warnings.len(), 3, "{:?}", v.warnings);
        assert!(v.warnings.iter().any(|w| w.contains("5 min behind")));
        let calm = snapshot_view(
            &DeviceSnapshot {
                clock_skew_secs: Some(30),
                ..Default::default()
            },
            false,
            &Zone::utc(),
        );
        assert!(calm.warnings.is_empty());
    }
}
