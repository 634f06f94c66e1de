//! Device facts: the snapshot attached to a ticket.
//!
//! Every field is optional and every probe is allowed to fail; a failing probe
//! leaves its field out and never fails the snapshot. No probe sends network
//! traffic: reachability and clock skew come from the sync engine's last
//! contact with the configured server (passed in as [`ContactFacts`]).

use handraise_wire::{
    Battery, Cpu, DeviceSnapshot, Disk, Display, Memory, NetInterface, ProcessInfo, Reachability,
    SNAPSHOT_SCHEMA_VERSION,
};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

mod join;
mod wifi;
#[cfg(windows)]
mod windows;

/// How thorough a snapshot is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// No CPU sampling, no process list, no subprocesses: a few milliseconds.
    Quick,
    /// Samples CPU usage and processes (about a quarter of a second) and asks
    /// the print system for printers (bounded by a timeout).
    Full,
}

/// What the sync engine knows about the server, for the reachability and
/// clock-skew facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactFacts {
    pub reachability: Option<Reachability>,
    pub clock_skew_secs: Option<i64>,
}

/// Collects a snapshot. Blocking; call from a blocking thread in async code.
pub fn collect(depth: Depth, contact: &ContactFacts, now: OffsetDateTime) -> DeviceSnapshot {
    let mut s = DeviceSnapshot {
        schema_version: SNAPSHOT_SCHEMA_VERSION,
        collected_at: Some(now),
        app_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        server_reachability: contact.reachability.clone(),
        clock_skew_secs: contact.clock_skew_secs,
        ..Default::default()
    };
    s.hostname = sysinfo::System::host_name().ok();
    s.os_name = sysinfo::System::name().ok();
    s.os_version = sysinfo::System::long_os_version()
        .ok()
        .or_else(|| sysinfo::System::os_version().ok());
    s.kernel = sysinfo::System::kernel_version().ok();
    s.arch = Some(sysinfo::System::cpu_arch()).filter(|a| !a.is_empty());
    s.uptime_secs = sysinfo::System::uptime().ok();

    let (manufacturer, model, serial) = hardware_ids();
    s.manufacturer = manufacturer;
    s.model = model;
    s.serial = serial;

    if let Ok(mut sys) = sysinfo::System::new() {
        sys.refresh_memory();
        let total = sys.total_memory();
        if total > 0 {
            s.memory = Some(Memory {
                total_bytes: total,
                used_bytes: sys.used_memory(),
            });
        }
        sys.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
        let load = if cfg!(windows) {
            None
        } else {
            sysinfo::System::load_average().ok().map(|l| l.one)
        };
        let mut cpu = Cpu {
            model: sys
                .cpus()
                .first()
                .map(|c| c.brand().trim().to_owned())
                .filter(|b| !b.is_empty()),
            cores: u32::try_from(sys.cpus().len()).ok().filter(|n| *n > 0),
            load_1m: load,
        };
        if depth == Depth::Full {
            s.top_processes = top_processes(&mut sys);
            if cpu.load_1m.is_none() {
                cpu.load_1m = Some(f64::from(sys.global_cpu_usage()));
            }
        }
        s.cpu = Some(cpu);
    }

    if let Ok(disks) = sysinfo::Disks::new_with_refreshed_list() {
        s.disks = disks
            .iter()
            .filter(|d| d.total_space() > 0)
            .map(|d| Disk {
                mount: d.mount_point().display().to_string(),
                total_bytes: d.total_space(),
                free_bytes: d.available_space(),
            })
            .collect();
    }
    if let Ok(nets) = sysinfo::Networks::new_with_refreshed_list() {
        let mut ifs: Vec<NetInterface> = nets
            .iter()
            .map(|(name, data)| NetInterface {
                name: name.to_string_lossy().into_owned(),
                mac: Some(data.mac_address())
                    .filter(|m| !m.is_unspecified())
                    .map(|m| m.to_string()),
                addresses: data
                    .ip_networks()
                    .iter()
                    .map(|n| format!("{}/{}", n.addr, n.prefix))
                    .collect(),
            })
            .collect();
        ifs.sort_by(|a, b| a.name.cmp(&b.name));
        s.interfaces = ifs;
    }

    s.default_gateway = read("/proc/net/route").and_then(|t| parse_default_gateway(&t));
    s.dns_servers = read("/etc/resolv.conf")
        .map(|t| parse_resolv_conf(&t))
        .unwrap_or_default();
    s.battery = linux_battery(Path::new("/sys/class/power_supply"));
    s.wifi = wifi::collect(depth);
    s.displays = linux_displays(Path::new("/sys/class/drm"));
    s.printers = printers(depth);
    s.time_zone = time_zone();
    #[cfg(windows)]
    windows::fill(&mut s);
    // The directory join is known on Windows only (`windows::fill`); Linux leaves it out.
    s
}

