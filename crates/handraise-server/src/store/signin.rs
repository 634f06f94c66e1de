//! What sign-in keeps in the database so that it holds across server
//! nodes: the failures of console sign-ins (per email and per address) and
//! the OpenID Connect sign-ins under way.

use super::StoreResult;
use crate::limits::Failures;
use crate::oidc::Purpose;
use time::OffsetDateTime;

/// An OpenID Connect sign-in under way, kept from `/auth/start` until its
/// `/auth/callback` takes it (once) or it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSignInRecord {
    /// SHA-256 of the `state` sent to the provider.
    pub state_hash: String,
    pub purpose: Purpose,
    pub nonce: String,
    /// The PKCE code verifier.
    pub verifier: String,
    /// SHA-256 of the browser's `hr_oidc` cookie.
    pub browser_hash: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// Sign-in failures and OpenID Connect sign-ins under way.
pub trait SignInStore {
    /// In one transaction that holds the rows of `keys` against every other
    /// writer (another node's sign-in included): hands `change` each key's
    /// failures, in the order of `keys` (zero for a key without any), and
    /// writes them back when it answers `true`.
    fn change_sign_in_failures(
        &self,
        keys: &[&str],
        change: &mut dyn FnMut(&mut [Failures]) -> bool,
    ) -> StoreResult<()>;
    /// Forgets every failure of `key` (after a successful sign-in).
    fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()>;
    /// Forgets the keys whose failures have all faded by `now_ms`, when one
    /// failure fades in `fade_every_ms`; how many.
    fn forget_faded_sign_in_failures(&self, now_ms: i64, fade_every_ms: i64) -> StoreResult<usize>;
    /// Keeps a sign-in under way, first forgetting the expired ones and, when
    /// `max` are kept already, the oldest.
    fn insert_pending_sign_in(
        &self,
        pending: &PendingSignInRecord,
        now: OffsetDateTime,
        max: usize,
    ) -> StoreResult<()>;
    /// Takes (deletes and answers) the sign-in whose state hashes to
    /// `state_hash`, unless expired at `now`; nobody can take it again.
    fn take_pending_sign_in(
        &self,
        state_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<PendingSignInRecord>>;
}
