//! Windows facts, read from the registry where Windows keeps them (no WMI, no subprocess):
//! the edition, release and build with its update revision, the maker and model from the
//! firmware, the print queues, the time zone, the DNS servers, the default gateway and the
//! domain or Entra join ([`super::join`] says which values and why). The battery comes from
//! `starship-battery` (the Win32 power calls; none under Wine), the Wi-Fi from
//! [`super::wifi`]. Each probe is optional like the others of [`super`].

use super::join::{JoinValues, directory_join};
use handraise_wire::{Battery, DeviceSnapshot, DirectoryJoin};
use windows_registry::{Key, LOCAL_MACHINE};

const CURRENT_VERSION: &str = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion";
const BIOS: &str = r"HARDWARE\DESCRIPTION\System\BIOS";
const PRINTERS: &str = r"SYSTEM\CurrentControlSet\Control\Print\Printers";
const TIME_ZONE: &str = r"SYSTEM\CurrentControlSet\Control\TimeZoneInformation";
const TCPIP_INTERFACES: &str = r"SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces";
const GROUP_POLICY_MACHINE: &str =
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\Group Policy\DataStore\Machine\0";
const ENTRA_JOIN_INFO: &str = r"SYSTEM\CurrentControlSet\Control\CloudDomainJoin\JoinInfo";
const ENTRA_TENANT_INFO: &str = r"SYSTEM\CurrentControlSet\Control\CloudDomainJoin\TenantInfo";

fn string(key: &Key, name: &str) -> Option<String> {
    key.get_string(name)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && !super::is_placeholder(s))
}

/// Fills what Windows knows better than the portable probes.
pub fn fill(s: &mut DeviceSnapshot) {
    if let Ok(key) = LOCAL_MACHINE.open(CURRENT_VERSION) {
        let build = string(&key, "CurrentBuild");
        let ubr = key.get_u32("UBR").ok();
        if let Some(build) = &build {
            // Windows 11 still says "Windows 10" in ProductName; the build tells them apart.
            let product = string(&key, "ProductName").map(|p| windows_11_name(&p, build));
            let release = string(&key, "DisplayVersion").or_else(|| string(&key, "ReleaseId"));
            s.os_version = Some(os_version(
                product.as_deref(),
                release.as_deref(),
                build,
                ubr,
            ));
            // "10.0" from Windows 10 on; older releases only have the string.
            let version = match (
                key.get_u32("CurrentMajorVersionNumber"),
                key.get_u32("CurrentMinorVersionNumber"),
            ) {
                (Ok(major), Ok(minor)) => format!("{major}.{minor}"),
                _ => string(&key, "CurrentVersion").unwrap_or_else(|| "10.0".into()),
            };
            s.kernel = Some(match ubr {
                Some(u) => format!("{version}.{build}.{u}"),
                None => format!("{version}.{build}"),
            });
        }
    }
    if let Ok(key) = LOCAL_MACHINE.open(BIOS) {
        s.manufacturer = string(&key, "SystemManufacturer").or(s.manufacturer.take());
        s.model = string(&key, "SystemProductName").or(s.model.take());
    }
    if let Ok(key) = LOCAL_MACHINE.open(PRINTERS)
        && let Ok(names) = key.keys()
    {
        let mut names: Vec<String> = names.collect();
        names.sort();
        s.printers = names;
    }
    if let Ok(key) = LOCAL_MACHINE.open(TIME_ZONE) {
        s.time_zone = string(&key, "TimeZoneKeyName").or(s.time_zone.take());
    }
    let (dns, gateway) = tcpip();
    if !dns.is_empty() {
        s.dns_servers = dns;
    }
    s.default_gateway = gateway.or(s.default_gateway.take());
    s.directory = directory();
    s.battery = battery().or(s.battery.take());
}

/// `ERROR_FILE_NOT_FOUND` as the registry's error code: the key is not there.
const NOT_FOUND: i32 = 0x8007_0002_u32 as i32;

/// `Some(None)` when the key is absent, none when it could not be read (access denied): then
/// the answer is unknown, not "no".
fn open_if_present(path: &str) -> Option<Option<Key>> {
    match LOCAL_MACHINE.open(path) {
        Ok(key) => Some(Some(key)),
        Err(e) if e.code().0 == NOT_FOUND => Some(None),
        Err(_) => None,
    }
}

