//! Error types of the agent core.

use std::path::PathBuf;
use std::time::Duration;

/// The configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{key} must be a whole number of seconds, not '{value}'")]
    InvalidNumber { key: &'static str, value: String },
    #[error("server URL '{url}' is not usable: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("no data directory: set HANDRAISE_DATA_DIR or pass --data-dir")]
    NoDataDir,
    #[error("Group Policy key {key} is not valid: {message}")]
    Registry { key: String, message: String },
}

/// The local database or data directory failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("local database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("stored data is unreadable: {0}")]
    Json(#[from] serde_json::Error),
    #[error("no ticket {0} on this computer")]
    UnknownTicket(uuid::Uuid),
    /// A stored value this agent cannot read: the row is damaged (or was edited by hand).
    /// Reported, never replaced by a default.
    #[error(
        "the local database holds an unreadable value in {table}.{column}: {value:?} ({reason})"
    )]
    Corrupt {
        table: &'static str,
        column: &'static str,
        /// The stored value (shortened).
        value: String,
        reason: String,
    },
    /// The database was written by a newer HandRaise agent. It is left as it is (not moved
    /// aside, not migrated): the newer agent's data stays intact for when it is back.
    #[error(
        "the local database {path} has schema version {found}, newer than this HandRaise agent \
         reads (up to {known}); install a HandRaise agent that reads schema version {found} \
         (the database was left untouched)"
    )]
    SchemaTooNew {
        path: PathBuf,
        /// The schema version in the file: the version needed.
        found: u32,
        /// The newest schema version this binary knows.
        known: u32,
    },
}

/// A sync request failed. [`SyncError::is_permanent`] says whether retrying
/// the same request later can succeed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No answer: connection refused, DNS, TLS, timeout. Retried later.
    #[error("server unreachable ({message})")]
    Transport { message: String, timeout: bool },
    /// 408, 429, 5xx. Retried later (after `retry_after` when given).
    #[error("server busy or failing (HTTP {status}: {message})")]
    Unavailable {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    /// 400, 404, 409, 413, 415, 422 …: this one item will never be accepted.
    #[error("server refused it (HTTP {status} {code}: {message})")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    /// 401/403: the device is unknown or revoked; the queue pauses until re-enrolled.
    /// (At enrollment: the token or the computer was refused, as `code` says.)
    #[error("this computer needs to be reconnected to the help desk (HTTP {status}: {message})")]
    Unauthorized {
        status: u16,
        code: String,
        message: String,
    },
    /// A 2xx answer whose body could not be read. Retried later.
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
    #[error(
        "this computer is not enrolled yet: run `handraise-agent enroll --server URL --token TOKEN`"
    )]
    NotEnrolled,
    #[error("another HandRaise process is syncing this data directory")]
    LockBusy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SyncError {
    /// True when retrying the same request unchanged cannot succeed
    /// (the item is rejected, or the device must be re-enrolled first).
    pub fn is_permanent(&self) -> bool {
        match self {
            SyncError::Transport { .. }
            | SyncError::Unavailable { .. }
            | SyncError::Decode(_)
            | SyncError::LockBusy => false,
            SyncError::Rejected { .. }
            | SyncError::Unauthorized { .. }
            | SyncError::NotEnrolled => true,
            SyncError::Store(_) => false,
        }
    }

    /// The server's Retry-After, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SyncError::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Errors of the [`crate::Agent`] API.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// Input that the server would refuse too; the message is for people.
    #[error("{0}")]
    Invalid(String),
    /// The server refused to enroll this computer (an expired or used-up token, a
    /// computer an admin removed, …); said plainly.
    #[error("{0}")]
    EnrollRefused(handraise_wire::EnrollRefusal),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("background task failed: {0}")]
    Task(String),
}
