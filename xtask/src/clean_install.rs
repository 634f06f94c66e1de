//! Installed for real (`cargo xtask test --soak`, or `cargo xtask clean-install` alone): the
//! release packages into a clean Debian 12 root made by debootstrap from the mirror this
//! machine's apt uses, their dependencies resolved by apt from their metadata. There the
//! server runs as its unit would (the unit's `ExecStart`, as the `handraise` user; a chroot
//! has no systemd), and a teacher's account enrolls the agent CLI with the preseeded
//! settings, reports and syncs; the ticket must reach the server with the preseeded school.
//! Where the server has `restore`, a backup is restored and the agent re-sends what it lacks.
//!
//! Needs root (debootstrap, chroot, mounting /proc). Mounts are undone and the root removed
//! whatever happens.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SUITE: &str = "bookworm";
const SCHOOL: &str = "Lincoln Elementary";
const SUMMARY: &str = "Projector shows no picture (clean install)";

pub fn run(root: &Path) -> Result<()> {
    if !handraise_testkit::is_root() {
        bail!("the clean install needs root (debootstrap, chroot)");
    }
    crate::deps::ensure(crate::deps::SOAK_PACKAGES)?;
    let (server_deb, agent_deb) = crate::dist(root)?;
    let mirror = apt_mirror()?;
    let work = crate::target_dir(root).join("clean-install");
    let chroot = Chroot::new(work.join("root"))?;
    let mut times: Vec<(&str, f64)> = Vec::new();
    let started = Instant::now();

    let t = Instant::now();
    crate::run_cmd(
        Command::new("debootstrap")
            .args(["--variant=minbase", SUITE])
            .arg(&chroot.root)
            .arg(&mirror),
    )
    .with_context(|| format!("debootstrap {SUITE} from {mirror}"))?;
    times.push(("debootstrap (minbase)", t.elapsed().as_secs_f64()));
    chroot.mount_proc()?;
    for deb in [&server_deb, &agent_deb] {
        let name = deb.file_name().context("deb name")?;
        std::fs::copy(deb, chroot.root.join("tmp").join(name))?;
    }
    chroot.sh("apt-get update -q")?;

    let t = Instant::now();
    chroot.apt_install(&server_deb)?;
    times.push(("apt install handraise-server", t.elapsed().as_secs_f64()));
    check_server_install(&chroot)?;

    let server = chroot.start_server("127.0.0.1:0")?;
    let token = chroot.output(&format!(
        "runuser -u handraise -- handraise-server enroll-token create --config {CONFIG} \
         --label clean-install --school '{SCHOOL}' --expires-days 1 --max-uses 5"
    ))?;
    let token = token.lines().last().context("no token printed")?.trim();
    chroot.stdin(
        "debconf-set-selections",
        &format!(
            "handraise handraise/server_url string {url}\n\
             handraise handraise/enrollment_token password {token}\n\
             handraise handraise/school string {SCHOOL}\n\
             handraise handraise/building string North\n\
             handraise handraise/allow_quit boolean false\n\
             handraise handraise/autostart boolean true\n",
            url = server.url
        ),
    )?;
    let t = Instant::now();
    chroot.apt_install(&agent_deb)?;
    times.push(("apt install handraise (agent)", t.elapsed().as_secs_f64()));
    check_agent_install(&chroot)?;

    chroot.sh("useradd --create-home --shell /bin/sh teacher")?;
    // The agent as the teacher account, in its own home (the shell's `~teacher`).
    let teacher = r#"runuser -u teacher -- sh -c 'HOME=~teacher; export HOME; exec handraise-agent "$@"' handraise-agent"#;
    chroot.sh(&format!("{teacher} enroll"))?;
    chroot.sh(&format!(
        "{teacher} report --category display --summary '{SUMMARY}' --urgency now"
    ))?;
    chroot.sh(&format!("{teacher} sync"))?;
    let server_cmd = format!("runuser -u handraise -- handraise-server --config {CONFIG}");
    let tickets = chroot.output(&format!("{server_cmd} tickets list --json"))?;
    if !tickets.contains(SUMMARY) {
        bail!("the synced ticket is not on the server: {tickets}");
    }
    let devices = chroot.output(&format!("{server_cmd} devices list --json"))?;
    if !devices.contains(SCHOOL) {
        bail!("the enrolled device lacks the preseeded school: {devices}");
    }
    let help = chroot.output("handraise-server --help")?;
    if help.contains("restore") {
        restore_and_resend(&chroot, server, &server_cmd, teacher)?;
    } else {
        eprintln!("restore: skipped (this handraise-server has no `restore` command)");
        server.stop()?;
    }

    eprintln!("\nclean Debian 12 install:");
    for (what, secs) in &times {
        eprintln!("  {what:<32} {secs:>7.1} s");
    }
    eprintln!(
        "  {:<32} {:>7.1} s",
        "total (with the checks)",
        started.elapsed().as_secs_f64()
    );
    for deb in [&server_deb, &agent_deb] {
        let size = deb.metadata()?.len();
        eprintln!("  {:>9} bytes  {}", size, deb.display());
    }
    Ok(())
}

