//! Enrollment tokens (which let a device enroll) and technician API tokens:
//! made here, shown once to whoever asked, kept as hashes only. The console
//! and the command line both call these.

use super::text::required_text;
use crate::error::AppError;
use crate::secret::{hash_secret, new_secret};
use crate::store::{Store, StoreError, Technician};
use time::OffsetDateTime;

/// Longest enrollment-token label, in characters.
pub const MAX_LABEL_CHARS: usize = 200;
/// Longest technician name, in characters.
pub const MAX_TECHNICIAN_NAME_CHARS: usize = 100;

/// A token just made, with the name it was made for.
#[derive(Debug, Clone)]
pub struct Created<T> {
    pub of: T,
    /// The secret itself, to be shown once: only its hash is stored.
    pub token: String,
}

/// A new token, stored by `store_hash` as its hash.
fn issue<T>(
    store_hash: impl FnOnce(&str) -> Result<T, StoreError>,
) -> Result<Created<T>, AppError> {
    let token = new_secret();
    let of = store_hash(&hash_secret(&token))?;
    Ok(Created { of, token })
}

/// Creates an enrollment token labelled `label` (trimmed, 1 to 200 characters).
pub fn create_enroll_token(
    store: &dyn Store,
    label: &str,
    now: OffsetDateTime,
) -> Result<Created<String>, AppError> {
    let label = required_text("the label", label, MAX_LABEL_CHARS)?;
    issue(|hash| {
        store
            .create_enroll_token(hash, &label, now)
            .map(|()| label.clone())
    })
}

/// Revokes enrollment token `id`: it enrolls no more devices (devices already
/// enrolled keep working). `NotFound` when unknown.
pub fn revoke_enroll_token(
    store: &dyn Store,
    id: i64,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    Ok(store.revoke_enroll_token(id, now)?)
}

/// Creates the technician `name` (trimmed, 1 to 100 characters) if missing
/// and a new API token for them.
pub fn create_tech_token(
    store: &dyn Store,
    name: &str,
    now: OffsetDateTime,
) -> Result<Created<Technician>, AppError> {
    let name = required_text("the technician name", name, MAX_TECHNICIAN_NAME_CHARS)?;
    issue(|hash| store.create_tech_token(&name, hash, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AccountStore, AdminStore, SqliteStore, now_utc};

    #[test]
    fn tokens_are_checked_and_stored_as_hashes() {
        let store = SqliteStore::open_in_memory().expect("store");
        assert!(matches!(
            create_enroll_token(&store, "  ", now_utc()),
            Err(AppError::Invalid(_))
        ));
        let created = create_enroll_token(&store, " Lab A ", now_utc()).expect("token");
        assert_eq!(created.of, "Lab A");
        let listed = store.list_enroll_tokens().expect("list");
        assert_eq!(listed.len(), 1);
        revoke_enroll_token(&store, listed[0].id, now_utc()).expect("revoke");
        assert!(matches!(
            revoke_enroll_token(&store, 999, now_utc()),
            Err(AppError::NotFound)
        ));
        let tech = create_tech_token(&store, " Sam ", now_utc()).expect("tech");
        assert_eq!(tech.of.name, "Sam");
        let found = store
            .technician_by_token_hash(&hash_secret(&tech.token))
            .expect("lookup");
        assert_eq!(found.map(|t| t.name), Some("Sam".to_owned()));
        assert!(create_tech_token(&store, "", now_utc()).is_err());
    }
}
