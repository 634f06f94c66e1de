//! "Check my connection": DNS, the default gateway, the district server and the internet,
//! each with a tick or a cross, and one verdict for the teacher.
//!
//! These are the only active probes of hosts other than the district server, and they run
//! only when the teacher asks; their targets come from configuration.

use serde::Serialize;
use std::time::{Duration, Instant};

#[cfg(feature = "ts")]
use ts_rs::TS;

/// One probe's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(TS))]
pub struct Check {
    /// `dns`, `gateway`, `server` or `internet`.
    pub key: String,
    /// `null` when the check could not be made (nothing configured, no gateway known).
    pub ok: Option<bool>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub ms: Option<u64>,
    /// What was tried, for the technician ("192.168.1.1", "help.district.example").
    pub target: String,
    /// One line on what went wrong, for the technician.
    pub detail: Option<String>,
}

/// The sentence the teacher reads, as a key the UI translates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(TS))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Everything that could be checked works.
    AllGood,
    /// Not on a network at all (no gateway, or the gateway does not answer).
    NoNetwork,
    /// On the network but names cannot be looked up.
    NoDns,
    /// On the network, the help desk answers, but not the internet.
    NoInternet,
    /// The internet works but the help desk does not answer.
    NoHelpDesk,
    /// Neither the help desk nor the internet answers, though the network is there.
    NothingBeyondNetwork,
}

/// What "Check my connection" found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(TS))]
pub struct ConnectionReport {
    pub checks: Vec<Check>,
    pub verdict: Verdict,
    /// Offer to report a problem in this category (`wifi` when the network is at fault).
    #[cfg_attr(feature = "ts", ts(type = "Category | null"))]
    pub suggest_category: Option<handraise_wire::Category>,
}

/// The verdict from the four outcomes (`None` = not checked). Pure, for tests.
pub fn verdict(
    dns: Option<bool>,
    gateway: Option<bool>,
    server: Option<bool>,
    internet: Option<bool>,
) -> Verdict {
    let failed = |c: Option<bool>| c == Some(false);
    if failed(gateway) {
        Verdict::NoNetwork
    } else if failed(dns) {
        Verdict::NoDns
    } else if failed(server) && failed(internet) {
        Verdict::NothingBeyondNetwork
    } else if failed(internet) {
        Verdict::NoInternet
    } else if failed(server) {
        Verdict::NoHelpDesk
    } else {
        Verdict::AllGood
    }
}

fn suggestion(v: Verdict) -> Option<handraise_wire::Category> {
    match v {
        Verdict::AllGood | Verdict::NoHelpDesk => None,
        _ => Some(handraise_wire::Category::Wifi),
    }
}

/// The targets: from configuration, the server URL and the OS's routing table.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    pub dns_name: Option<String>,
    pub gateway: Option<String>,
    pub server_health_url: Option<String>,
    pub internet_url: Option<String>,
}

const TIMEOUT: Duration = Duration::from_secs(4);

fn ms(t: Instant) -> Option<u64> {
    u64::try_from(t.elapsed().as_millis()).ok()
}

async fn check_dns(name: Option<&str>) -> Check {
    let Some(name) = name else {
        return Check {
            key: "dns".into(),
            ok: None,
            ms: None,
            target: String::new(),
            detail: Some("no name to look up".into()),
        };
    };
    let t = Instant::now();
    if name.parse::<std::net::IpAddr>().is_ok() {
        // An address needs no lookup: nothing to test.
        return Check {
            key: "dns".into(),
            ok: None,
            ms: None,
            target: name.into(),
            detail: Some("the help desk is configured by address".into()),
        };
    }
    let result = tokio::time::timeout(TIMEOUT, tokio::net::lookup_host((name, 80))).await;
    let (ok, detail) = match result {
        Ok(Ok(mut addrs)) => match addrs.next() {
            Some(_) => (true, None),
            None => (false, Some("no address".into())),
        },
        Ok(Err(e)) => (false, Some(e.to_string())),
        Err(_) => (false, Some("no answer in time".into())),
    };
    Check {
        key: "dns".into(),
        ok: Some(ok),
        ms: ms(t),
        target: name.into(),
        detail,
    }
}