const CONFIG: &str = "/etc/handraise/server.toml";
const AFTER_BACKUP: &str = "Printer offline (after the backup)";

/// An online backup, a ticket synced after it, the server stopped and its data directory
/// restored from the backup as an admin would (moved aside, a fresh one restored), the server
/// started again on the same address: the agent sends again what the backup lacks, so both
/// tickets are there once each.
fn restore_and_resend(
    chroot: &Chroot,
    server: Server,
    server_cmd: &str,
    teacher: &str,
) -> Result<()> {
    chroot.sh(&format!(
        "{server_cmd} backup --out /var/lib/handraise/clean-install-backup.db"
    ))?;
    chroot.sh(&format!(
        "{teacher} report --category printer --summary '{AFTER_BACKUP}'"
    ))?;
    chroot.sh(&format!("{teacher} sync"))?;
    let listen = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    server.stop()?;
    chroot.sh(&format!(
        "mv /var/lib/handraise /var/lib/handraise.before-restore && \
         install -d -o handraise -g handraise -m 0700 /var/lib/handraise && \
         {server_cmd} restore --from /var/lib/handraise.before-restore/clean-install-backup.db"
    ))?;
    let server = chroot.start_server(&listen)?;
    // The restored server announces a new generation; the agent re-sends on its next passes.
    let mut tickets = String::new();
    for _ in 0..5 {
        chroot.sh(&format!("{teacher} sync"))?;
        tickets = chroot.output(&format!("{server_cmd} tickets list --json"))?;
        if tickets.matches(AFTER_BACKUP).count() == 1 {
            break;
        }
    }
    server.stop()?;
    if tickets.matches(SUMMARY).count() != 1 || tickets.matches(AFTER_BACKUP).count() != 1 {
        bail!("after the restore and a sync, each ticket should be there once: {tickets}");
    }
    eprintln!("restore: the backup restored, the ticket synced after it sent again, once");
    Ok(())
}

/// The first Debian mirror of this machine's apt sources (one-line or deb822 format), not the
/// security archive.
pub fn apt_mirror() -> Result<String> {
    let mut texts = Vec::new();
    for path in [Path::new("/etc/apt/sources.list").to_owned()]
        .into_iter()
        .chain(
            std::fs::read_dir("/etc/apt/sources.list.d")
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "list" || e == "sources")),
        )
    {
        if let Ok(text) = std::fs::read_to_string(&path) {
            texts.push(text);
        }
    }
    texts
        .iter()
        .find_map(|t| mirror_in(t))
        .context("no Debian mirror in /etc/apt/sources.list*")
}

