//! Sign-ins under way: the rules of what `/auth/start` sent the browser off
//! with, kept on the server (in the database, so any server node can finish
//! a sign-in another began) until `/auth/callback` takes it back, once, or
//! it expires.

use crate::secret::{hash_secret, same_secret};
use std::time::Duration;

/// How long a browser has to come back from the provider.
pub const PENDING_TTL: Duration = Duration::from_secs(600);
/// At most this many sign-ins are under way; a new one pushes out the oldest.
pub const PENDING_MAX: usize = 10_000;
/// Sign-ins one client address may begin per minute (and at once), so that
/// nobody fills [`PENDING_MAX`] alone. Counted by each server node apart.
pub const STARTS_PER_MINUTE_PER_IP: u32 = 20;

/// What a sign-in is for: the technicians' console or the teachers' web
/// report page. Both come back to the one `/auth/callback`; the purpose is
/// kept on the server, never taken from the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Console,
    Report,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Console => "console",
            Purpose::Report => "report",
        }
    }
}

impl std::str::FromStr for Purpose {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "console" => Ok(Purpose::Console),
            "report" => Ok(Purpose::Report),
            _ => Err(()),
        }
    }
}

/// The key a sign-in under way is kept by: the hash of its `state` (the
/// `state` itself travels in URLs and is never stored).
pub fn state_key(state: &str) -> String {
    hash_secret(state)
}

/// What binds a sign-in to the browser that began it: the hash of its
/// `hr_oidc` cookie.
pub fn browser_key(browser: &str) -> String {
    hash_secret(browser)
}

/// Whether the browser holding the `hr_oidc` cookie `browser` (if any) is the
/// one whose cookie hashed to `browser_key`.
pub fn begun_by(browser_key: &str, browser: Option<&str>) -> bool {
    browser.is_some_and(|b| same_secret(&hash_secret(b), browser_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_ends_only_in_its_browser_and_purposes_read_back() {
        let key = browser_key("browser-a");
        assert!(begun_by(&key, Some("browser-a")));
        assert!(!begun_by(&key, Some("browser-b")), "another browser");
        assert!(!begun_by(&key, None), "no cookie");
        assert_ne!(state_key("s1"), "s1", "the state is never kept as it is");
        for p in [Purpose::Console, Purpose::Report] {
            assert_eq!(p.as_str().parse::<Purpose>(), Ok(p));
        }
        assert_eq!("admin".parse::<Purpose>(), Err(()));
    }
}
