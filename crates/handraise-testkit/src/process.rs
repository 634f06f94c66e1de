//! The real `handraise-server` and `handraise-agent` binaries, started and driven as a
//! district and a teacher's laptop would run them.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The directory holding the debug binaries: `HANDRAISE_BIN_DIR` (set by `cargo xtask test`),
/// else `$CARGO_TARGET_DIR/debug`, else the workspace's `target/debug`.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HANDRAISE_BIN_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("debug");
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug")
}

/// A binary of [`bin_dir`], or an error saying how to build it.
pub fn bin(name: &str) -> Result<PathBuf> {
    let path = bin_dir().join(name);
    if !path.exists() {
        bail!(
            "{} is missing: build it first (`cargo build -p {name} --bins`, done by `cargo xtask test`) \
             or point HANDRAISE_BIN_DIR at the directory holding it",
            path.display()
        );
    }
    Ok(path)
}

/// The last line of a command's output, trimmed (the CLI prints a new token or id there).
pub fn last_line(out: &str) -> String {
    out.lines().last().unwrap_or_default().trim().to_owned()
}

/// Whether this process runs as root (`id -u` is 0).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs `cmd` to completion; its stdout, or an error with its stderr when it fails.
pub fn stdout_of(cmd: &mut Command) -> Result<String> {
    let shown = format!("{cmd:?}");
    let out = output(cmd)?;
    if !out.status.success() {
        bail!(
            "{shown} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8(out.stdout).with_context(|| format!("{shown} printed non-UTF-8"))
}

fn output(cmd: &mut Command) -> Result<Output> {
    let shown = format!("{cmd:?}");
    cmd.stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not start {shown}"))
}

/// SIGTERM to `child`, then [`wait_or_kill`]: its exit status, or `None` when it had to be
/// killed.
pub fn terminate(child: &mut Child, grace: Duration) -> Result<Option<ExitStatus>> {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stderr(Stdio::null())
        .status();
    wait_or_kill(child, grace)
}

/// Up to `grace` for `child` to exit; SIGKILL after that. Its exit status, or `None` when it
/// had to be killed.
pub fn wait_or_kill(child: &mut Child, grace: Duration) -> Result<Option<ExitStatus>> {
    let deadline = Instant::now() + grace;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child process ended when this value is dropped: SIGTERM, up to 5 s, then SIGKILL.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = terminate(&mut self.0, Duration::from_secs(5));
    }
}

/// How to start a server: which binary, where its data lives, its environment.
#[derive(Debug, Clone)]
pub struct Launch {
    bin: PathBuf,
    data_dir: Option<PathBuf>,
    env: Vec<(String, String)>,
    port: u16,
    quiet: bool,
    ready_within: Duration,
    database: Option<String>,
}

impl Launch {
    /// `bin` on a new temporary data directory, 127.0.0.1 port 0, `RUST_LOG=warn`, its
    /// stderr shown, up to 30 s for the `listening on` line.
    pub fn new(bin: impl Into<PathBuf>) -> Self {
        Launch {
            bin: bin.into(),
            data_dir: None,
            env: vec![("RUST_LOG".into(), "warn".into())],
            port: 0,
            quiet: false,
            ready_within: Duration::from_secs(30),
            database: None,
        }
    }

    /// `init --database URL`: the data directory's server uses that database (e.g. a
    /// PostgreSQL one several nodes share). Without it, a temporary data directory gets a
    /// fresh database on the server named by `HANDRAISE_TEST_POSTGRES` when that is set,
    /// else SQLite in the data directory.
    pub fn database(mut self, url: &str) -> Self {
        self.database = Some(url.to_owned());
        self
    }

    /// A data directory that outlives the server (created when missing, never removed).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// One more environment variable for every `serve` (e.g. `HANDRAISE_SERVER_*`).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn envs(self, vars: &[(&str, &str)]) -> Self {
        vars.iter().fold(self, |l, (k, v)| l.env(k, v))
    }

    /// The port on 127.0.0.1 (0: any free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The server's stderr is dropped instead of shown.
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// `init` the data directory (idempotent; `--database` as [`Launch::database`] says) and
    /// `serve` it.
    pub fn start(self) -> Result<Server> {
        let (data_dir, temp) = match self.data_dir {
            Some(dir) => (dir, None),
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("handraise-server-")
                    .tempdir()?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        let database_url = match self.database {
            Some(url) => Some(url),
            None if temp.is_some() => crate::postgres::test_database()?,
            None => None,
        };
        let mut server = Server {
            bin: self.bin,
            data_dir,
            _temp: temp,
            child: None,
            url: String::new(),
            metrics_url: None,
            port: 0,
            env: self.env,
            quiet: self.quiet,
            ready_within: self.ready_within,
            init_output: String::new(),
            database_url,
        };
        let mut init = vec!["init"];
        if let Some(url) = &server.database_url {
            init.extend(["--database", url]);
        }
        server.init_output = server.cli(&init)?;
        server.serve(self.port)?;
        Ok(server)
    }
}

/// A district server data directory and, while running, its `serve` process.
pub struct Server {
    bin: PathBuf,
    data_dir: PathBuf,
    _temp: Option<TempDir>,
    child: Option<Child>,
    /// `http://127.0.0.1:PORT` (`https://` when the server has a certificate), from the
    /// `listening on` line.
    pub url: String,
    /// `http://ADDR/metrics` when `metrics_listen` is set, from the `metrics:` line.
    pub metrics_url: Option<String>,
    pub port: u16,
    env: Vec<(String, String)>,
    quiet: bool,
    ready_within: Duration,
    /// What `init` printed.
    pub init_output: String,
    /// The database given to `init --database`; `None`: SQLite in the data directory.
    pub database_url: Option<String>,
}

impl Server {
    /// The debug server ([`bin`]) on a fresh temporary data directory, on any free port.
    pub fn start() -> Result<Self> {
        Self::start_with(&[])
    }

    /// Like [`Server::start`], with `HANDRAISE_SERVER_*` configuration overrides.
    pub fn start_with(env: &[(&str, &str)]) -> Result<Self> {
        Launch::new(bin("handraise-server")?).envs(env).start()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// The `serve` process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `serve` on `port` (0 = any) and wait for the `listening on` line.
    pub fn serve(&mut self, port: u16) -> Result<()> {
        let mut child = Command::new(&self.bin)
            .arg("serve")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if self.quiet {
                Stdio::null()
            } else {
                Stdio::inherit()
            })
            .spawn()
            .with_context(|| format!("could not start {}", self.bin.display()))?;
        let stdout = child.stdout.take().context("no server stdout")?;
        let (tx, rx) = mpsc::channel();
        // Reads the addresses, then keeps draining stdout so the server never blocks on it.
        std::thread::spawn(move || {
            let mut metrics = None;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("metrics: ") {
                    metrics = Some(url.trim().to_owned());
                }
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send((url.trim().to_owned(), metrics.take()));
                }
            }
        });
        let (url, metrics_url) = match rx.recv_timeout(self.ready_within) {
            Ok(urls) => urls,
            Err(e) => {
                let _ = child.kill();
                let status = child.wait()?;
                let why = match e {
                    mpsc::RecvTimeoutError::Timeout => format!(
                        "did not print its address within {} s",
                        self.ready_within.as_secs()
                    ),
                    mpsc::RecvTimeoutError::Disconnected => {
                        format!("exited ({status}) before it was listening (is port {port} free?)")
                    }
                };
                bail!("handraise-server {why}");
            }
        };
        if !(url.starts_with("http://127.") || url.starts_with("https://127.")) {
            let _ = child.kill();
            let _ = child.wait();
            bail!("handraise-server is not on loopback: {url}");
        }
        self.port = url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .context("no port in the listening line")?;
        self.url = url;
        self.metrics_url = metrics_url;
        self.child = Some(child);
        Ok(())
    }

    /// SIGTERM and wait (at most 20 s); how long the exit took. A server that does not
    /// exit cleanly in time is an error.
    pub fn stop(&mut self) -> Result<Duration> {
        let Some(mut child) = self.child.take() else {
            return Ok(Duration::ZERO);
        };
        let t = Instant::now();
        match terminate(&mut child, Duration::from_secs(20))? {
            Some(status) if status.success() => Ok(t.elapsed()),
            Some(status) => bail!("server exited with {status} after SIGTERM"),
            None => bail!("server did not exit within 20 s of SIGTERM"),
        }
    }

    /// SIGKILL: no draining, no clean shutdown.
    pub fn kill9(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Waits until the server exits by itself.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        let mut child = self.child.take().context("the server is not running")?;
        Ok(child.wait()?)
    }

    /// A CLI command on this data directory; its stdout.
    pub fn cli(&self, args: &[&str]) -> Result<String> {
        stdout_of(&mut self.cli_cmd(args))
    }

    /// A CLI command on this data directory with `input` on its stdin (a password); its stdout.
    pub fn cli_with_input(&self, args: &[&str], input: &str) -> Result<String> {
        let shown = format!("{:?}", self.cli_cmd(args));
        let mut child = self
            .cli_cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("could not start {shown}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            writeln!(stdin, "{input}")?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "{shown} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn cli_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env("RUST_LOG", "warn");
        cmd
    }

    /// A new enrollment token (`enroll-token create`).
    pub fn enroll_token(&self, label: &str) -> Result<String> {
        self.token(&["enroll-token", "create", "--label", label])
    }

    /// A new technician API token (`tech-token create`).
    pub fn tech_token(&self, name: &str) -> Result<String> {
        self.token(&["tech-token", "create", "--name", name])
    }

    /// A new API token of a new admin console user `email`
    /// (`user add --role admin`, then `tech-token create --email`).
    pub fn admin_token(&self, email: &str) -> Result<String> {
        self.cli_with_input(
            &["user", "add", "--email", email, "--role", "admin"],
            "an admin password for tests",
        )?;
        self.token(&["tech-token", "create", "--email", email])
    }

    fn token(&self, args: &[&str]) -> Result<String> {
        let token = last_line(&self.cli(args)?);
        if token.is_empty() {
            bail!("{args:?} printed no token");
        }
        Ok(token)
    }

    /// `tickets list --json`.
    pub fn tickets(&self) -> Result<Vec<Value>> {
        let out = self.cli(&["tickets", "list", "--json"])?;
        serde_json::from_str(&out).context("tickets list --json is not a JSON array")
    }

    /// How many server tickets carry `client_id`.
    pub fn count(&self, client_id: &str) -> Result<usize> {
        Ok(self
            .tickets()?
            .iter()
            .filter(|t| t["client_id"] == client_id)
            .count())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = terminate(&mut child, Duration::from_secs(10));
        }
    }
}

