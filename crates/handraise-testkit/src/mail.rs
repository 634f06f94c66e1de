//! Real mail servers from Debian's packages on loopback, for the tests of the
//! help desks that speak mail: Postfix (SMTP in, on a free port) delivering
//! over LMTP to Dovecot (IMAP and LMTP on free ports, users from a
//! passwd-file, plaintext authentication on loopback, Maildir), each with a
//! private configuration in a temporary directory; no system service is
//! touched. Two mailboxes: the desk's ([`DESK`]) and HandRaise's
//! ([`HANDRAISE`]); any address at `desk.test` or `district.test` is taken.
//!
//! Postfix's master runs as root (it drops to its `postfix` user), so the
//! peer needs root; without root or the packages the tests skip, and under
//! [`crate::REQUIRE_PEERS_ENV`] they fail.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The desk's email-to-ticket mailbox, and its password.
pub const DESK: (&str, &str) = ("helpdesk@desk.test", "desk-password");
/// HandRaise's own mailbox (replies from the desk land there), and its password.
pub const HANDRAISE: (&str, &str) = ("handraise@district.test", "handraise-password");

const POSTFIX: &str = "/usr/sbin/postfix";
const DOVECOT: &str = "/usr/sbin/dovecot";
/// The user the mailboxes belong to (Dovecot refuses root).
const MAIL_UID: u32 = 65534;

/// Running Postfix and Dovecot; stopped when dropped.
pub struct MailPeer {
    dir: tempfile::TempDir,
    pub smtp_port: u16,
    pub imap_port: u16,
}

/// One mail of a Maildir.
#[derive(Debug, Clone)]
pub struct StoredMail {
    pub raw: String,
    /// Marked `\Seen` (an IMAP client read it and said so).
    pub seen: bool,
}

