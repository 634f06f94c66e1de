//! The Wi-Fi fact: the adapter, the network's name (SSID), the signal and the band.
//!
//! Windows: `netsh wlan show interfaces` (only at [`Depth::Full`]: a subprocess), read by
//! [`parse_netsh`], which does not depend on the labels' language. Linux: `/proc/net/wireless`
//! (every wireless adapter and its signal; a file, so also at [`Depth::Quick`]) and, at
//! [`Depth::Full`], `iw dev ADAPTER link` for the network's name and band, or NetworkManager's
//! `nmcli` when `iw` is not installed. No adapter, no `netsh` (a desktop, Wine) or a failing command: no fact, never an error.

use super::Depth;
#[cfg(not(windows))]
use super::read;
use handraise_wire::Wifi;
#[cfg(windows)]
use std::time::Duration;

/// The Wi-Fi fact of this computer.
#[cfg(windows)]
pub(super) fn collect(depth: Depth) -> Option<Wifi> {
    if depth != Depth::Full {
        return None;
    }
    let out = super::run_with_timeout(
        "netsh",
        &["wlan", "show", "interfaces"],
        Duration::from_millis(3000),
    )?;
    parse_netsh(&out)
}

/// The Wi-Fi fact of this computer.
#[cfg(not(windows))]
pub(super) fn collect(depth: Depth) -> Option<Wifi> {
    let adapters = parse_proc_wireless(&read("/proc/net/wireless")?);
    let (interface, signal) = adapters
        .iter()
        .find(|(_, signal)| signal.is_some())
        .or(adapters.first())?
        .clone();
    let mut wifi = Wifi {
        interface: Some(interface),
        signal_percent: signal,
        ..Wifi::default()
    };
    if depth == Depth::Full
        && let Some(iface) = wifi.interface.clone()
        && let Some(link) = linux_link(&iface)
    {
        wifi.ssid = link.ssid;
        wifi.band = link.band;
        wifi.signal_percent = link.signal_percent.or(wifi.signal_percent);
        if link.connected == Some(false) {
            wifi.signal_percent = None;
        }
    }
    Some(wifi)
}

/// What `iw`, else `nmcli`, says about the adapter's link.
#[cfg(not(windows))]
fn linux_link(iface: &str) -> Option<Link> {
    let limit = std::time::Duration::from_millis(1500);
    if let Some(out) = super::run_with_timeout("iw", &["dev", iface, "link"], limit) {
        return Some(parse_iw_link(&out));
    }
    let args = [
        "-t",
        "-f",
        "IN-USE,SSID,SIGNAL,FREQ",
        "device",
        "wifi",
        "list",
        "ifname",
        iface,
        "--rescan",
        "no",
    ];
    super::run_with_timeout("nmcli", &args, limit).map(|out| parse_nmcli(&out))
}

/// The interface `netsh wlan show interfaces` prints first as connected (it has an SSID),
/// else the first one, not connected. Interfaces are blocks of `label : value` lines between
/// blank lines; labels are translated except `GUID` and `SSID`, so an interface is a block
/// with a `GUID`, its name is its first value, the signal is the value like `87%`, the band
/// the value like `5 GHz`.
#[cfg_attr(not(windows), allow(dead_code))]
pub fn parse_netsh(text: &str) -> Option<Wifi> {
    let mut first: Option<Wifi> = None;
    let mut blocks: Vec<Vec<(&str, &str)>> = vec![Vec::new()];
    for line in text.lines() {
        match line.split_once(':') {
            _ if line.trim().is_empty() => blocks.push(Vec::new()),
            Some((label, value)) => blocks
                .last_mut()
                .expect("never empty")
                .push((label.trim(), value.trim())),
            None => {}
        }
    }
    for pairs in blocks {
        if !pairs.iter().any(|(label, _)| *label == "GUID") {
            continue;
        }
        let mut wifi = Wifi {
            interface: pairs
                .first()
                .map(|(_, v)| (*v).to_owned())
                .filter(|v| !v.is_empty()),
            ..Wifi::default()
        };
        for (label, value) in &pairs {
            if *label == "SSID" && !value.is_empty() {
                wifi.ssid = Some((*value).to_owned());
            } else if let Some(p) = percent(value) {
                wifi.signal_percent = Some(p);
            } else if let Some(b) = band(value) {
                wifi.band = Some(b);
            }
        }
        if wifi.ssid.is_some() {
            return Some(wifi);
        }
        // Not connected: whatever it printed about a signal does not hold.
        wifi.signal_percent = None;
        first.get_or_insert(wifi);
    }
    first
}

/// `87%` or `87 %` → 87 (at most 100).
fn percent(value: &str) -> Option<u8> {
    let digits = value.strip_suffix('%')?.trim_end();
    if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u8>().ok().map(|p| p.min(100))
}

/// `5 GHz`, `2,4 GHz` → "5 GHz", "2.4 GHz".
fn band(value: &str) -> Option<String> {
    let number = value.strip_suffix("GHz")?.trim().replace(',', ".");
    let ghz: f64 = number.parse().ok()?;
    (ghz > 0.0 && ghz < 100.0).then(|| format!("{number} GHz"))
}