/// The first `http(s)://…/debian` URI of a sources text.
fn mirror_in(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.split_whitespace())
        .find(|w| {
            (w.starts_with("http://") || w.starts_with("https://"))
                && w.trim_end_matches('/').ends_with("/debian")
        })
        .map(|w| w.trim_end_matches('/').to_owned())
}

fn check_server_install(chroot: &Chroot) -> Result<()> {
    let data = chroot.output("stat -c '%U %a' /var/lib/handraise")?;
    if data.trim() != "handraise 700" {
        bail!("/var/lib/handraise is {data:?}, not owned by handraise with mode 0700");
    }
    let config = std::fs::read_to_string(chroot.root.join("etc/handraise/server.toml"))?;
    if !config.contains("data_dir = \"/var/lib/handraise\"") {
        bail!("server.toml lacks the data directory: {config}");
    }
    let enabled = chroot
        .root
        .join("etc/systemd/system/multi-user.target.wants/handraise-server.service");
    if enabled.symlink_metadata().is_err() {
        bail!("handraise-server.service is not enabled");
    }
    Ok(())
}

fn check_agent_install(chroot: &Chroot) -> Result<()> {
    let config = std::fs::read_to_string(chroot.root.join("etc/handraise/agent.toml"))?;
    for want in [SCHOOL, "allow_quit = false", "enrollment_token = "] {
        if !config.contains(want) {
            bail!("agent.toml lacks {want:?}: {config}");
        }
    }
    // The package's dependencies brought every library the app and the CLI link.
    let missing = chroot.output("ldd /usr/bin/handraise /usr/bin/handraise-agent")?;
    if missing.contains("not found") {
        bail!("libraries missing after apt resolved the dependencies:\n{missing}");
    }
    let mode = chroot.output("stat -c '%a' /etc/handraise/agent.toml")?;
    if mode.trim() != "644" {
        bail!("agent.toml has mode {mode}");
    }
    if !chroot
        .root
        .join("etc/xdg/autostart/HandRaise.desktop")
        .exists()
    {
        bail!("no login entry although autostart is on");
    }
    Ok(())
}

/// A Debian root under construction; dropping it unmounts what it mounted and, only when
/// nothing is mounted below it any more, removes it.
struct Chroot {
    root: PathBuf,
}

impl Chroot {
    fn new(root: PathBuf) -> Result<Self> {
        let me = Chroot { root };
        me.unmount_all();
        if me.root.exists() {
            me.remove()?;
        }
        std::fs::create_dir_all(&me.root)?;
        Ok(me)
    }

    fn mount_proc(&self) -> Result<()> {
        crate::run_cmd(
            Command::new("mount")
                .args(["-t", "proc", "proc"])
                .arg(self.root.join("proc")),
        )
    }

