//! The sync lock: only one process syncs a data directory at a time. An OS
//! file lock on `DATA_DIR/sync.lock`, released when the holder exits or dies.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{StoreError, SyncError};

/// File name of the lock inside the data directory.
pub const LOCK_FILE: &str = "sync.lock";

/// A held sync lock; dropping it releases the lock.
#[derive(Debug)]
pub struct SyncLock {
    _file: File,
    path: PathBuf,
}

impl SyncLock {
    fn open(data_dir: &Path) -> Result<(File, PathBuf), SyncError> {
        let path = data_dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|source| {
                SyncError::Store(StoreError::Io {
                    path: path.clone(),
                    source,
                })
            })?;
        Ok((file, path))
    }

    /// Takes the lock if it is free; `LockBusy` otherwise.
    pub fn try_acquire(data_dir: &Path) -> Result<SyncLock, SyncError> {
        let (file, path) = Self::open(data_dir)?;
        match file.try_lock() {
            Ok(()) => Ok(SyncLock { _file: file, path }),
            Err(TryLockError::WouldBlock) => Err(SyncError::LockBusy),
            Err(TryLockError::Error(source)) => {
                Err(SyncError::Store(StoreError::Io { path, source }))
            }
        }
    }

    /// Waits up to `wait` for the lock (polling), then gives up with `LockBusy`.
    pub async fn acquire(data_dir: &Path, wait: Duration) -> Result<SyncLock, SyncError> {
        let deadline = Instant::now() + wait;
        loop {
            match Self::try_acquire(data_dir) {
                Err(SyncError::LockBusy) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                other => return other,
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_fails_while_first_is_held() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = SyncLock::try_acquire(dir.path()).expect("first");
        assert!(matches!(
            SyncLock::try_acquire(dir.path()),
            Err(SyncError::LockBusy)
        ));
        drop(first);
        let again = SyncLock::try_acquire(dir.path()).expect("free again after release");
        assert!(again.path().ends_with(LOCK_FILE));
    }

    #[tokio::test]
    async fn acquire_gives_up_after_wait() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _held = SyncLock::try_acquire(dir.path()).expect("first");
        let start = Instant::now();
        let r = SyncLock::acquire(dir.path(), Duration::from_millis(500)).await;
        assert!(matches!(r, Err(SyncError::LockBusy)));
        assert!(start.elapsed() >= Duration::from_millis(450));
    }
}
