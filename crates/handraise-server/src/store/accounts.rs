//! Technicians, their API tokens, console users and sessions.

use super::StoreResult;
use time::OffsetDateTime;

/// A technician account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Technician {
    pub id: i64,
    pub name: String,
}

/// What a console user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Works tickets and sees devices.
    Technician,
    /// Also manages users, enrollment tokens, devices and the SLA policy.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Technician => "technician",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "technician" => Some(Role::Technician),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A console user. Every user has a technician record (`technician_name`),
/// the same record that technician API tokens and assignments name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub technician_id: i64,
    pub technician_name: String,
    pub created_at: OffsetDateTime,
    pub disabled: bool,
}

/// A user to create. `technician_name` is created if missing, or linked when
/// a technician of that name exists (made by `tech-token create`).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub role: Role,
    pub password_hash: String,
    pub technician_name: String,
}

/// A live console session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: UserRecord,
    pub csrf_token: String,
    pub expires_at: OffsetDateTime,
}

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
    /// The user (case-insensitive email) and their password hash.
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
        token_hash: &str,
        user_id: i64,
        csrf_token: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// The session if it exists, has not expired and its user is enabled.
    fn session(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<Option<SessionRecord>>;
    /// Deletes the session (and every expired one).
    fn delete_session(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<()>;
}
