//! Technicians, their API tokens, console users and sessions.

use super::StoreResult;
use super::records::*;
use time::OffsetDateTime;

/// Technicians, console users and sessions.
pub trait AccountStore {
    /// Creates the technician `name` if missing and adds a token for them.
    fn create_tech_token(
        &self,
        name: &str,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Technician>;
    fn technician_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<Technician>>;
    /// Every technician, by name.
    fn technicians(&self) -> StoreResult<Vec<Technician>>;
    /// `Conflict` when the email is taken or the technician already has a user.
    fn create_user(&self, user: &NewUser, now: OffsetDateTime) -> StoreResult<UserRecord>;
    /// The user with this email (compared case-insensitively, as given: the
    /// caller trims it) and their password hash.
    fn user_by_email(&self, email: &str) -> StoreResult<Option<(UserRecord, String)>>;
    fn list_users(&self) -> StoreResult<Vec<UserRecord>>;
    /// Disables (ending every session) or re-enables a user; `NotFound` when unknown.
    fn set_user_disabled(
        &self,
        id: i64,
        disabled: bool,
        now: OffsetDateTime,
    ) -> StoreResult<UserRecord>;
    fn create_session(
        &self,
        session: &NewSessionRecord<'_>,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// The session if it exists, has not expired and its user is enabled.
    fn session(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<Option<SessionRecord>>;
    /// Deletes the session (and every expired one).
    fn delete_session(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<()>;
}