/// The domain or Entra join, from the registry; none when a key could not be read.
fn directory() -> Option<DirectoryJoin> {
    let policy = open_if_present(GROUP_POLICY_MACHINE)?;
    let join_info = open_if_present(ENTRA_JOIN_INFO)?;
    let mut v = JoinValues {
        policy_domain: policy.and_then(|k| string(&k, "DomainName")),
        ..JoinValues::default()
    };
    if let Some(root) = join_info {
        let mut thumbprints: Vec<String> = root.keys().ok()?.collect();
        thumbprints.sort();
        v.tenant_id = thumbprints
            .iter()
            .filter_map(|t| root.open(t).ok())
            .find_map(|k| string(&k, "TenantId"));
    }
    if let Some(id) = &v.tenant_id {
        v.tenant_name = LOCAL_MACHINE
            .open(format!(r"{ENTRA_TENANT_INFO}\{id}"))
            .ok()
            .and_then(|k| string(&k, "DisplayName"));
    }
    Some(directory_join(v))
}

/// The first battery Windows reports; none on a desktop (or under Wine).
fn battery() -> Option<Battery> {
    use starship_battery::State;
    use starship_battery::units::ratio::percent;
    let first = starship_battery::Manager::new()
        .ok()?
        .batteries()
        .ok()?
        .find_map(Result::ok)?;
    let charging = match first.state() {
        State::Charging | State::Full | State::Paused => Some(true),
        State::Discharging | State::Empty => Some(false),
        State::Unknown => None,
    };
    Some(Battery {
        charge_percent: super::percent_figure(first.state_of_charge().get::<percent>()),
        health_percent: super::percent_figure(first.state_of_health().get::<percent>()),
        charging,
    })
}

/// "Windows 10 Pro" on build 22000 or later is Windows 11.
fn windows_11_name(product: &str, build: &str) -> String {
    match build.parse::<u32>() {
        Ok(b) if b >= 22000 && product.starts_with("Windows 10") => {
            product.replacen("Windows 10", "Windows 11", 1)
        }
        _ => product.to_owned(),
    }
}

/// "Windows 11 Pro 23H2 (build 22631.3007)".
fn os_version(
    product: Option<&str>,
    release: Option<&str>,
    build: &str,
    ubr: Option<u32>,
) -> String {
    let mut out = String::from(product.unwrap_or("Windows"));
    if let Some(r) = release {
        out.push(' ');
        out.push_str(r);
    }
    out.push_str(&format!(" (build {build}"));
    if let Some(u) = ubr {
        out.push_str(&format!(".{u}"));
    }
    out.push(')');
    out
}

/// DNS servers and the default gateway of the interfaces, static first, else from DHCP.
fn tcpip() -> (Vec<String>, Option<String>) {
    let mut dns: Vec<String> = Vec::new();
    let mut gateway = None;
    let Ok(root) = LOCAL_MACHINE.open(TCPIP_INTERFACES) else {
        return (dns, gateway);
    };
    let Ok(ids) = root.keys() else {
        return (dns, gateway);
    };
    for id in ids {
        let Ok(key) = root.open(&id) else { continue };
        let servers = string(&key, "NameServer").or_else(|| string(&key, "DhcpNameServer"));
        for addr in servers.iter().flat_map(|s| split_list(s)) {
            if !dns.contains(&addr) {
                dns.push(addr);
            }
        }
        if gateway.is_none() {
            gateway = key
                .get_multi_string("DefaultGateway")
                .ok()
                .and_then(|v| v.into_iter().find(|g| !g.is_empty()))
                .or_else(|| {
                    key.get_multi_string("DhcpDefaultGateway")
                        .ok()
                        .and_then(|v| v.into_iter().find(|g| !g.is_empty()))
                });
        }
    }
    (dns, gateway)
}

/// "10.0.0.1 10.0.0.2" or "10.0.0.1,10.0.0.2" → the addresses.
fn split_list(s: &str) -> Vec<String> {
    s.split([' ', ','])
        .map(str::trim)
        .filter(|a| a.parse::<std::net::IpAddr>().is_ok())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_lists() {
        assert_eq!(windows_11_name("Windows 10 Pro", "22631"), "Windows 11 Pro");
        assert_eq!(windows_11_name("Windows 10 Pro", "19045"), "Windows 10 Pro");
        assert_eq!(
            os_version(Some("Windows 11 Pro"), Some("23H2"), "22631", Some(3007)),
            "Windows 11 Pro 23H2 (build 22631.3007)"
        );
        assert_eq!(split_list("10.0.0.1 10.0.0.2,x"), ["10.0.0.1", "10.0.0.2"]);
    }
}
