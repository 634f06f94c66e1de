//! Enrollment tokens (which let a device enroll) and technician API tokens:
//! made here, shown once to whoever asked, kept as hashes only. The console
//! and the command line both call these.

use super::text::required_text;
use crate::error::AppError;
use crate::secret::{hash_secret, new_secret};
use crate::store::{NewTechTokenRecord, Role, Store, StoreError, TechTokenRecord, UserRecord};
use time::{Duration, OffsetDateTime};

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

/// Days a technician API token lasts unless told otherwise.
pub const DEFAULT_TECH_TOKEN_DAYS: u32 = 90;
/// Longest a technician API token may last, in days.
pub const MAX_TECH_TOKEN_DAYS: u32 = 3650;

/// Whom a technician API token is for.
#[derive(Debug, Clone, Copy)]
pub enum TokenOwner<'a> {
    /// The console user with this email; the token carries their role.
    Email(&'a str),
    /// The password-less technician-role user named so (for scripts; created
    /// if missing, and unable to sign in to the console).
    Name(&'a str),
}

/// A technician API token just made.
#[derive(Debug, Clone)]
pub struct TechTokenMade {
    pub id: i64,
    pub user: UserRecord,
    pub expires_at: OffsetDateTime,
}

/// Makes an API token for `owner` lasting `days` (1 to 3650; 90 when
/// `None`). `NotFound` for an unknown email, `Invalid` for a disabled user.
pub fn create_tech_token(
    store: &dyn Store,
    owner: TokenOwner<'_>,
    days: Option<u32>,
    now: OffsetDateTime,
) -> Result<Created<TechTokenMade>, AppError> {
    let days = days.unwrap_or(DEFAULT_TECH_TOKEN_DAYS);
    if !(1..=MAX_TECH_TOKEN_DAYS).contains(&days) {
        return Err(AppError::Invalid(format!(
            "a token lasts 1 to {MAX_TECH_TOKEN_DAYS} days"
        )));
    }
    let user = match owner {
        TokenOwner::Email(email) => {
            store
                .user_by_email(email.trim())?
                .ok_or(AppError::NotFound)?
                .0
        }
        TokenOwner::Name(name) => {
            let name = required_text("the technician name", name, MAX_TECHNICIAN_NAME_CHARS)?;
            store.script_user(&name, now)?
        }
    };
    if user.disabled {
        return Err(AppError::Invalid(format!(
            "the user {:?} is disabled",
            user.email
        )));
    }
    let expires_at = now + Duration::days(i64::from(days));
    issue(|hash| {
        let token = NewTechTokenRecord {
            token_hash: hash,
            user_id: user.id,
            expires_at: Some(expires_at),
        };
        let id = store.create_tech_token(&token, now)?;
        Ok(TechTokenMade {
            id,
            user: user.clone(),
            expires_at,
        })
    })
}

/// The user whose technician API token this is, if the token is neither
/// revoked nor expired at `now` and the user is enabled (checked on every
/// request: nothing is cached). Records the use.
pub fn tech_token_user(
    store: &dyn Store,
    token: &str,
    now: OffsetDateTime,
) -> Result<Option<UserRecord>, AppError> {
    Ok(store.tech_token_user(&hash_secret(token), now)?)
}

/// Refuses a non-admin: what the console allows admins only, a technician's
/// API token may not do either.
pub fn require_admin(user: &UserRecord) -> Result<(), AppError> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "this needs an admin's token; technicians may not do it".into(),
        ))
    }
}

/// Whose tokens `actor` may see and revoke: an admin everyone's, a
/// technician their own; `None` (the command line) everyone's.
fn scope(actor: Option<&UserRecord>) -> Option<i64> {
    actor.filter(|u| u.role != Role::Admin).map(|u| u.id)
}

/// The technician API tokens `actor` may see (see [`scope`]).
pub fn list_tech_tokens(
    store: &dyn Store,
    actor: Option<&UserRecord>,
) -> Result<Vec<TechTokenRecord>, AppError> {
    Ok(store.list_tech_tokens(scope(actor))?)
}

/// Revokes technician API token `id`, effective on its next request;
/// `NotFound` when unknown or not `actor`'s to revoke.
pub fn revoke_tech_token(
    store: &dyn Store,
    actor: Option<&UserRecord>,
    id: i64,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    Ok(store.revoke_tech_token(id, scope(actor), now)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AdminStore, SqliteStore, now_utc};

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
        let now = now_utc();
        let tech = create_tech_token(&store, TokenOwner::Name(" Sam "), None, now).expect("tech");
        assert_eq!(tech.of.user.technician_name, "Sam");
        assert_eq!(tech.of.expires_at, now + Duration::days(90));
        let found = tech_token_user(&store, &tech.token, now).expect("lookup");
        assert_eq!(found.map(|u| u.technician_name), Some("Sam".to_owned()));
        assert!(create_tech_token(&store, TokenOwner::Name(""), None, now).is_err());
        assert!(create_tech_token(&store, TokenOwner::Name("Sam"), Some(0), now).is_err());
        assert!(matches!(
            create_tech_token(&store, TokenOwner::Email("nobody@example.org"), None, now),
            Err(AppError::NotFound)
        ));
    }
}