fn read(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn read_trimmed(path: impl AsRef<Path>) -> Option<String> {
    read(path)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && !is_placeholder(s))
}

/// Firmware placeholders that carry no information.
fn is_placeholder(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.contains("to be filled")
        || l == "default string"
        || l == "system product name"
        || l == "not specified"
        || l == "none"
}

fn hardware_ids() -> (Option<String>, Option<String>, Option<String>) {
    let dmi = Path::new("/sys/class/dmi/id");
    (
        read_trimmed(dmi.join("sys_vendor")),
        read_trimmed(dmi.join("product_name")),
        // Readable by root only on most distributions; absent otherwise.
        read_trimmed(dmi.join("product_serial")),
    )
}

fn top_processes(sys: &mut sysinfo::System) -> Vec<ProcessInfo> {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate};
    let kind = ProcessRefreshKind::nothing().with_cpu().with_memory();
    sys.refresh_cpu_usage();
    sys.refresh_processes_specifics(ProcessesToUpdate::All, true, kind);
    std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL.max(Duration::from_millis(200)));
    sys.refresh_cpu_usage();
    sys.refresh_processes_specifics(ProcessesToUpdate::All, true, kind);
    let procs: Vec<ProcessInfo> = sys
        .processes()
        .values()
        .filter(|p| p.thread_kind().is_none())
        .map(|p| ProcessInfo {
            // The process name only, never its command line.
            name: p.name().to_string_lossy().into_owned(),
            cpu_percent: p.cpu_usage(),
            memory_bytes: p.memory(),
        })
        .collect();
    pick_top(procs, 5)
}

/// The top `n` by CPU and the top `n` by memory, without duplicates.
fn pick_top(mut procs: Vec<ProcessInfo>, n: usize) -> Vec<ProcessInfo> {
    procs.sort_by(|a, b| b.cpu_percent.total_cmp(&a.cpu_percent));
    let mut out: Vec<ProcessInfo> = procs.iter().take(n).cloned().collect();
    procs.sort_by_key(|p| std::cmp::Reverse(p.memory_bytes));
    for p in procs.into_iter().take(n) {
        if !out
            .iter()
            .any(|o| o.name == p.name && o.memory_bytes == p.memory_bytes)
        {
            out.push(p);
        }
    }
    out
}

/// The default IPv4 gateway from the text of `/proc/net/route` (hex,
/// little-endian addresses).
pub fn parse_default_gateway(route_table: &str) -> Option<String> {
    route_table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 4 || cols[1] != "00000000" {
            return None;
        }
        let flags = u32::from_str_radix(cols[3], 16).ok()?;
        const RTF_UP: u32 = 0x1;
        const RTF_GATEWAY: u32 = 0x2;
        if flags & RTF_UP == 0 || flags & RTF_GATEWAY == 0 {
            return None;
        }
        let raw = u32::from_str_radix(cols[2], 16).ok()?;
        Some(Ipv4Addr::from(raw.swap_bytes()).to_string())
    })
}

/// The `nameserver` entries of a resolv.conf text, in order, without duplicates.
pub fn parse_resolv_conf(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or_default();
        let mut words = line.split_whitespace();
        if words.next() != Some("nameserver") {
            continue;
        }
        if let Some(addr) = words.next() {
            let addr = addr.to_owned();
            if addr.parse::<std::net::IpAddr>().is_ok() && !out.contains(&addr) {
                out.push(addr);
            }
        }
    }
    out
}

/// The first battery under `/sys/class/power_supply`.
fn linux_battery(root: &Path) -> Option<Battery> {
    let mut entries: Vec<_> = std::fs::read_dir(root)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("BAT"))
        .map(|e| e.path())
        .collect();
    entries.sort();
    let bat = entries.first()?;
    let num = |f: &str| read_trimmed(bat.join(f)).and_then(|v| v.parse::<f64>().ok());
    let health = match (num("energy_full"), num("energy_full_design")) {
        (Some(full), Some(design)) if design > 0.0 => Some((full / design * 100.0).min(150.0)),
        _ => match (num("charge_full"), num("charge_full_design")) {
            (Some(full), Some(design)) if design > 0.0 => Some((full / design * 100.0).min(150.0)),
            _ => None,
        },
    };
    let charging = read_trimmed(bat.join("status")).map(|s| {
        let s = s.to_ascii_lowercase();
        s == "charging" || s == "full"
    });
    Some(Battery {
        charge_percent: num("capacity"),
        health_percent: health.map(|h| (h * 10.0).round() / 10.0),
        charging,
    })
}