/// The adapters of `/proc/net/wireless` and their signal (none when there is no link).
/// The level column is in dBm on today's drivers; without it the link quality counts out
/// of 70, the scale most drivers use.
#[cfg_attr(windows, allow(dead_code))]
pub fn parse_proc_wireless(text: &str) -> Vec<(String, Option<u8>)> {
    text.lines()
        .skip(2)
        .filter_map(|line| {
            let (name, rest) = line.split_once(':')?;
            let cols: Vec<f64> = rest
                .split_whitespace()
                .skip(1)
                .take(2)
                .filter_map(|c| c.trim_end_matches('.').parse().ok())
                .collect();
            let signal = match cols[..] {
                [link, level] if link > 0.0 && level < 0.0 => Some(dbm_percent(level)),
                [link, _] if link > 0.0 => Some((link / 70.0 * 100.0).round().min(100.0) as u8),
                _ => None,
            };
            Some((name.trim().to_owned(), signal))
        })
        .filter(|(name, _)| !name.is_empty())
        .collect()
}

/// dBm to a percentage as NetworkManager and Windows show it: -100 dBm or less is 0,
/// -50 dBm or more is 100.
fn dbm_percent(dbm: f64) -> u8 {
    (2.0 * (dbm + 100.0)).clamp(0.0, 100.0).round() as u8
}

/// What `iw dev ADAPTER link` or `nmcli` says about an adapter's link.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Link {
    /// `Some(false)` for "Not connected.".
    pub connected: Option<bool>,
    pub ssid: Option<String>,
    pub signal_percent: Option<u8>,
    pub band: Option<String>,
}

#[cfg_attr(windows, allow(dead_code))]
pub fn parse_iw_link(text: &str) -> Link {
    let mut link = Link::default();
    for line in text.lines().map(str::trim) {
        if line.starts_with("Not connected") {
            link.connected = Some(false);
        } else if line.starts_with("Connected to") {
            link.connected = Some(true);
        } else if let Some(ssid) = line.strip_prefix("SSID:") {
            link.ssid = Some(ssid.trim().to_owned()).filter(|s| !s.is_empty());
        } else if let Some(freq) = line.strip_prefix("freq:") {
            let mhz = freq.split_whitespace().next().and_then(|f| f.parse().ok());
            link.band = mhz.and_then(band_of_mhz).map(str::to_owned);
        } else if let Some(signal) = line.strip_prefix("signal:") {
            let dbm = signal
                .split_whitespace()
                .next()
                .and_then(|s| s.parse().ok());
            link.signal_percent = dbm.map(dbm_percent);
        }
    }
    link
}

/// `nmcli -t -f IN-USE,SSID,SIGNAL,FREQ device wifi list`: the network marked `*` is the
/// one in use (terse output escapes `:` and `\` in a name with a backslash).
#[cfg_attr(windows, allow(dead_code))]
pub fn parse_nmcli(text: &str) -> Link {
    let in_use = text
        .lines()
        .map(split_terse)
        .find(|f| f.len() >= 4 && f[0] == "*");
    let Some(f) = in_use else {
        return Link {
            connected: Some(false),
            ..Link::default()
        };
    };
    let mhz = f[3].split_whitespace().next().and_then(|m| m.parse().ok());
    Link {
        connected: Some(true),
        ssid: Some(f[1].clone()).filter(|s| !s.is_empty()),
        signal_percent: f[2].parse::<u8>().ok().map(|p| p.min(100)),
        band: mhz.and_then(band_of_mhz).map(str::to_owned),
    }
}

