//! The device facts as the windows show them, and leaving out the ones the teacher unticked.
//!
//! A fact travels as a stable key and its value in parts: each part is a phrase of the UI's
//! catalogues (`ui/src/lib/i18n/`) with the values of its placeholders, so the windows say
//! it in the teacher's language. The label of fact `os` is the message `fact.os`; a phrase
//! names its own message (`fact.memory.used`). A test checks both catalogues have them all.

use super::{App, FactArg, FactItem, FactPart, IpcResult};
use handraise_wire::{DeviceSnapshot, DirectoryJoin, JoinKind, Wifi};
use serde::{Serialize, Serializer};

/// An enum sent as one of a fixed set of strings, with the list of all its values.
macro_rules! string_enum {
    ($(#[$meta:meta])* $vis:vis enum $ty:ident { $($(#[$doc:meta])* $name:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $ty { $($(#[$doc])* $name,)* }

        impl $ty {
            pub const ALL: &[$ty] = &[$($ty::$name,)*];

            pub fn as_str(self) -> &'static str {
                match self { $($ty::$name => $text,)* }
            }

            pub fn parse(s: &str) -> Option<$ty> {
                $ty::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// Which fact: the key the teacher unticks (and `policy.hide_facts` names), and the
    /// label's message `fact.<key>` in the UI catalogues.
    pub enum FactKey {
        Computer = "computer",
        Os = "os",
        Model = "model",
        Cpu = "cpu",
        Memory = "memory",
        Disks = "disks",
        Network = "network",
        Wifi = "wifi",
        Directory = "directory",
        Connection = "connection",
        Battery = "battery",
        Displays = "displays",
        Printers = "printers",
        Processes = "processes",
        Time = "time",
        Uptime = "uptime",
    }
}

/// The phrases, each with the placeholders of its message (which its parts fill).
macro_rules! phrases {
    ($($(#[$doc:meta])* $name:ident = $text:literal [$($param:literal),*],)*) => {
        string_enum! {
            /// A phrase of a fact's value: the key of its message in the UI catalogues.
            pub enum FactPhrase { $($(#[$doc])* $name = $text,)* }
        }

        impl FactPhrase {
            /// The placeholders of the phrase's message, which its parts fill.
            pub fn params(self) -> &'static [&'static str] {
                match self { $(FactPhrase::$name => &[$($param),*],)* }
            }
        }
    };
}

phrases! {
    /// Names and numbers that need no words, shown as they are: `{value}`.
    Value = "fact.value" ["value"],
    ModelSerial = "fact.model.serial" ["model", "serial"],
    Serial = "fact.model.serialOnly" ["serial"],
    CpuCores = "fact.cpu.cores" ["model", "cores"],
    CpuUnknown = "fact.cpu.unknown" [],
    CpuUnknownCores = "fact.cpu.unknownCores" ["cores"],
    MemoryUsed = "fact.memory.used" ["used", "total"],
    DiskFree = "fact.disks.free" ["mount", "free", "total"],
    Gateway = "fact.network.gateway" ["address"],
    Dns = "fact.network.dns" ["servers"],
    WifiSignal = "fact.wifi.networkSignal" ["network", "signal"],
    WifiSignalOnly = "fact.wifi.signal" ["signal"],
    WifiDisconnected = "fact.wifi.disconnected" [],
    Workgroup = "fact.directory.workgroup" [],
    Domain = "fact.directory.domain" ["domain"],
    Entra = "fact.directory.entra" ["tenant"],
    Hybrid = "fact.directory.hybrid" ["domain", "tenant"],
    Reached = "fact.connection.reached" [],
    ReachedIn = "fact.connection.reachedIn" ["ms"],
    Unreachable = "fact.connection.unreachable" [],
    Charge = "fact.battery.charge" ["charge"],
    ChargeHealth = "fact.battery.chargeHealth" ["charge", "health"],
    Health = "fact.battery.health" ["health"],
    ZoneClockFast = "fact.time.zoneFast" ["zone", "minutes"],
    ZoneClockSlow = "fact.time.zoneSlow" ["zone", "minutes"],
    ClockFast = "fact.time.fast" ["minutes"],
    ClockSlow = "fact.time.slow" ["minutes"],
    UptimeDays = "fact.uptime.days" ["days"],
    UptimeHours = "fact.uptime.hours" ["hours"],
}

impl FactPart {
    fn new<const N: usize>(phrase: FactPhrase, args: [(&'static str, FactArg); N]) -> Self {
        debug_assert_eq!(
            args.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            phrase.params(),
            "{phrase:?}"
        );
        FactPart {
            phrase,
            args: args.into_iter().collect(),
        }
    }

    /// A value shown as it is; none when it is blank.
    fn value(v: impl Into<String>) -> Option<Self> {
        let v: String = v.into();
        let v = v.trim();
        (!v.is_empty()).then(|| FactPart::new(FactPhrase::Value, [("value", v.into())]))
    }
}

const GB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Gigabytes, to one decimal below 10 and whole above.
fn gb(bytes: u64) -> FactArg {
    let v = bytes as f64 / GB;
    FactArg::Number(if v >= 10.0 {
        v.round()
    } else {
        (v * 10.0).round() / 10.0
    })
}

fn joined<'a>(words: impl IntoIterator<Item = Option<&'a str>>) -> String {
    words.into_iter().flatten().collect::<Vec<_>>().join(" ")
}

/// The device facts as the windows show them, one per item the teacher can untick; facts
/// with nothing to say are left out.
pub fn fact_items(s: &DeviceSnapshot) -> Vec<FactItem> {
    use FactPhrase as P;
    let mut out = Vec::new();
    let mut add = |key: FactKey, parts: Vec<FactPart>| {
        if !parts.is_empty() {
            out.push(FactItem { key, parts });
        }
    };
    let value = |v: String| FactPart::value(v).into_iter().collect::<Vec<_>>();
    if let Some(h) = &s.hostname {
        add(FactKey::Computer, value(h.clone()));
    }
    add(
        FactKey::Os,
        value(joined([s.os_name.as_deref(), s.os_version.as_deref()])),
    );
    let model = joined([s.manufacturer.as_deref(), s.model.as_deref()]);
    let model = match s.serial.as_deref() {
        Some(serial) if model.is_empty() => {
            vec![FactPart::new(P::Serial, [("serial", serial.into())])]
        }
        Some(serial) => vec![FactPart::new(
            P::ModelSerial,
            [("model", model.into()), ("serial", serial.into())],
        )],
        None => value(model),
    };
    add(FactKey::Model, model);
    if let Some(c) = &s.cpu {
        let cpu = match (c.model.as_deref(), c.cores) {
            (Some(m), Some(n)) => vec![FactPart::new(
                P::CpuCores,
                [("model", m.into()), ("cores", n.into())],
            )],
            (Some(m), None) => value(m.to_owned()),
            (None, Some(n)) => vec![FactPart::new(P::CpuUnknownCores, [("cores", n.into())])],
            (None, None) => vec![FactPart::new(P::CpuUnknown, [])],
        };
        add(FactKey::Cpu, cpu);
    }
    if let Some(m) = &s.memory {
        let used = [("used", gb(m.used_bytes)), ("total", gb(m.total_bytes))];
        add(FactKey::Memory, vec![FactPart::new(P::MemoryUsed, used)]);
    }
    let disks = s.disks.iter().map(|d| {
        let args = [
            ("mount", d.mount.as_str().into()),
            ("free", gb(d.free_bytes)),
            ("total", gb(d.total_bytes)),
        ];
        FactPart::new(P::DiskFree, args)
    });
    add(FactKey::Disks, disks.collect());
    let mut net: Vec<FactPart> = s
        .interfaces
        .iter()
        .filter(|i| i.name != "lo" && !i.addresses.is_empty())
        .filter_map(|i| FactPart::value(format!("{} {}", i.name, i.addresses.join(", "))))
        .collect();
    if let Some(g) = &s.default_gateway {
        net.push(FactPart::new(P::Gateway, [("address", g.as_str().into())]));
    }
    if !s.dns_servers.is_empty() {
        let servers = s.dns_servers.join(", ");
        net.push(FactPart::new(P::Dns, [("servers", servers.into())]));
    }
    add(FactKey::Network, net);
    if let Some(w) = &s.wifi {
        add(FactKey::Wifi, wifi_parts(w));
    }
    if let Some(d) = &s.directory {
        add(FactKey::Directory, directory_parts(d));
    }
    if let Some(r) = &s.server_reachability {
        let part = match (r.reachable, r.latency_ms) {
            (true, Some(ms)) => FactPart::new(P::ReachedIn, [("ms", FactArg::Number(ms as f64))]),
            (true, None) => FactPart::new(P::Reached, []),
            (false, _) => FactPart::new(P::Unreachable, []),
        };
        add(FactKey::Connection, vec![part]);
    }
    if let Some(b) = &s.battery {
        let pct = |p: f64| FactArg::Number(p.round());
        let battery = match (b.charge_percent, b.health_percent) {
            (Some(c), Some(h)) => vec![FactPart::new(
                P::ChargeHealth,
                [("charge", pct(c)), ("health", pct(h))],
            )],
            (Some(c), None) => vec![FactPart::new(P::Charge, [("charge", pct(c))])],
            (None, Some(h)) => vec![FactPart::new(P::Health, [("health", pct(h))])],
            (None, None) => Vec::new(),
        };
        add(FactKey::Battery, battery);
    }
    let displays: Vec<String> = s
        .displays
        .iter()
        .map(|d| format!("{}×{}", d.width, d.height))
        .collect();
    add(FactKey::Displays, value(displays.join(", ")));
    add(FactKey::Printers, value(s.printers.join(", ")));
    let busiest: Vec<&str> = s.top_processes.iter().map(|p| p.name.as_str()).collect();
    add(FactKey::Processes, value(busiest.join(", ")));
    let zone = s.time_zone.as_deref().unwrap_or_default().trim();
    let time = match s.clock_skew_secs.filter(|skew| skew.abs() >= 60) {
        Some(skew) => {
            let minutes = ("minutes", FactArg::Number((skew.abs() / 60) as f64));
            let phrase = match (zone.is_empty(), skew > 0) {
                (false, true) => P::ZoneClockFast,
                (false, false) => P::ZoneClockSlow,
                (true, true) => P::ClockFast,
                (true, false) => P::ClockSlow,
            };
            if zone.is_empty() {
                vec![FactPart::new(phrase, [minutes])]
            } else {
                vec![FactPart::new(phrase, [("zone", zone.into()), minutes])]
            }
        }
        None => value(zone.to_owned()),
    };
    add(FactKey::Time, time);
    if let Some(up) = s.uptime_secs {
        let h = up / 3600;
        let part = if h >= 48 {
            FactPart::new(P::UptimeDays, [("days", FactArg::Number((h / 24) as f64))])
        } else {
            FactPart::new(P::UptimeHours, [("hours", FactArg::Number(h as f64))])
        };
        add(FactKey::Uptime, vec![part]);
    }
    out
}

/// "District-Staff (signal 87%); 5 GHz", or "Not connected".
fn wifi_parts(w: &Wifi) -> Vec<FactPart> {
    use FactPhrase as P;
    let signal = w
        .signal_percent
        .map(|p| ("signal", FactArg::Number(f64::from(p))));
    let ssid = w.ssid.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let mut parts = match (ssid, signal) {
        (Some(n), Some(signal)) => vec![FactPart::new(
            P::WifiSignal,
            [("network", n.into()), signal],
        )],
        (Some(n), None) => FactPart::value(n).into_iter().collect(),
        (None, Some(signal)) => vec![FactPart::new(P::WifiSignalOnly, [signal])],
        (None, None) => return vec![FactPart::new(P::WifiDisconnected, [])],
    };
    parts.extend(w.band.as_deref().and_then(FactPart::value));
    parts
}

/// "domain district.local", "Microsoft Entra (Lincoln Schools)", "No domain (workgroup)".
fn directory_parts(d: &DirectoryJoin) -> Vec<FactPart> {
    use FactPhrase as P;
    let domain = d.domain.as_deref().map(|v| ("domain", FactArg::from(v)));
    let tenant = d
        .tenant_name
        .as_deref()
        .or(d.tenant_id.as_deref())
        .map(|v| ("tenant", FactArg::from(v)));
    let part = match (d.kind, domain, tenant) {
        (JoinKind::Workgroup, _, _) => FactPart::new(P::Workgroup, []),
        (JoinKind::Hybrid, Some(domain), Some(tenant)) => {
            FactPart::new(P::Hybrid, [domain, tenant])
        }
        (JoinKind::ActiveDirectory | JoinKind::Hybrid, Some(domain), _) => {
            FactPart::new(P::Domain, [domain])
        }
        (JoinKind::Entra | JoinKind::Hybrid, _, Some(tenant)) => FactPart::new(P::Entra, [tenant]),
        _ => return Vec::new(),
    };
    vec![part]
}

/// Removes the facts behind each unticked key (unknown keys are ignored).
pub fn omit_facts(s: &mut DeviceSnapshot, keys: &[String]) {
    for key in keys.iter().filter_map(|k| FactKey::parse(k)) {
        match key {
            FactKey::Computer => s.hostname = None,
            FactKey::Os => {
                s.os_name = None;
                s.os_version = None;
                s.kernel = None;
                s.arch = None;
            }
            FactKey::Model => {
                s.manufacturer = None;
                s.model = None;
                s.serial = None;
            }
            FactKey::Cpu => s.cpu = None,
            FactKey::Memory => s.memory = None,
            FactKey::Disks => s.disks.clear(),
            FactKey::Network => {
                s.interfaces.clear();
                s.default_gateway = None;
                s.dns_servers.clear();
            }
            FactKey::Wifi => s.wifi = None,
            FactKey::Directory => s.directory = None,
            FactKey::Connection => s.server_reachability = None,
            FactKey::Battery => s.battery = None,
            FactKey::Displays => s.displays.clear(),
            FactKey::Printers => s.printers.clear(),
            FactKey::Processes => s.top_processes.clear(),
            FactKey::Time => {
                s.time_zone = None;
                s.clock_skew_secs = None;
            }
            FactKey::Uptime => s.uptime_secs = None,
        }
    }
}

impl App {
    /// The facts a report will carry, as the windows show them. The report form's submit
    /// sends this very snapshot (see [`App::previewed_facts`]), not a later reading.
    pub async fn facts(&self) -> IpcResult<Vec<FactItem>> {
        let mut snapshot = self.agent.current_facts().await?;
        omit_facts(&mut snapshot, &self.agent.config().policy.hide_facts);
        let items = fact_items(&snapshot);
        if let Ok(mut slot) = self.previewed.lock() {
            *slot = Some(snapshot);
        }
        Ok(items)
    }

    /// The snapshot the form previewed, taken (a second report reads afresh), or a fresh
    /// reading when the form showed none (a report from a script).
    pub(super) async fn previewed_facts(&self) -> IpcResult<DeviceSnapshot> {
        let held = self.previewed.lock().ok().and_then(|mut slot| slot.take());
        match held {
            Some(snapshot) => Ok(snapshot),
            None => Ok(self.agent.current_facts().await?),
        }
    }

    /// Forgets the previewed facts (the report form closed).
    pub(super) fn discard_previewed_facts(&self) {
        if let Ok(mut slot) = self.previewed.lock() {
            *slot = None;
        }
    }
}