/// A percentage as the battery fact carries it: to one decimal, none when it is not a
/// number or past 150 (a driver's nonsense).
#[cfg_attr(not(windows), allow(dead_code))]
fn percent_figure(v: f32) -> Option<f64> {
    let v = f64::from(v);
    (v.is_finite() && (0.0..=150.0).contains(&v)).then(|| (v * 10.0).round() / 10.0)
}

/// Connected displays from `/sys/class/drm/card*-*/{status,modes}`.
fn linux_displays(root: &Path) -> Vec<Display> {
    let Ok(dir) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut out: Vec<Display> = dir
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let connector = name.split_once('-')?.1.to_owned();
            let status = read_trimmed(e.path().join("status"))?;
            if status != "connected" {
                return None;
            }
            let modes = read(e.path().join("modes"))?;
            let (width, height) = parse_mode(modes.lines().next()?)?;
            Some(Display {
                name: Some(connector),
                width,
                height,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// `1920x1080` (optionally with a suffix like `i`) → (1920, 1080).
fn parse_mode(mode: &str) -> Option<(u32, u32)> {
    let (w, h) = mode.trim().split_once('x')?;
    let h: String = h.chars().take_while(char::is_ascii_digit).collect();
    Some((w.parse().ok()?, h.parse().ok()?))
}

fn printers(depth: Depth) -> Vec<String> {
    if depth == Depth::Full
        && let Some(out) = run_with_timeout("lpstat", &["-e"], Duration::from_millis(1500))
    {
        let mut names: Vec<String> = out
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        names.dedup();
        if !names.is_empty() {
            return names;
        }
    }
    read("/etc/cups/printers.conf")
        .map(|t| parse_printers_conf(&t))
        .unwrap_or_default()
}

/// Printer names of a CUPS `printers.conf`.
fn parse_printers_conf(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l
                .strip_prefix("<Printer ")
                .or_else(|| l.strip_prefix("<DefaultPrinter "))?;
            Some(rest.trim_end_matches('>').trim().to_owned())
        })
        .filter(|n| !n.is_empty())
        .collect()
}

/// Runs a command, returning its stdout (invalid UTF-8 replaced) if it finishes successfully
/// within `limit`. On Windows without a console window.
fn run_with_timeout(program: &str, args: &[&str], limit: Duration) -> Option<String> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = crate::windowless::windowless(&mut cmd).spawn().ok()?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                if !status.success() {
                    return None;
                }
                let mut out = Vec::new();
                use std::io::Read;
                child.stdout.take()?.read_to_end(&mut out).ok()?;
                return Some(String::from_utf8_lossy(&out).into_owned());
            }
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

fn time_zone() -> Option<String> {
    if let Some(tz) = std::env::var("TZ")
        .ok()
        .map(|t| t.trim_start_matches(':').to_owned())
        .filter(|t| !t.is_empty())
    {
        return Some(tz);
    }
    if let Some(tz) = read_trimmed("/etc/timezone") {
        return Some(tz);
    }
    let link = std::fs::read_link("/etc/localtime").ok()?;
    zone_from_localtime_link(&link.to_string_lossy())
}