impl MailPeer {
    /// Starts both servers; `Ok(None)` (the reason printed) when the packages or
    /// root are missing and the peers are not required.
    pub fn start() -> Result<Option<Self>> {
        if crate::peer_program(POSTFIX)?.is_none() || crate::peer_program(DOVECOT)?.is_none() {
            return Ok(None);
        }
        if !crate::is_root() {
            if std::env::var_os(crate::REQUIRE_PEERS_ENV).is_some() {
                bail!("the mail servers need root (Postfix's master runs as root)");
            }
            eprintln!("skipped: the mail servers need root (Postfix's master runs as root)");
            return Ok(None);
        }
        let dir = tempfile::Builder::new()
            .prefix("handraise-mail")
            .tempdir()?;
        let peer = Self {
            smtp_port: crate::free_port()?,
            imap_port: crate::free_port()?,
            dir,
        };
        peer.configure_and_start()
            .context("starting Postfix and Dovecot")?;
        Ok(Some(peer))
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn configure_and_start(&self) -> Result<()> {
        use std::os::unix::fs::{PermissionsExt, chown};
        let d = self.dir.path();
        // Dovecot's mail user and Postfix's daemons walk into it.
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755))?;
        for sub in ["mail", "run", "state", "pf/queue", "pf/data"] {
            std::fs::create_dir_all(d.join(sub))?;
        }
        chown(d.join("mail"), Some(MAIL_UID), Some(MAIL_UID))?;
        let postfix_uid = crate::user_id("postfix", "-u")?;
        chown(d.join("pf/data"), Some(postfix_uid), None)?;
        let lmtp_port = crate::free_port()?;
        let dd = d.display();
        std::fs::write(
            d.join("users"),
            format!(
                "{}:{{PLAIN}}{}::::::\n{}:{{PLAIN}}{}::::::\n",
                DESK.0, DESK.1, HANDRAISE.0, HANDRAISE.1
            ),
        )?;
        std::fs::write(
            d.join("dovecot.conf"),
            format!(
                "base_dir = {dd}/run\nstate_dir = {dd}/state\nlog_path = {dd}/dovecot.log\n\
                 protocols = imap lmtp\nlisten = 127.0.0.1\nssl = no\n\
                 disable_plaintext_auth = no\nauth_mechanisms = plain login\n\
                 mail_location = maildir:{dd}/mail/%u\n\
                 default_internal_user = dovecot\ndefault_login_user = dovenull\n\
                 passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {dd}/users\n}}\n\
                 userdb {{\n  driver = static\n  args = uid={MAIL_UID} gid={MAIL_UID} home={dd}/mail/%u\n}}\n\
                 service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
                 service lmtp {{\n  inet_listener lmtp {{\n    address = 127.0.0.1\n    port = {lmtp_port}\n  }}\n}}\n",
                self.imap_port
            ),
        )?;
        std::fs::write(
            d.join("pf/main.cf"),
            format!(
                "compatibility_level = 3.6\nqueue_directory = {dd}/pf/queue\n\
                 data_directory = {dd}/pf/data\nmeta_directory = /etc/postfix\n\
                 command_directory = /usr/sbin\ndaemon_directory = /usr/lib/postfix/sbin\n\
                 shlib_directory = /usr/lib/postfix\nmail_owner = postfix\nsetgid_group = postdrop\n\
                 myhostname = mail.handraise.test\nmydomain = handraise.test\n\
                 myorigin = handraise.test\nmydestination =\nlocal_recipient_maps =\n\
                 alias_maps =\nalias_database =\ninet_interfaces = loopback-only\n\
                 inet_protocols = ipv4\nmynetworks = 127.0.0.0/8\nrelay_domains =\n\
                 virtual_mailbox_domains = desk.test, district.test\n\
                 virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}\n\
                 smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n\
                 smtputf8_enable = no\nbiff = no\nsmtp_dns_support_level = disabled\n\
                 lmtp_dns_support_level = disabled\n\
                 maillog_file = {dd}/pf/postfix.log\nmaillog_file_prefixes = {dd}\n"
            ),
        )?;
        std::fs::write(d.join("pf/master.cf"), master_cf(self.smtp_port))?;
        crate::run_logged(
            Command::new(DOVECOT).arg("-c").arg(d.join("dovecot.conf")),
            &d.join("dovecot.start.log"),
            Duration::from_secs(60),
        )?;
        crate::run_logged(
            Command::new(POSTFIX)
                .arg("-c")
                .arg(d.join("pf"))
                .arg("start"),
            &d.join("pf/start.log"),
            Duration::from_secs(60),
        )?;
        for port in [self.smtp_port, self.imap_port] {
            crate::wait_until(
                &format!("a mail server on 127.0.0.1:{port}"),
                Duration::from_secs(60),
                || TcpStream::connect(("127.0.0.1", port)).is_ok(),
            )
            .with_context(|| self.logs())?;
        }
        Ok(())
    }

    /// Postfix's and Dovecot's logs, for a failure's message.
    pub fn logs(&self) -> String {
        let read = |p: &str| std::fs::read_to_string(self.path(p)).unwrap_or_default();
        format!(
            "postfix:\n{}\ndovecot:\n{}",
            read("pf/postfix.log"),
            read("dovecot.log")
        )
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.smtp_port)
    }

    /// `imap://127.0.0.1:PORT`.
    pub fn imap_url(&self) -> String {
        format!("imap://127.0.0.1:{}", self.imap_port)
    }

    /// Sends `raw` (headers and body, CRLF or LF lines) from `from` to `to`
    /// through Postfix, as another mail system would.
    pub fn send(&self, from: &str, to: &str, raw: &str) -> Result<()> {
        let stream = TcpStream::connect(("127.0.0.1", self.smtp_port))?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let mut w = stream.try_clone()?;
        let mut r = BufReader::new(stream);
        let expect = |r: &mut BufReader<TcpStream>, code: &str| -> Result<()> {
            loop {
                let mut line = String::new();
                r.read_line(&mut line)?;
                if !line.starts_with(code) {
                    bail!("SMTP: expected {code}, got {line:?}");
                }
                if line.as_bytes().get(3) != Some(&b'-') {
                    return Ok(());
                }
            }
        };
        expect(&mut r, "220")?;
        for (cmd, code) in [
            ("EHLO test.handraise.test".to_owned(), "250"),
            (format!("MAIL FROM:<{from}>"), "250"),
            (format!("RCPT TO:<{to}>"), "250"),
            ("DATA".to_owned(), "354"),
        ] {
            write!(w, "{cmd}\r\n")?;
            expect(&mut r, code)?;
        }
        for line in raw.lines() {
            let line = line.trim_end_matches('\r');
            let dot = if line.starts_with('.') { "." } else { "" };
            write!(w, "{dot}{line}\r\n")?;
        }
        write!(w, ".\r\n")?;
        expect(&mut r, "250")?;
        write!(w, "QUIT\r\n")?;
        Ok(())
    }

    /// The mails in `user`'s inbox (oldest first by file name), with whether
    /// each was marked seen.
    pub fn mails(&self, user: &str) -> Result<Vec<StoredMail>> {
        let base = self.path(&format!("mail/{user}"));
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(base.join(sub)) else {
                continue;
            };
            for e in entries {
                let e = e?;
                let name = e.file_name().to_string_lossy().into_owned();
                let seen = name
                    .rsplit_once(":2,")
                    .is_some_and(|(_, flags)| flags.contains('S'));
                out.push((
                    name,
                    StoredMail {
                        raw: std::fs::read_to_string(e.path())?,
                        seen,
                    },
                ));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out.into_iter().map(|(_, m)| m).collect())
    }
}

