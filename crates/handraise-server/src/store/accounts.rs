//! Technicians, their API tokens, console users and sessions.

use super::StoreResult;
use super::records::*;
use time::OffsetDateTime;

/// Technicians, console users and sessions.
pub trait AccountStore {
    /// The password-less technician-role user of the technician `name`
    /// (who cannot sign in to the console), created if missing. `Conflict`
    /// when that technician belongs to a user with a password.
    fn script_user(&self, name: &str, now: OffsetDateTime) -> StoreResult<UserRecord>;
    /// Adds an API token of user `user_id`; returns its id.
    fn create_tech_token(
        &self,
        token: &NewTechTokenRecord<'_>,
        now: OffsetDateTime,
    ) -> StoreResult<i64>;
    /// The user of the token if the token is neither revoked nor expired at
    /// `now` and its user is enabled; records the use (at most once a minute).
    fn tech_token_user(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>>;
    /// The API tokens of user `user_id`, or everyone's with `None`, oldest first.
    fn list_tech_tokens(&self, user_id: Option<i64>) -> StoreResult<Vec<TechTokenRecord>>;
    /// Revokes token `id` (of user `user_id` only, when given); `NotFound`
    /// when unknown or someone else's.
    fn revoke_tech_token(
        &self,
        id: i64,
        user_id: Option<i64>,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Every technician, by name.
    fn technicians(&self) -> StoreResult<Vec<Technician>>;
    /// `Conflict` when the email is taken or the technician already has a
    /// user with a password; a password-less user of the technician (see
    /// [`AccountStore::script_user`]) becomes this user, tokens and all.
    fn create_user(&self, user: &NewUser, now: OffsetDateTime) -> StoreResult<UserRecord>;
    /// The user with this email (compared case-insensitively, as given: the
    /// caller trims it) and their password hash.
    fn user_by_email(&self, email: &str) -> StoreResult<Option<(UserRecord, String)>>;
    fn list_users(&self) -> StoreResult<Vec<UserRecord>>;
    /// Links user `id` to the OpenID Connect `subject` unless it is linked
    /// already; whether it is now linked to `subject` (`false`: to another).
    /// `Conflict` when another user is linked to `subject`.
    fn link_oidc_subject(&self, id: i64, subject: &str) -> StoreResult<bool>;
    /// Forgets the OpenID Connect subject of the user with this email;
    /// `NotFound` when there is no such user.
    fn unlink_oidc_subject(&self, email: &str) -> StoreResult<UserRecord>;
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