/// The machine id file of an isolated [`Agent`], in its data directory.
const MACHINE_ID_FILE: &str = "test-machine-id";

/// An agent data directory driven through the `handraise-agent` binary.
pub struct Agent {
    bin: PathBuf,
    dir: PathBuf,
    _temp: Option<TempDir>,
    isolated: bool,
}

impl Agent {
    /// The debug agent ([`bin`]) on a fresh temporary data directory, kept apart from this
    /// machine's own agent configuration, and a computer of its own: its machine id is a
    /// new random one (see [`Agent::machine_id_file`]).
    pub fn new() -> Result<Self> {
        let temp = tempfile::Builder::new()
            .prefix("handraise-agent-")
            .tempdir()?;
        // Unique: the temporary directory's own random name, and the time.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        std::fs::write(
            temp.path().join(MACHINE_ID_FILE),
            format!("{}-{nanos}\n", temp.path().display()),
        )?;
        Ok(Agent {
            bin: bin("handraise-agent")?,
            dir: temp.path().to_path_buf(),
            _temp: Some(temp),
            isolated: true,
        })
    }

    /// `bin` on `dir`, which outlives this value; the machine's configuration applies.
    pub fn at(bin: impl Into<PathBuf>, dir: impl Into<PathBuf>) -> Self {
        Agent {
            bin: bin.into(),
            dir: dir.into(),
            _temp: None,
            isolated: false,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file an isolated agent reads as its OS machine id (`HANDRAISE_MACHINE_ID_FILE`):
    /// copy another agent's to be the same computer.
    pub fn machine_id_file(&self) -> PathBuf {
        self.dir.join(MACHINE_ID_FILE)
    }

    /// Makes this agent the same computer as `other` (the same machine id).
    pub fn same_computer_as(&self, other: &Agent) -> Result<()> {
        std::fs::copy(other.machine_id_file(), self.machine_id_file())?;
        Ok(())
    }

    /// `handraise-agent ARGS --data-dir DIR`.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .arg("--data-dir")
            .arg(&self.dir)
            .env("RUST_LOG", "warn");
        if self.isolated {
            cmd.env("HANDRAISE_SYSTEM_CONFIG", self.dir.join("no-system.toml"))
                .env("XDG_CONFIG_HOME", self.dir.join("xdg-config"))
                .env("HANDRAISE_MACHINE_ID_FILE", self.machine_id_file());
        }
        cmd
    }

    /// Runs a command that must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> Result<String> {
        stdout_of(&mut self.cmd(args))
    }

    /// Whether this data directory holds an enrollment.
    pub fn enrolled(&self) -> bool {
        self.dir.join("enrollment.json").exists()
    }

    pub fn enroll(&self, server_url: &str, token: &str) -> Result<()> {
        self.ok(&["enroll", "--server", server_url, "--token", token])?;
        Ok(())
    }

    /// `report`; the client id printed on the last line.
    pub fn report(&self, category: &str, summary: &str) -> Result<String> {
        let out = self.ok(&["report", "--category", category, "--summary", summary])?;
        Ok(last_line(&out))
    }

    /// `sync`: (exit success, stderr).
    pub fn sync(&self) -> Result<(bool, String)> {
        let out = output(&mut self.cmd(&["sync"]))?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    /// `status --json`.
    pub fn status(&self) -> Result<Vec<Value>> {
        let out = self.ok(&["status", "--json"])?;
        serde_json::from_str(&out).context("status --json is not a JSON array")
    }

    /// The local ticket with `client_id`.
    pub fn ticket(&self, client_id: &str) -> Result<Value> {
        self.status()?
            .into_iter()
            .find(|t| t["client_id"] == client_id)
            .with_context(|| format!("ticket {client_id} not in local status"))
    }

    /// The device secret this agent stored at enrollment.
    pub fn secret(&self) -> Result<String> {
        self.enrollment_field("device_secret")
    }

    /// The device id the server gave this agent at enrollment.
    pub fn device_id(&self) -> Result<String> {
        self.enrollment_field("device_id")
    }

    fn enrollment_field(&self, key: &str) -> Result<String> {
        let text = std::fs::read_to_string(self.dir.join("enrollment.json"))?;
        let v: Value = serde_json::from_str(&text)?;
        v[key]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("no {key} in enrollment.json"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn last_line_is_trimmed_and_empty_when_nothing_was_printed() {
        assert_eq!(super::last_line("created\n  tok-123  \n"), "tok-123");
        assert_eq!(super::last_line(""), "");
    }
}
