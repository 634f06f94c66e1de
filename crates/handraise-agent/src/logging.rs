//! Logging: a small size-capped rotating log file in `DATA_DIR/logs/`
//! (`agent.log`, rotated at 1 MiB to `agent.log.1` … `agent.log.3`).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Default size at which the log rotates.
pub const LOG_MAX_BYTES: u64 = 1024 * 1024;
/// Default number of rotated files kept.
pub const LOG_KEEP: usize = 3;

struct Inner {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    max_bytes: u64,
    keep: usize,
}

impl Inner {
    fn open(&mut self) -> io::Result<&mut File> {
        if self.file.is_none() {
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            self.size = f.metadata().map(|m| m.len()).unwrap_or(0);
            self.file = Some(f);
        }
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("log file not open"))
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        let name = |i: usize| PathBuf::from(format!("{}.{i}", self.path.display()));
        let _ = std::fs::remove_file(name(self.keep));
        for i in (1..self.keep).rev() {
            let _ = std::fs::rename(name(i), name(i + 1));
        }
        if self.keep > 0 {
            std::fs::rename(&self.path, name(1))?;
        } else {
            std::fs::remove_file(&self.path)?;
        }
        self.size = 0;
        Ok(())
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.size > 0 && self.size + buf.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        let f = self.open()?;
        f.write_all(buf)?;
        self.size += buf.len() as u64;
        Ok(buf.len())
    }
}

/// A rotating log file, cloneable and usable as a tracing writer.
#[derive(Clone)]
pub struct RotatingFile {
    inner: Arc<Mutex<Inner>>,
}

impl RotatingFile {
    pub fn new(path: impl Into<PathBuf>, max_bytes: u64, keep: usize) -> io::Result<Self> {
        let path = path.into();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut inner = Inner {
            path,
            file: None,
            size: 0,
            max_bytes: max_bytes.max(1024),
            keep,
        };
        inner.open()?;
        Ok(RotatingFile {
            inner: Arc::new(Mutex::new(inner)),
        })
    }

    /// `DATA_DIR/logs/agent.log`, 1 MiB, 3 kept.
    pub fn in_data_dir(data_dir: &Path) -> io::Result<Self> {
        Self::new(
            data_dir.join("logs").join("agent.log"),
            LOG_MAX_BYTES,
            LOG_KEEP,
        )
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| io::Error::other("log writer poisoned"))?;
        inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| io::Error::other("log writer poisoned"))?;
        match inner.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RotatingFile {
    type Writer = RotatingFile;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Sends logs to stderr and to the rotating file in `data_dir` (filter `HANDRAISE_LOG`,
/// default `info`). Returns a problem to report when the file cannot be written.
pub fn init(data_dir: &std::path::Path) -> Option<String> {
    use tracing_subscriber::filter::EnvFilter;
    use tracing_subscriber::prelude::*;
    let filter =
        || EnvFilter::try_from_env("HANDRAISE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .with_filter(filter());
    match RotatingFile::in_data_dir(data_dir) {
        Ok(file) => {
            let file_layer = tracing_subscriber::fmt::layer()
                .with_writer(file)
                .with_ansi(false)
                .with_filter(filter());
            tracing_subscriber::registry()
                .with(stderr)
                .with(file_layer)
                .try_init()
                .err()
                .map(|e| format!("logging was already set up: {e}"))
        }
        Err(e) => {
            let _ = tracing_subscriber::registry().with(stderr).try_init();
            Some(format!("cannot write the log file: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_at_cap_and_keeps_n() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("logs/agent.log");
        let mut w = RotatingFile::new(&path, 1024, 2).expect("open");
        let line = [b'x'; 100];
        for _ in 0..60 {
            w.write_all(&line).expect("write");
        }
        w.flush().expect("flush");
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        assert!(size(&path) <= 1024, "{}", size(&path));
        assert!(size(&dir.path().join("logs/agent.log.1")) > 0);
        assert!(size(&dir.path().join("logs/agent.log.2")) > 0);
        assert!(!dir.path().join("logs/agent.log.3").exists());
    }
}
