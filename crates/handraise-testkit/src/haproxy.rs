//! A load balancer in front of several server nodes: Debian's HAProxy, started in the
//! foreground with a generated configuration in a temporary directory, on loopback:
//! round-robin over the backends, each checked with `GET /healthz`, a connection refused by a
//! dead node tried again on another (`option redispatch`). A statistics page on a second
//! port tells which backends HAProxy sees up. Without the package the tests skip, and under
//! [`crate::REQUIRE_PEERS_ENV`] they fail.

use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const HAPROXY: &str = "/usr/sbin/haproxy";
/// How many times a start is tried on new ports when a chosen one was taken meanwhile.
const PORT_TRIES: usize = 5;

/// A running HAProxy; stopped when dropped.
pub struct HaProxy {
    dir: tempfile::TempDir,
    child: Child,
    /// The port clients connect to.
    pub port: u16,
    stats_port: u16,
    backends: usize,
}

impl HaProxy {
    /// HAProxy balancing over the servers on 127.0.0.1 at `backend_ports`, once it answers
    /// (not waiting for the backends: see [`HaProxy::wait_all_up`]). `Ok(None)` (the reason
    /// printed) when HAProxy is missing and the peers are not required.
    pub fn start(backend_ports: &[u16]) -> Result<Option<HaProxy>> {
        let Some(program) = crate::peer_program(HAPROXY)? else {
            return Ok(None);
        };
        let mut dir = tempfile::Builder::new()
            .prefix("handraise-haproxy")
            .tempdir()?;
        let mut last = String::new();
        for _ in 0..PORT_TRIES {
            let port = crate::free_port()?;
            let stats_port = crate::free_port()?;
            let config = dir.path().join("haproxy.cfg");
            std::fs::write(&config, config_text(port, stats_port, backend_ports))?;
            let log = dir.path().join("haproxy.log");
            let out = std::fs::File::create(&log)?;
            let child = Command::new(&program)
                .arg("-db")
                .arg("-f")
                .arg(&config)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(out.try_clone()?)
                .stderr(out)
                .spawn()
                .with_context(|| format!("could not start {}", program.display()))?;
            let mut lb = HaProxy {
                dir,
                child,
                port,
                stats_port,
                backends: backend_ports.len(),
            };
            let answered = crate::wait_until(
                &format!("HAProxy on 127.0.0.1:{port} and :{stats_port}"),
                Duration::from_secs(60),
                || {
                    lb.exited()
                        || (lb.stats().is_ok() && TcpStream::connect(("127.0.0.1", port)).is_ok())
                },
            );
            let exited = lb.exited();
            last = lb.log();
            match answered {
                Ok(()) if !exited => return Ok(Some(lb)),
                _ if exited && last.contains("cannot bind socket") => {}
                Ok(()) => bail!("HAProxy exited: {last}"),
                Err(e) => return Err(e.context(last)),
            }
            // A port was taken between the choice and the bind: the next try gets new ones.
            let _ = crate::process::terminate(&mut lb.child, Duration::from_secs(5));
            dir = tempfile::Builder::new()
                .prefix("handraise-haproxy")
                .tempdir()?;
        }
        bail!("HAProxy did not start on any of {PORT_TRIES} pairs of free ports: {last}")
    }

    /// `http://127.0.0.1:PORT`, what agents enroll against.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Whether HAProxy sees each backend up, in the order given to [`HaProxy::start`].
    pub fn backends_up(&self) -> Result<Vec<bool>> {
        let csv = self.stats()?;
        let mut lines = csv.lines();
        let header = lines.next().context("empty HAProxy statistics")?;
        let column = |name: &str| {
            header
                .trim_start_matches("# ")
                .split(',')
                .position(|c| c == name)
                .with_context(|| format!("no {name} column in HAProxy statistics: {header}"))
        };
        let (proxy, server, status) = (column("pxname")?, column("svname")?, column("status")?);
        let mut up = vec![false; self.backends];
        for line in lines {
            let cells: Vec<&str> = line.split(',').collect();
            if cells.get(proxy) != Some(&"nodes") {
                continue;
            }
            let Some(index) = cells
                .get(server)
                .and_then(|s| s.strip_prefix("node"))
                .and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            if let Some(slot) = up.get_mut(index) {
                *slot = cells.get(status).is_some_and(|s| s.starts_with("UP"));
            }
        }
        Ok(up)
    }