/// `/usr/share/zoneinfo/Europe/Berlin` → `Europe/Berlin`.
fn zone_from_localtime_link(target: &str) -> Option<String> {
    let idx = target.find("zoneinfo/")?;
    let zone = &target[idx + "zoneinfo/".len()..];
    let zone = zone
        .strip_prefix("posix/")
        .or_else(|| zone.strip_prefix("right/"))
        .unwrap_or(zone);
    Some(zone.to_owned()).filter(|z| !z.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
";

    #[test]
    fn default_gateway_from_route_table() {
        assert_eq!(parse_default_gateway(ROUTE).as_deref(), Some("192.168.1.1"));
        // A default route that is down, or without the gateway flag, is skipped.
        let down = "Iface\tDestination\tGateway\tFlags\n\
                    wlan0\t00000000\t0A00000A\t0002\n\
                    eth1\t00000000\t FE01A8C0\t0003\n";
        assert_eq!(
            parse_default_gateway(down).as_deref(),
            Some("192.168.1.254")
        );
        assert_eq!(parse_default_gateway("Iface\tDestination\n"), None);
        assert_eq!(parse_default_gateway(""), None);
        assert_eq!(parse_default_gateway("h\neth0 00000000 ZZZZ 0003\n"), None);
    }

    #[test]
    fn nameservers_from_resolv_conf() {
        let text = "# Generated by NetworkManager\n\
                    search district.example\n\
                    nameserver 10.0.0.53\n\
                    nameserver   fd00::53  # ipv6\n\
                    ;nameserver 9.9.9.9\n\
                    nameserver 10.0.0.53\n\
                    nameserver not-an-ip\n\
                    options edns0\n";
        assert_eq!(parse_resolv_conf(text), vec!["10.0.0.53", "fd00::53"]);
        assert!(parse_resolv_conf("").is_empty());
    }

    #[test]
    fn battery_percentages() {
        assert_eq!(percent_figure(87.04), Some(87.0));
        assert_eq!(percent_figure(f32::NAN), None);
        assert_eq!(percent_figure(f32::INFINITY), None);
        assert_eq!(percent_figure(-1.0), None);
        assert_eq!(percent_figure(151.0), None);
    }

    #[test]
    fn small_parsers() {
        assert_eq!(parse_mode("1920x1080\n"), Some((1920, 1080)));
        assert_eq!(parse_mode("1920x1080i"), Some((1920, 1080)));
        assert_eq!(parse_mode("garbage"), None);
        assert_eq!(
            parse_printers_conf("<Printer Room12>\nInfo x\n</Printer>\n<DefaultPrinter Office>\n"),
            vec!["Room12", "Office"]
        );
        assert_eq!(
            zone_from_localtime_link("/usr/share/zoneinfo/America/Chicago").as_deref(),
            Some("America/Chicago")
        );
        assert_eq!(zone_from_localtime_link("/etc/nothing"), None);
    }

    #[test]
    fn top_processes_are_top_by_cpu_and_memory() {
        let procs: Vec<ProcessInfo> = (0..20)
            .map(|i| ProcessInfo {
                name: format!("p{i}"),
                cpu_percent: i as f32,
                memory_bytes: 1000 - i as u64,
            })
            .collect();
        let top = pick_top(procs, 5);
        let names: Vec<&str> = top.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "p19", "p18", "p17", "p16", "p15", "p0", "p1", "p2", "p3", "p4"
            ]
        );
    }

    #[test]
    fn battery_and_displays_from_sysfs_fixtures() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bat = dir.path().join("power/BAT0");
        std::fs::create_dir_all(&bat).expect("mkdir");
        std::fs::write(bat.join("capacity"), "87\n").expect("write");
        std::fs::write(bat.join("energy_full"), "40000000\n").expect("write");
        std::fs::write(bat.join("energy_full_design"), "50000000\n").expect("write");
        std::fs::write(bat.join("status"), "Discharging\n").expect("write");
        let b = linux_battery(&dir.path().join("power")).expect("battery");
        assert_eq!(b.charge_percent, Some(87.0));
        assert_eq!(b.health_percent, Some(80.0));
        assert_eq!(b.charging, Some(false));

        let drm = dir.path().join("drm");
        for (name, status, modes) in [
            ("card0-eDP-1", "connected", "1920x1080\n1280x720\n"),
            ("card0-HDMI-A-1", "disconnected", ""),
            ("card0-DP-2", "connected", "3840x2160\n"),
        ] {
            let p = drm.join(name);
            std::fs::create_dir_all(&p).expect("mkdir");
            std::fs::write(p.join("status"), status).expect("write");
            std::fs::write(p.join("modes"), modes).expect("write");
        }
        std::fs::create_dir_all(drm.join("card0")).expect("mkdir");
        let d = linux_displays(&drm);
        assert_eq!(
            d,
            vec![
                Display {
                    name: Some("DP-2".into()),
                    width: 3840,
                    height: 2160
                },
                Display {
                    name: Some("eDP-1".into()),
                    width: 1920,
                    height: 1080
                },
            ]
        );
    }

    #[test]
    fn quick_snapshot_is_quick_and_has_basics() {
        let start = Instant::now();
        let s = collect(
            Depth::Quick,
            &ContactFacts {
                reachability: None,
                clock_skew_secs: Some(-3),
            },
            OffsetDateTime::now_utc(),
        );
        assert!(
            start.elapsed() < Duration::from_millis(900),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(s.schema_version, SNAPSHOT_SCHEMA_VERSION);
        assert_eq!(s.clock_skew_secs, Some(-3));
        assert!(s.top_processes.is_empty());
        assert!(s.arch.is_some());
        assert!(s.app_version.is_some());
    }
}
