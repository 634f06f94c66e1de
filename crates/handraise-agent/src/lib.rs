//! HandRaise agent core: configuration, enrollment, device facts, the durable
//! outbox and offline cache, the sync engine, and knowledge-base search.
//!
//! No GUI dependency; the tray app and the `handraise-agent` binary both drive
//! it through [`Agent`].
//!
//! Invariants: a submission is one SQLite transaction and never touches the
//! network; nothing in the outbox is ever deleted; only the configured server
//! is contacted; only one process syncs a data directory at a time.

pub mod agent;
pub mod app;
pub mod config;
pub mod enrollment;
pub mod error;
pub mod facts;
pub mod i18n;
pub mod lock;
pub mod logging;
pub mod machine;
pub mod netcheck;
pub mod private;
pub mod reporter;
pub mod store;
pub mod sync;
mod windowless;

pub use agent::{
    Agent, AgentStatus, PAUSED_REASON, Rejection, ReportInput, Screenshot, SyncOptions, SyncReport,
    Waker, validate_message, validate_report,
};
pub use config::{Config, ConfigLayer, ConfigSources, Secret};
pub use enrollment::Enrollment;
pub use error::{AgentError, ConfigError, StoreError, SyncError};
pub use store::{ContactInfo, ItemState, KbHit, MessageView, QueueCounts, TicketView};