    /// Waits until HAProxy's health checks see every backend up.
    pub fn wait_all_up(&self, timeout: Duration) -> Result<()> {
        crate::wait_until("HAProxy to see every backend up", timeout, || {
            self.backends_up().is_ok_and(|up| up.iter().all(|&u| u))
        })
        .with_context(|| format!("backends up: {:?}; {}", self.backends_up(), self.log()))
    }

    /// HAProxy's own output (warnings, alerts).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("haproxy.log")).unwrap_or_default()
    }

    fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// The statistics page as CSV.
    fn stats(&self) -> Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.stats_port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(b"GET /stats;csv HTTP/1.0\r\nHost: haproxy\r\n\r\n")?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        let (head, body) = answer
            .split_once("\r\n\r\n")
            .context("no end of headers from HAProxy's statistics")?;
        if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
            bail!("HAProxy's statistics answered {head}");
        }
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            Ok(body.to_owned())
        }
    }
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = crate::process::terminate(&mut self.child, Duration::from_secs(5));
    }
}

/// The body of a chunked answer.
fn dechunk(mut body: &str) -> Result<String> {
    let mut out = String::new();
    loop {
        let (size, rest) = body
            .split_once("\r\n")
            .context("a chunk without its size")?;
        let size = usize::from_str_radix(size.trim(), 16)
            .with_context(|| format!("a chunk size {size:?}"))?;
        if size == 0 {
            return Ok(out);
        }
        out.push_str(rest.get(..size).context("a chunk cut short")?);
        let after = rest.get(size..).unwrap_or_default();
        body = after.strip_prefix("\r\n").unwrap_or(after);
    }
}

/// The configuration: the front on `port`, statistics on `stats_port`, the backends `node0`,
/// `node1`, … Timeouts outlast the agents' 25 s long-polls; health checks every 250 ms,
/// down after two failures, up after one success.
fn config_text(port: u16, stats_port: u16, backend_ports: &[u16]) -> String {
    let mut text = format!(
        "global\n    maxconn 4096\n\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 90s\n    \
         timeout server 90s\n    timeout http-request 30s\n    retries 3\n    option redispatch\n\n\
         frontend front\n    bind 127.0.0.1:{port}\n    default_backend nodes\n\n\
         listen stats\n    bind 127.0.0.1:{stats_port}\n    stats enable\n    stats uri /stats\n\n\
         backend nodes\n    balance roundrobin\n    option httpchk\n    \
         http-check send meth GET uri /healthz\n    http-check expect status 200\n    \
         default-server inter 250ms fastinter 100ms downinter 250ms fall 2 rise 1\n"
    );
    for (i, backend) in backend_ports.iter().enumerate() {
        text.push_str(&format!("    server node{i} 127.0.0.1:{backend} check\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::HaProxy;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    /// A backend answering every request with `200` and its name, until `stop`.
    fn backend(name: &'static str, stop: Arc<AtomicBool>) -> anyhow::Result<u16> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                let mut head = [0u8; 4096];
                let _ = stream.read(&mut head);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{name}",
                    name.len()
                );
            }
        });
        Ok(port)
    }

    fn get(port: u16) -> anyhow::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: test\r\n\r\n")?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer
            .rsplit("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .to_owned())
    }

    #[test]
    fn round_robin_over_backends_and_a_dead_one_is_seen_down() -> anyhow::Result<()> {
        let stops = [
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        ];
        let ports = [
            backend("a", stops[0].clone())?,
            backend("b", stops[1].clone())?,
        ];
        let Some(lb) = HaProxy::start(&ports)? else {
            return Ok(());
        };
        lb.wait_all_up(Duration::from_secs(60))?;
        let mut seen = vec![get(lb.port)?, get(lb.port)?];
        seen.sort();
        assert_eq!(seen, ["a", "b"], "one request each, in turn");

        stops[1].store(true, Ordering::Relaxed);
        crate::wait_until("HAProxy to see b down", Duration::from_secs(60), || {
            lb.backends_up().is_ok_and(|up| up == [true, false])
        })?;
        for _ in 0..4 {
            assert_eq!(get(lb.port)?, "a", "only the live backend answers");
        }
        Ok(())
    }
}