/// One line of `nmcli -t` output split at its unescaped colons.
fn split_terse(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => field.extend(chars.next()),
            ':' => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// The band of a channel's frequency.
fn band_of_mhz(mhz: f64) -> Option<&'static str> {
    match mhz {
        2400.0..2500.0 => Some("2.4 GHz"),
        4900.0..5925.0 => Some("5 GHz"),
        5925.0..7125.0 => Some("6 GHz"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NETSH_EN: &str = "\r
There is 1 interface on the system: \r
\r
    Name                   : Wi-Fi\r
    Description            : Intel(R) Wi-Fi 6 AX201 160MHz\r
    GUID                   : 5f1e2a3b-0000-4000-8000-0123456789ab\r
    Physical address       : a4:b1:c1:00:11:22\r
    Interface type         : Primary\r
    State                  : connected\r
    SSID                   : District-Staff\r
    AP BSSID               : 11:22:33:44:55:66\r
    Band                   : 5 GHz\r
    Channel                : 36\r
    Network type           : Infrastructure\r
    Radio type             : 802.11ax\r
    Authentication         : WPA2-Enterprise\r
    Receive rate (Mbps)    : 573.5\r
    Signal                 : 87%\r
    Profile                : District-Staff\r
\r
    Hosted network status  : Not available\r
";

    // Spanish Windows 10: translated labels, no band line, two interfaces (the first one
    // not connected).
    const NETSH_ES: &str = "
Hay 2 interfaces en el sistema:

    Nombre                 : Wi-Fi 2
    Descripción            : USB Wireless LAN
    GUID                   : 00000000-1111-2222-3333-444444444444
    Dirección física       : 00:11:22:33:44:55
    Estado                 : desconectado
    Estado de radio        : Hardware Activado

    Nombre                 : Wi-Fi
    Descripción            : Intel(R) Dual Band Wireless-AC 8265
    GUID                   : 5f1e2a3b-0000-4000-8000-0123456789ab
    Dirección física       : a4:b1:c1:00:11:22
    Estado                 : conectado
    SSID                   : Aula 12: Invitados
    BSSID                  : 11:22:33:44:55:66
    Tipo de radio          : 802.11ac
    Canal                  : 6
    Velocidad de recepción (Mbps) : 144,4
    Señal                  : 64 %
    Perfil                 : Aula 12
";

    #[test]
    fn netsh_in_english_and_spanish() {
        assert_eq!(
            parse_netsh(NETSH_EN),
            Some(Wifi {
                interface: Some("Wi-Fi".into()),
                ssid: Some("District-Staff".into()),
                signal_percent: Some(87),
                band: Some("5 GHz".into()),
            })
        );
        assert_eq!(
            parse_netsh(NETSH_ES),
            Some(Wifi {
                interface: Some("Wi-Fi".into()),
                ssid: Some("Aula 12: Invitados".into()),
                signal_percent: Some(64),
                band: None,
            })
        );
    }

    #[test]
    fn netsh_without_a_connection_or_without_wifi() {
        let disconnected = "There is 1 interface on the system:\n\n    Name : Wi-Fi\n    \
            GUID : 5f1e2a3b\n    State : disconnected\n    Signal : 0%\n";
        assert_eq!(
            parse_netsh(disconnected),
            Some(Wifi {
                interface: Some("Wi-Fi".into()),
                ..Wifi::default()
            })
        );
        // A desktop without the WLAN service, and what Wine's netsh says.
        assert_eq!(
            parse_netsh("The Wireless AutoConfig Service (wlansvc) is not running.\n"),
            None
        );
        assert_eq!(
            parse_netsh("The following commands are available:\n\n- ? : help\n"),
            None
        );
        assert_eq!(parse_netsh(""), None);
    }

    #[test]
    fn small_values() {
        assert_eq!(percent("87%"), Some(87));
        assert_eq!(percent("100 %"), Some(100));
        assert_eq!(percent("250%"), Some(100));
        assert_eq!(percent("%"), None);
        assert_eq!(percent("1234%"), None);
        assert_eq!(percent("-5%"), None);
        assert_eq!(band("2,4 GHz").as_deref(), Some("2.4 GHz"));
        assert_eq!(band("6 GHz").as_deref(), Some("6 GHz"));
        assert_eq!(band("GHz"), None);
        assert_eq!(dbm_percent(-52.0), 96);
        assert_eq!(dbm_percent(-40.0), 100);
        assert_eq!(dbm_percent(-120.0), 0);
    }

    #[test]
    fn proc_net_wireless() {
        let text =
            "Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE
 face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22
wlp2s0: 0000   54.  -56.  -256        0      0      0      0     12        0
 wlan1: 0000    0.    0.     0        0      0      0      0      0        0
 wlan2: 0000   35.    0.     0        0      0      0      0      0        0
";
        assert_eq!(
            parse_proc_wireless(text),
            vec![
                ("wlp2s0".to_owned(), Some(88)),
                ("wlan1".to_owned(), None),
                ("wlan2".to_owned(), Some(50)),
            ]
        );
        assert!(parse_proc_wireless("Inter-|\n face |\n").is_empty());
    }

    #[test]
    fn iw_link() {
        let text = "Connected to 11:22:33:44:55:66 (on wlp2s0)
\tSSID: District Staff
\tfreq: 2437
\tRX: 1234 bytes (10 packets)
\tsignal: -61 dBm
\ttx bitrate: 144.4 MBit/s
";
        assert_eq!(
            parse_iw_link(text),
            Link {
                connected: Some(true),
                ssid: Some("District Staff".into()),
                signal_percent: Some(78),
                band: Some("2.4 GHz".into()),
            }
        );
        assert_eq!(
            parse_iw_link("Not connected.\n"),
            Link {
                connected: Some(false),
                ..Link::default()
            }
        );
        assert_eq!(
            parse_iw_link("\tfreq: 5180.0\n").band.as_deref(),
            Some("5 GHz")
        );
    }

    #[test]
    fn nmcli_terse() {
        let text =
            " :Neighbours:40:2412 MHz\n*:Aula 12\\: Staff:73:5500 MHz\n :Other:90:5180 MHz\n";
        assert_eq!(
            parse_nmcli(text),
            Link {
                connected: Some(true),
                ssid: Some("Aula 12: Staff".into()),
                signal_percent: Some(73),
                band: Some("5 GHz".into()),
            }
        );
        assert_eq!(
            parse_nmcli(" :Neighbours:40:2412 MHz\n").connected,
            Some(false)
        );
        assert_eq!(parse_nmcli("").connected, Some(false));
    }
}
