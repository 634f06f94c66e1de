//! One tray per data directory, without polling: the first `handraise` listens on a Unix
//! socket; a second one connects, asks it to open the report form, and exits. The listener
//! thread sleeps in `accept`. (The single-instance plugin's D-Bus executor wakes twice a
//! second for ever; Windows still uses the plugin.)
//!
//! The socket lives in a directory only this user can write (the data directory, the
//! session's runtime directory, or a private directory of this user under the temporary
//! directory), so no other account can take its name first; and both ends check that the
//! other runs as the same user, so no other account can open windows in this session.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// The longest socket path every Unix accepts (`sun_path` is 104 or 108 bytes).
const MAX_SOCKET_PATH: usize = 100;

/// Where the running tray of `data_dir` listens: the first of the data directory, the
/// runtime directory and `<tmp>/handraise-<uid>` that is private to this user and gives a
/// path short enough.
pub fn socket_path(data_dir: &Path) -> io::Result<PathBuf> {
    let own = data_dir.join("tray.sock");
    if own.as_os_str().len() <= MAX_SOCKET_PATH && is_private_dir(data_dir) {
        return Ok(own);
    }
    let name = format!("handraise-{:016x}.sock", path_hash(data_dir));
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from)
        && is_private_dir(&runtime)
    {
        return Ok(runtime.join(name));
    }
    let dir = std::env::temp_dir().join(format!("handraise-{}", current_uid()));
    let mut builder = std::fs::DirBuilder::new();
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(&dir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    if !is_private_dir(&dir) {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is not a private directory of this user (another account made it?)",
                dir.display()
            ),
        ));
    }
    Ok(dir.join(name))
}

fn path_hash(path: &Path) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    path.hash(&mut h);
    h.finish()
}

/// A real directory (not a link) owned by this user that no one else may write to.
fn is_private_dir(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir)
        .is_ok_and(|m| m.is_dir() && m.uid() == current_uid() && m.mode() & 0o022 == 0)
}

fn current_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Whether the process at the other end of `stream` runs as this user. Where the
/// platform cannot tell, the private directory is the only guard.
#[cfg(target_os = "linux")]
fn same_user(stream: &UnixStream) -> bool {
    rustix::net::sockopt::socket_peercred(stream).is_ok_and(|c| c.uid.as_raw() == current_uid())
}

#[cfg(not(target_os = "linux"))]
fn same_user(_stream: &UnixStream) -> bool {
    true
}

/// What became of the attempt to be the only tray.
pub enum Instance {
    /// This process is the tray; requests arrive through `listener`.
    First(UnixListener),
    /// Another tray runs (and was asked to open the view, if one was named).
    Handed,
}

/// Becomes the tray of `path`, or hands over to the one that runs, asking it to open `view`
/// (none for a start at sign-in: a tray that already runs opens nothing).
pub fn claim(path: &Path, view: Option<&str>) -> io::Result<Instance> {
    if let Ok(mut stream) = UnixStream::connect(path) {
        if !same_user(&stream) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{} is held by another user", path.display()),
            ));
        }
        if let Some(view) = view {
            stream.write_all(format!("open {view}\n").as_bytes())?;
        }
        return Ok(Instance::Handed);
    }
    // Nobody answers: a socket left by a tray that died is stale.
    let _ = std::fs::remove_file(path);
    Ok(Instance::First(UnixListener::bind(path)?))
}

/// Calls `on_request` (with the view asked for) for every later launch of this user;
/// a connection from another user is closed unread.
pub fn serve(listener: UnixListener, on_request: impl Fn(&str) + Send + 'static) {
    let spawned = std::thread::Builder::new()
        .name("single-instance".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                if !same_user(&stream) {
                    tracing::warn!("another user tried to open a HandRaise window; ignored");
                    continue;
                }
                let mut line = String::new();
                if BufReader::new(stream).read_line(&mut line).is_ok()
                    && let Some(view) = line.trim().strip_prefix("open ")
                {
                    on_request(view);
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot listen for other launches");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    use std::time::Duration;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn second_launch_hands_over_and_a_stale_socket_is_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.sock");
        std::fs::write(&path, b"stale").expect("a stale file");
        let Instance::First(listener) = claim(&path, Some("report")).expect("claim") else {
            panic!("the first launch must be the tray");
        };
        let (tx, rx) = std::sync::mpsc::channel();
        serve(listener, move |view| {
            let _ = tx.send(view.to_owned());
        });
        // A start at sign-in hands over without asking for a window; a launch by hand after
        // it asks for one, and is the first request the tray hears.
        assert!(matches!(
            claim(&path, None).expect("claim"),
            Instance::Handed
        ));
        assert!(matches!(
            claim(&path, Some("tickets")).expect("claim"),
            Instance::Handed
        ));
        let got = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the tray hears the second launch");
        assert_eq!(got, "tickets", "the start at sign-in asked for nothing");
    }

    #[test]
    fn the_socket_lives_only_where_no_one_else_can_write() {
        let root = tempfile::tempdir().expect("tempdir");
        let data = root.path().join("data");
        std::fs::create_dir(&data).expect("mkdir");
        chmod(&data, 0o700);
        let path = socket_path(&data).expect("a path");
        assert_eq!(
            path,
            data.join("tray.sock"),
            "a private data directory holds it"
        );

        // A data directory others may write to (made before the agent narrowed its
        // modes, or by hand) is passed over for a private one.
        chmod(&data, 0o777);
        let path = socket_path(&data).expect("a path");
        let parent = path.parent().expect("a parent");
        assert_ne!(parent, data.as_path());
        assert!(is_private_dir(parent), "{} is private", parent.display());
        let meta = std::fs::symlink_metadata(parent).expect("meta");
        assert_eq!(
            meta.mode() & 0o077,
            0,
            "{} is the user's alone",
            parent.display()
        );
    }

    /// Another account connecting to the socket (which it can reach here only because the
    /// test opens the directory to everyone) is ignored. Needs root to act as `nobody`.
    #[cfg(target_os = "linux")]
    #[test]
    fn another_user_cannot_open_windows() {
        if current_uid() != 0 {
            eprintln!("skipped: acting as another user needs root");
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        chmod(dir.path(), 0o777);
        let path = dir.path().join("t.sock");
        let Instance::First(listener) = claim(&path, Some("report")).expect("claim") else {
            panic!("the first launch must be the tray");
        };
        chmod(&path, 0o777);
        let (tx, rx) = std::sync::mpsc::channel();
        serve(listener, move |view| {
            let _ = tx.send(view.to_owned());
        });
        // The tray may close the socket before the write: that is the refusal, not a failure.
        let script = "use IO::Socket::UNIX; $SIG{PIPE} = 'IGNORE'; \
            my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die \"connect: $!\"; \
            print $s \"open stranger\\n\"; close $s;";
        let status = std::process::Command::new("perl")
            .args(["-e", script])
            .arg(&path)
            .uid(65534)
            .gid(65534)
            .status()
            .expect("perl runs");
        assert!(status.success(), "the stranger connected: {status}");
        // This user's launch comes after the stranger's; it is the first one heard.
        assert!(matches!(
            claim(&path, Some("report")).expect("claim"),
            Instance::Handed
        ));
        let got = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the tray hears its own user");
        assert_eq!(got, "report", "the stranger's request was ignored");
    }
}