    /// Mount points at or below the root, deepest first.
    fn mounts(&self) -> Vec<String> {
        let root = self.root.to_string_lossy().into_owned();
        let mut found: Vec<String> = std::fs::read_to_string("/proc/self/mounts")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1).map(str::to_owned))
            .filter(|m| m == &root || m.starts_with(&format!("{root}/")))
            .collect();
        found.sort_by_key(|m| std::cmp::Reverse(m.len()));
        found
    }

    fn unmount_all(&self) {
        for m in self.mounts() {
            let _ = Command::new("umount").arg("-l").arg(&m).status();
        }
    }

    fn remove(&self) -> Result<()> {
        let left = self.mounts();
        if !left.is_empty() {
            bail!(
                "still mounted, not removing {}: {left:?}",
                self.root.display()
            );
        }
        std::fs::remove_dir_all(&self.root)
            .with_context(|| format!("removing {}", self.root.display()))
    }

    fn command(&self, script: &str) -> Command {
        let mut cmd = Command::new("chroot");
        cmd.arg(&self.root)
            .args(["/bin/sh", "-ec", script])
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .env("LANG", "C.UTF-8");
        cmd
    }

    fn sh(&self, script: &str) -> Result<()> {
        crate::run_cmd(&mut self.command(script))
    }

    fn output(&self, script: &str) -> Result<String> {
        let out = self.command(script).stderr(Stdio::inherit()).output()?;
        if !out.status.success() {
            bail!("in the chroot, `{script}` failed ({})", out.status);
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn stdin(&self, script: &str, input: &str) -> Result<()> {
        let mut child = self.command(script).stdin(Stdio::piped()).spawn()?;
        child
            .stdin
            .take()
            .context("stdin")?
            .write_all(input.as_bytes())?;
        let status = child.wait()?;
        if !status.success() {
            bail!("in the chroot, `{script}` failed ({status})");
        }
        Ok(())
    }

    /// `apt-get install ./PACKAGE.deb`: apt resolves its dependencies from the mirror.
    fn apt_install(&self, deb: &Path) -> Result<()> {
        let name = deb.file_name().context("deb name")?.to_string_lossy();
        self.sh(&format!(
            "apt-get install -y -q --no-install-recommends /tmp/{name}"
        ))
    }

    /// The unit's `ExecStart` as its `User`, listening on `listen` (the only change: the
    /// address, through the environment, since the host's port 8080 may be taken).
    fn start_server(&self, listen: &str) -> Result<Server> {
        let unit = std::fs::read_to_string(
            self.root
                .join("lib/systemd/system/handraise-server.service"),
        )?;
        let value = |key: &str| {
            unit.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_owned)
        };
        let exec = value("ExecStart").context("no ExecStart")?;
        let user = value("User").context("no User")?;
        let mut child = self
            .command(&format!("exec runuser -u {user} -- {exec}"))
            .env("HANDRAISE_SERVER_LISTEN", listen)
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()?;
        let stdout = child.stdout.take().context("stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                eprintln!("server: {line}");
                if let Some(url) = line
                    .split_whitespace()
                    .find(|w| w.starts_with("http://"))
                    .filter(|_| line.contains("listening on"))
                {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let mut server = Server {
            child,
            url: String::new(),
        };
        server.url = rx
            .recv_timeout(Duration::from_secs(60))
            .context("the server did not say where it listens within 60 s")?;
        Ok(server)
    }
}

impl Drop for Chroot {
    fn drop(&mut self) {
        self.unmount_all();
        if let Err(e) = self.remove() {
            eprintln!("clean install: {e:#}");
        }
    }
}

/// The server started in the chroot, in its own process group.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    /// SIGTERM to the server itself, as systemd's stop sends; the drain must end it.
    fn stop(mut self) -> Result<()> {
        let pid = self
            .server_pid()
            .context("no handraise-server process in the group")?;
        crate::run_cmd(Command::new("kill").args(["-s", "TERM", &pid.to_string()]))?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                eprintln!("server stopped on SIGTERM ({status})");
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("the server did not stop within 20 s of SIGTERM")
    }

    /// The `handraise-server` process of the group (runuser's child), from /proc.
    fn server_pid(&self) -> Option<u32> {
        let group = self.child.id();
        std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let (head, tail) = stat.rsplit_once(") ")?;
            // Fields after the command: state, parent, process group.
            let pgrp: u32 = tail.split_whitespace().nth(2)?.parse().ok()?;
            (pgrp == group && head.ends_with("(handraise-serve")).then_some(pid)
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
                .status();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::mirror_in;

    #[test]
    fn the_mirror_comes_from_either_sources_format() {
        let deb822 = "Types: deb\n# http://snapshot.debian.org/archive/debian/2025\n\
                      URIs: http://deb.debian.org/debian\nSuites: bookworm\n";
        assert_eq!(
            mirror_in(deb822).as_deref(),
            Some("http://deb.debian.org/debian")
        );
        let list = "deb http://deb.debian.org/debian-security bookworm-security main\n\
                    deb [arch=amd64] http://mirror.example/debian/ bookworm main\n";
        assert_eq!(
            mirror_in(list).as_deref(),
            Some("http://mirror.example/debian")
        );
    }
}