impl Drop for MailPeer {
    fn drop(&mut self) {
        let d = self.dir.path().to_owned();
        let _ = crate::run_logged(
            Command::new(POSTFIX)
                .arg("-c")
                .arg(d.join("pf"))
                .arg("stop"),
            &d.join("pf/stop.log"),
            Duration::from_secs(60),
        );
        let _ = crate::run_logged(
            Command::new(DOVECOT)
                .arg("-c")
                .arg(d.join("dovecot.conf"))
                .arg("stop"),
            &d.join("dovecot.stop.log"),
            Duration::from_secs(60),
        );
    }
}

/// Postfix's services, none chrooted; SMTP only on 127.0.0.1:`port`.
fn master_cf(port: u16) -> String {
    let services = [
        ("pickup", "unix", "n", "60", "1", "pickup"),
        ("cleanup", "unix", "n", "-", "0", "cleanup"),
        ("qmgr", "unix", "n", "300", "1", "qmgr"),
        ("rewrite", "unix", "-", "-", "-", "trivial-rewrite"),
        ("bounce", "unix", "-", "-", "0", "bounce"),
        ("defer", "unix", "-", "-", "0", "bounce"),
        ("trace", "unix", "-", "-", "0", "bounce"),
        ("verify", "unix", "-", "-", "1", "verify"),
        ("flush", "unix", "n", "1000?", "0", "flush"),
        ("proxymap", "unix", "-", "-", "-", "proxymap"),
        ("smtp", "unix", "-", "-", "-", "smtp"),
        ("relay", "unix", "-", "-", "-", "smtp"),
        ("showq", "unix", "n", "-", "-", "showq"),
        ("error", "unix", "-", "-", "-", "error"),
        ("retry", "unix", "-", "-", "-", "error"),
        ("discard", "unix", "-", "-", "-", "discard"),
        ("lmtp", "unix", "-", "-", "-", "lmtp"),
        ("anvil", "unix", "-", "-", "1", "anvil"),
        ("scache", "unix", "-", "-", "1", "scache"),
        ("postlog", "unix-dgram", "n", "-", "1", "postlogd"),
    ];
    let mut out = format!("127.0.0.1:{port} inet n - n - - smtpd\n");
    for (name, kind, private, wake, max, cmd) in services {
        out.push_str(&format!("{name} {kind} {private} - n {wake} {max} {cmd}\n"));
    }
    out
}
