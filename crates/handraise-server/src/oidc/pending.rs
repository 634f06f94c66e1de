//! Sign-ins under way: what `/auth/start` sent the browser off with, kept on
//! the server until `/auth/callback` takes it back (once), or it expires.

use crate::secret::{hash_secret, same_secret};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a browser has to come back from the provider.
pub const PENDING_TTL: Duration = Duration::from_secs(600);
/// At most this many sign-ins are under way; a new one pushes out the oldest.
const PENDING_MAX: usize = 10_000;
/// Sign-ins one client address may begin per minute (and at once), so that
/// nobody fills [`PENDING_MAX`] alone.
pub const STARTS_PER_MINUTE_PER_IP: u32 = 20;

/// What a sign-in is for: the technicians' console or the teachers' web
/// report page. Both come back to the one `/auth/callback`; the purpose is
/// kept on the server, never taken from the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Console,
    Report,
}

/// One sign-in under way, keyed by its `state`.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    pub purpose: Purpose,
    pub nonce: String,
    /// The PKCE code verifier.
    pub verifier: String,
    /// SHA-256 of the browser's `hr_oidc` cookie: the sign-in ends in the
    /// browser that began it.
    browser_hash: String,
    at: Instant,
}

/// The sign-ins under way.
#[derive(Debug, Default)]
pub struct Pending {
    map: Mutex<HashMap<String, PendingLogin>>,
}

impl Pending {
    /// Keeps a sign-in begun now by the browser holding `browser`.
    pub fn insert(
        &self,
        purpose: Purpose,
        state: String,
        nonce: String,
        verifier: String,
        browser: &str,
    ) {
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, p| now.saturating_duration_since(p.at) < PENDING_TTL);
        if map.len() >= PENDING_MAX
            && let Some(oldest) = map.iter().min_by_key(|(_, p)| p.at).map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        let login = PendingLogin {
            purpose,
            nonce,
            verifier,
            browser_hash: hash_secret(browser),
            at: now,
        };
        map.insert(state, login);
    }

    /// Takes the sign-in of `state` (it cannot be taken twice): `None` when
    /// unknown, taken, expired, or begun in another browser.
    pub fn take(&self, state: &str, browser: Option<&str>) -> Option<PendingLogin> {
        let login = self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(state)?;
        let fresh = login.at.elapsed() < PENDING_TTL;
        let same_browser =
            browser.is_some_and(|b| same_secret(&hash_secret(b), &login.browser_hash));
        (fresh && same_browser).then_some(login)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_is_taken_once_and_only_by_its_browser() {
        let p = Pending::default();
        p.insert(
            Purpose::Console,
            "s1".into(),
            "n".into(),
            "v".into(),
            "browser-a",
        );
        assert!(p.take("s1", Some("browser-b")).is_none(), "another browser");
        assert!(p.take("s1", Some("browser-a")).is_none(), "already spent");
        p.insert(
            Purpose::Console,
            "s2".into(),
            "n".into(),
            "v".into(),
            "browser-a",
        );
        assert!(p.take("s2", None).is_none(), "no cookie");
        p.insert(
            Purpose::Console,
            "s3".into(),
            "n".into(),
            "v".into(),
            "browser-a",
        );
        assert_eq!(
            p.take("s3", Some("browser-a")).map(|l| l.nonce),
            Some("n".into())
        );
        assert!(p.take("s3", Some("browser-a")).is_none(), "single use");
    }
}
