//! The business layer. Every rule of tickets and their workflow, device
//! intake, the knowledge base, announcements and retention lives here; the
//! agent API (`api::agent`), the technician API (`api::tech`), the console
//! and the command line are thin callers, so a change made in the browser
//! and one made over the API are the same change.
//!
//! Functions take what they need, not the HTTP state: the store, the time
//! `now` for what they write, and the [`FeedNotifier`] when a change reaches
//! a device. The async ones run the store on the blocking pool; the
//! synchronous ones (for the command line) take `&dyn Store`. The store
//! below only persists: ids, statuses and message texts are decided here.

pub mod accounts;
pub mod announcements;
pub mod backups;
pub mod cluster;
pub mod convert;
pub mod desks;
pub mod devices;
pub mod enrollment;
mod feed;
pub mod forward;
pub mod hooks;
pub mod intake;
pub mod kb;
pub mod kb_search;
pub mod leases;
pub mod oidc;
pub mod retention;
pub mod settings;
pub mod text;
pub mod tickets;
pub mod web;

pub use feed::{FeedNotifier, LongPoll, LongPolls};
pub use kb::{article_input, article_record, load_default_articles};
pub use retention::purge;

use crate::error::AppError;
use crate::store::{Store, StoreError};
use std::sync::Arc;

/// Runs a store call on the blocking pool.
pub async fn run<T, F>(store: &Arc<dyn Store>, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
{
    let store = Arc::clone(store);
    off_thread(move || f(store.as_ref()))
        .await?
        .map_err(AppError::from)
}

/// Runs `f` on the blocking pool inside the caller's span and log
/// subscriber, so what it logs carries the request's id.
pub async fn off_thread<T, F>(f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let span = tracing::Span::current();
    let dispatch = tracing::dispatcher::get_default(Clone::clone);
    tokio::task::spawn_blocking(move || {
        tracing::dispatcher::with_default(&dispatch, || span.in_scope(f))
    })
    .await
    .map_err(AppError::internal)
}

#[cfg(test)]
mod tests;
