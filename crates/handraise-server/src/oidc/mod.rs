//! OpenID Connect, the protocol only: the `[oidc]` configuration
//! ([`OidcConfig`]), the client that sends a browser to the provider and
//! checks what comes back ([`OidcClient`]), and the sign-ins under way
//! (`pending`: their rules; they are kept in the database). Who may sign in, and as what, is decided in
//! [`crate::service::oidc`]; the pages are in `console::oidc`.

mod client;
mod config;
mod pending;

pub use client::{IdClaims, KEY_REFETCH_EVERY, OidcClient, OidcError, Started};
pub use config::{CALLBACK_PATH, ClaimMatch, LocalPasswords, OidcConfig, OidcConfigError, Preset};
pub use pending::{
    PENDING_MAX, PENDING_TTL, Purpose, STARTS_PER_MINUTE_PER_IP, begun_by, browser_key, state_key,
};
