//! Persistence behind small synchronous traits, one per domain.
//!
//! The traits are synchronous on purpose: handlers call them through
//! `tokio::task::spawn_blocking`, and both backends (SQLite, PostgreSQL) are
//! blocking clients behind one implementation ([`SqlStore`]). Rows here are storage records, not wire
//! types; the API layer converts at the edge. Choice enums (category, status,
//! …) are plain values and shared with the wire crate.
//!
//! The store holds no workflow: it makes no ids, composes no messages and
//! decides no status. Callers (the service layer) decide what a change is;
//! a method writes it, and every method that writes is one transaction.

mod accounts;
mod admin;
mod announcements;
mod desks;
mod devices;
mod gauges;
mod hooks;
mod kb;
mod leases;
mod open;
mod records;
mod signin;
mod sql;
mod tickets;
pub mod transfer;
mod web;

pub use accounts::AccountStore;
pub use admin::AdminStore;
pub use announcements::AnnouncementStore;
pub use desks::*;
pub use devices::DeviceStore;
pub use gauges::{GaugeStore, Gauges};
pub use hooks::*;
pub use kb::KbStore;
pub use leases::LeaseStore;
pub use open::open_database;
pub use records::*;
pub use signin::{PendingSignInRecord, SignInStore};
pub use sql::{
    Backend, MIGRATIONS, PG_MIGRATIONS, PgUrlError, SqlStore, client_program, connection_args,
    describe_connect_error, pg_connection, pg_root_cert,
};
pub use tickets::{Decide, TicketStore};
pub use web::{NewWebDevice, NewWebSession, WebReporter, WebSession, WebStore};

use time::OffsetDateTime;

/// Errors of the store. `Conflict` and `NotFound` are expected
/// outcomes that map to 4xx answers; the rest are faults.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    /// A value the database cannot hold (text with the NUL character); nothing
    /// was written.
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A fault of the PostgreSQL backend (connection, pool or statement).
    #[error("database error: {0}")]
    Database(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The database was written by a newer HandRaise: opening it could
    /// damage data this binary does not understand.
    #[error(
        "the database has schema version {database}, but this binary knows only up to \
         version {binary}; run a HandRaise server release with schema version {database} \
         or newer"
    )]
    SchemaTooNew { database: u32, binary: u32 },
    /// A device's write would pass its daily quota of this kind; nothing was
    /// written.
    #[error("over the daily quota of {0:?}")]
    OverQuota(QuotaKind),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Outcome of an idempotent insert keyed by a client id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted<T> {
    /// The row was new and has been stored.
    Created(T),
    /// The same client already sent it; this is the stored row, unchanged.
    Existing(T),
}

impl<T> Inserted<T> {
    pub fn is_created(&self) -> bool {
        matches!(self, Inserted::Created(_))
    }
    pub fn into_inner(self) -> T {
        match self {
            Inserted::Created(t) | Inserted::Existing(t) => t,
        }
    }
}

/// The server's whole persistence: every domain's store. `Arc<dyn Store>` is
/// what the server holds; a function that needs one domain may take that
/// domain's trait alone.
pub trait Store:
    DeviceStore
    + TicketStore
    + KbStore
    + AnnouncementStore
    + AccountStore
    + AdminStore
    + GaugeStore
    + DeskStore
    + HookStore
    + WebStore
    + LeaseStore
    + SignInStore
    + Send
    + Sync
{
}

impl<T> Store for T where
    T: DeviceStore
        + TicketStore
        + KbStore
        + AnnouncementStore
        + AccountStore
        + AdminStore
        + GaugeStore
        + DeskStore
        + HookStore
        + WebStore
        + LeaseStore
        + SignInStore
        + Send
        + Sync
{
}

/// The current time, truncated to milliseconds (the store's resolution), so
/// an answer built from `now` equals one built from the stored row later.
pub fn now_utc() -> OffsetDateTime {
    truncate_ms(OffsetDateTime::now_utc())
}

/// The UTC day of `t`: days since 1970-01-01. Daily quotas count per such day.
pub fn utc_day(t: OffsetDateTime) -> i64 {
    t.unix_timestamp().div_euclid(86_400)
}

/// Truncates to milliseconds.
pub fn truncate_ms(t: OffsetDateTime) -> OffsetDateTime {
    let ns = t.nanosecond();
    t.replace_nanosecond(ns - ns % 1_000_000).unwrap_or(t)
}

#[cfg(test)]
pub(crate) mod tests;
