//! The web report page's accounts: a device per signed-in district account
//! (bound to the provider's issuer and subject), its sessions, and its
//! tickets for "My tickets".

use super::StoreResult;
use super::records::{DeviceRecord, TicketRecord};
use time::OffsetDateTime;
use uuid::Uuid;

/// The district account behind a web device, as its last sign-in gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebReporter {
    pub email: String,
    pub name: Option<String>,
}

/// A web device to find, or to create when the account has none.
#[derive(Debug, Clone)]
pub struct NewWebDevice {
    /// The provider's `iss` and `sub`, which never change for an account.
    pub subject: String,
    pub reporter: WebReporter,
    /// Used only when the device is created: its id, the hash of a secret
    /// nobody holds (a web device has no bearer), and its name in the
    /// console's device list.
    pub id: Uuid,
    pub secret_hash: String,
    pub hostname: String,
    pub now: OffsetDateTime,
}

/// A web session to store: only the hash of its cookie's token.
#[derive(Debug, Clone)]
pub struct NewWebSession {
    pub token_hash: String,
    pub device_id: Uuid,
    pub csrf_token: String,
    pub expires_at: OffsetDateTime,
}

/// A live web session.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub device: DeviceRecord,
    pub reporter: WebReporter,
    pub csrf_token: String,
    pub expires_at: OffsetDateTime,
}

/// Web devices and their sessions.
pub trait WebStore {
    /// In one transaction: the device bound to `new.subject`, created (with
    /// `new`'s id, secret hash and hostname) when there is none; the
    /// reporter's email and name are updated either way.
    fn web_device(&self, new: &NewWebDevice) -> StoreResult<DeviceRecord>;
    fn create_web_session(&self, session: &NewWebSession) -> StoreResult<()>;
    /// The session of `token_hash` unless expired (expired ones are deleted).
    fn web_session(&self, token_hash: &str, now: OffsetDateTime)
    -> StoreResult<Option<WebSession>>;
    fn delete_web_session(&self, token_hash: &str) -> StoreResult<()>;
    /// The device's tickets, newest first, at most `limit`.
    fn device_tickets(&self, device_id: Uuid, limit: usize) -> StoreResult<Vec<TicketRecord>>;
}
