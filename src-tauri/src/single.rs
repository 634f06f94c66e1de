//! One tray per data directory, without polling: the first `handraise` listens on a Unix
//! socket; a second one connects, asks it to open the report form, and exits. The listener
//! thread sleeps in `accept`. (The single-instance plugin's D-Bus executor wakes twice a
//! second for ever; Windows still uses the plugin.)

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// Where the running tray of `data_dir` listens.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data_dir.hash(&mut h);
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    dir.join(format!("handraise-{:016x}.sock", h.finish()))
}

/// What became of the attempt to be the only tray.
pub enum Instance {
    /// This process is the tray; requests arrive through `listener`.
    First(UnixListener),
    /// Another tray runs and was asked to open the report form.
    Handed,
}

/// Becomes the tray of `path`, or hands over to the one that runs.
pub fn claim(path: &Path) -> std::io::Result<Instance> {
    if let Ok(mut stream) = UnixStream::connect(path) {
        stream.write_all(b"open report\n")?;
        return Ok(Instance::Handed);
    }
    // Nobody answers: a socket left by a tray that died is stale.
    let _ = std::fs::remove_file(path);
    Ok(Instance::First(UnixListener::bind(path)?))
}

/// Calls `on_request` (with the view asked for) for every later launch.
pub fn serve(listener: UnixListener, on_request: impl Fn(&str) + Send + 'static) {
    let spawned = std::thread::Builder::new()
        .name("single-instance".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
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

    #[test]
    fn second_launch_hands_over_and_a_stale_socket_is_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.sock");
        std::fs::write(&path, b"stale").expect("a stale file");
        let Instance::First(listener) = claim(&path).expect("claim") else {
            panic!("the first launch must be the tray");
        };
        let (tx, rx) = std::sync::mpsc::channel();
        serve(listener, move |view| {
            let _ = tx.send(view.to_owned());
        });
        assert!(matches!(claim(&path).expect("claim"), Instance::Handed));
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("the tray hears the second launch");
        assert_eq!(got, "report");
    }
}