/// Pings the gateway once with the system's `ping` (no raw sockets needed here).
async fn check_gateway(gateway: Option<&str>) -> Check {
    let Some(gw) = gateway else {
        return Check {
            key: "gateway".into(),
            ok: Some(false),
            ms: None,
            target: String::new(),
            detail: Some("no default route: not connected to a network".into()),
        };
    };
    let t = Instant::now();
    let out = tokio::time::timeout(
        TIMEOUT,
        tokio::process::Command::new("ping")
            .args(["-c", "1", "-W", "2", gw])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status(),
    )
    .await;
    let (ok, detail) = match out {
        Ok(Ok(status)) => (
            Some(status.success()),
            (!status.success()).then(|| "no reply".to_owned()),
        ),
        // No ping on this system: the route exists, so the network is at least configured.
        Ok(Err(_)) => (None, Some("ping is not available".into())),
        Err(_) => (Some(false), Some("no reply in time".into())),
    };
    Check {
        key: "gateway".into(),
        ok,
        ms: ms(t),
        target: gw.into(),
        detail,
    }
}

async fn check_http(key: &str, client: &reqwest::Client, url: Option<&str>) -> Check {
    let Some(url) = url else {
        return Check {
            key: key.into(),
            ok: None,
            ms: None,
            target: String::new(),
            detail: Some("not configured".into()),
        };
    };
    let t = Instant::now();
    let result = client.get(url).timeout(TIMEOUT).send().await;
    let (ok, detail) = match result {
        // Any answer below 500 proves the path works (a captive portal's redirect too).
        Ok(resp) if resp.status().as_u16() < 500 => (true, None),
        Ok(resp) => (false, Some(format!("answered {}", resp.status()))),
        Err(e) if e.is_timeout() => (false, Some("no answer in time".into())),
        Err(e) if e.is_connect() => (false, Some("could not connect".into())),
        Err(e) => (false, Some(e.to_string())),
    };
    Check {
        key: key.into(),
        ok: Some(ok),
        ms: ms(t),
        target: url.into(),
        detail,
    }
}

/// Runs the four checks at once.
pub async fn run(client: &reqwest::Client, targets: &Targets) -> ConnectionReport {
    let (dns, gateway, server, internet) = tokio::join!(
        check_dns(targets.dns_name.as_deref()),
        check_gateway(targets.gateway.as_deref()),
        check_http("server", client, targets.server_health_url.as_deref()),
        check_http("internet", client, targets.internet_url.as_deref()),
    );
    let v = verdict(dns.ok, gateway.ok, server.ok, internet.ok);
    ConnectionReport {
        checks: vec![dns, gateway, server, internet],
        verdict: v,
        suggest_category: suggestion(v),
    }
}

/// The host of a URL (`https://help.example:8443/x` → `help.example`).
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(authority),
    };
    (!host.is_empty()).then(|| host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_the_first_broken_link() {
        let (t, f, n) = (Some(true), Some(false), None);
        let cases = [
            ((t, t, t, t), Verdict::AllGood),
            ((t, f, t, t), Verdict::NoNetwork),
            ((f, t, t, t), Verdict::NoDns),
            ((t, t, t, f), Verdict::NoInternet),
            ((t, t, f, t), Verdict::NoHelpDesk),
            ((t, t, f, f), Verdict::NothingBeyondNetwork),
            ((n, n, t, n), Verdict::AllGood),
            ((n, t, t, f), Verdict::NoInternet),
        ];
        for ((dns, gw, srv, net), want) in cases {
            assert_eq!(
                verdict(dns, gw, srv, net),
                want,
                "{dns:?} {gw:?} {srv:?} {net:?}"
            );
        }
        assert_eq!(
            suggestion(Verdict::NoInternet),
            Some(handraise_wire::Category::Wifi)
        );
        assert_eq!(suggestion(Verdict::NoHelpDesk), None);
    }

    #[test]
    fn url_hosts() {
        assert_eq!(
            url_host("https://help.example:8443/x").as_deref(),
            Some("help.example")
        );
        assert_eq!(url_host("http://127.0.0.1:9").as_deref(), Some("127.0.0.1"));
        assert_eq!(url_host("http://[::1]:80/").as_deref(), Some("::1"));
        assert_eq!(url_host("help.example").as_deref(), Some("help.example"));
    }

    #[tokio::test]
    async fn loopback_server_reachable_and_dead_port_not() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            }
        });
        let client = reqwest::Client::new();
        let targets = Targets {
            dns_name: Some("127.0.0.1".into()),
            gateway: Some("127.0.0.1".into()),
            server_health_url: Some(format!("http://{addr}/healthz")),
            internet_url: Some("http://127.0.0.1:9/".into()),
        };
        let report = run(&client, &targets).await;
        let get = |k: &str| report.checks.iter().find(|c| c.key == k).expect("check");
        assert_eq!(get("server").ok, Some(true));
        assert_eq!(get("internet").ok, Some(false));
        assert_eq!(get("dns").ok, None, "an address needs no lookup");
        assert_eq!(report.verdict, Verdict::NoInternet, "{report:?}");
        assert_eq!(
            report.suggest_category,
            Some(handraise_wire::Category::Wifi)
        );
    }
}
