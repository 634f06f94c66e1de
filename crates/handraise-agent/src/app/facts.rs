//! The device facts in plain words, and leaving out the ones the teacher unticked.

use super::{App, FactItem, IpcResult};
use handraise_wire::DeviceSnapshot;

const GB: f64 = 1024.0 * 1024.0 * 1024.0;

fn gb(bytes: u64) -> String {
    let v = bytes as f64 / GB;
    if v >= 10.0 {
        format!("{v:.0} GB")
    } else {
        format!("{v:.1} GB")
    }
}

/// The device facts in plain words, one line per item the teacher can untick.
pub fn fact_items(s: &DeviceSnapshot) -> Vec<FactItem> {
    let mut out = Vec::new();
    let mut add = |key: &str, label: &str, value: String| {
        if !value.trim().is_empty() {
            out.push(FactItem {
                key: key.to_owned(),
                label: label.to_owned(),
                value,
            });
        }
    };
    if let Some(h) = &s.hostname {
        add("computer", "Computer name", h.clone());
    }
    let os = [s.os_name.as_deref(), s.os_version.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    add("os", "System", os);
    let model = [s.manufacturer.as_deref(), s.model.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let serial = s
        .serial
        .as_deref()
        .map(|x| format!(" (serial {x})"))
        .unwrap_or_default();
    add(
        "model",
        "Model",
        format!("{model}{serial}").trim().to_owned(),
    );
    if let Some(c) = &s.cpu {
        let cores = c.cores.map(|n| format!(", {n} cores")).unwrap_or_default();
        add(
            "cpu",
            "Processor",
            format!("{}{cores}", c.model.as_deref().unwrap_or("unknown")),
        );
    }
    if let Some(m) = &s.memory {
        add(
            "memory",
            "Memory",
            format!("{} of {} used", gb(m.used_bytes), gb(m.total_bytes)),
        );
    }
    if !s.disks.is_empty() {
        let disks = s
            .disks
            .iter()
            .map(|d| {
                format!(
                    "{}: {} free of {}",
                    d.mount,
                    gb(d.free_bytes),
                    gb(d.total_bytes)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        add("disks", "Disk space", disks);
    }
    let addrs: Vec<String> = s
        .interfaces
        .iter()
        .filter(|i| i.name != "lo" && !i.addresses.is_empty())
        .map(|i| format!("{} {}", i.name, i.addresses.join(", ")))
        .collect();
    let mut net = addrs.join("; ");
    if let Some(g) = &s.default_gateway {
        net.push_str(&format!("; gateway {g}"));
    }
    if !s.dns_servers.is_empty() {
        net.push_str(&format!("; DNS {}", s.dns_servers.join(", ")));
    }
    add(
        "network",
        "Network",
        net.trim_start_matches("; ").to_owned(),
    );
    if let Some(r) = &s.server_reachability {
        let v = if r.reachable {
            match r.latency_ms {
                Some(ms) => format!("Reached the help desk in {ms} ms"),
                None => "Reached the help desk".to_owned(),
            }
        } else {
            "Could not reach the help desk".to_owned()
        };
        add("connection", "Help desk connection", v);
    }
    if let Some(b) = &s.battery {
        let charge = b
            .charge_percent
            .map(|c| format!("{c:.0}% charged"))
            .unwrap_or_default();
        let health = b
            .health_percent
            .map(|h| format!(", health {h:.0}%"))
            .unwrap_or_default();
        add("battery", "Battery", format!("{charge}{health}"));
    }
    if !s.displays.is_empty() {
        let d = s
            .displays
            .iter()
            .map(|d| format!("{}×{}", d.width, d.height))
            .collect::<Vec<_>>()
            .join(", ");
        add("displays", "Screens", d);
    }
    if !s.printers.is_empty() {
        add("printers", "Printers", s.printers.join(", "));
    }
    if !s.top_processes.is_empty() {
        let p = s
            .top_processes
            .iter()
            .map(|p| p.name.clone())
            .collect::<Vec<_>>()
            .join(", ");
        add("processes", "Busiest programs", p);
    }
    let mut time = s.time_zone.clone().unwrap_or_default();
    if let Some(skew) = s.clock_skew_secs
        && skew.abs() >= 60
    {
        time.push_str(&format!(
            " (clock {} min {})",
            skew.abs() / 60,
            if skew > 0 { "fast" } else { "slow" }
        ));
    }
    add("time", "Time zone", time.trim().to_owned());
    if let Some(up) = s.uptime_secs {
        let h = up / 3600;
        let v = if h >= 48 {
            format!("{} days", h / 24)
        } else {
            format!("{h} hours")
        };
        add("uptime", "Running for", v);
    }
    out
}

/// Removes the facts behind each unticked key.
pub fn omit_facts(s: &mut DeviceSnapshot, keys: &[String]) {
    for key in keys {
        match key.as_str() {
            "computer" => s.hostname = None,
            "os" => {
                s.os_name = None;
                s.os_version = None;
                s.kernel = None;
                s.arch = None;
            }
            "model" => {
                s.manufacturer = None;
                s.model = None;
                s.serial = None;
            }
            "cpu" => s.cpu = None,
            "memory" => s.memory = None,
            "disks" => s.disks.clear(),
            "network" => {
                s.interfaces.clear();
                s.default_gateway = None;
                s.dns_servers.clear();
            }
            "connection" => s.server_reachability = None,
            "battery" => s.battery = None,
            "displays" => s.displays.clear(),
            "printers" => s.printers.clear(),
            "processes" => s.top_processes.clear(),
            "time" => {
                s.time_zone = None;
                s.clock_skew_secs = None;
            }
            "uptime" => s.uptime_secs = None,
            _ => {}
        }
    }
}

impl App {
    /// The facts a report will carry, in plain words.
    pub async fn facts(&self) -> IpcResult<Vec<FactItem>> {
        let mut snapshot = self.agent.current_facts().await?;
        omit_facts(&mut snapshot, &self.agent.config().policy.hide_facts);
        Ok(fact_items(&snapshot))
    }
}
