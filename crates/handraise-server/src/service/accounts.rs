//! Console accounts: users (checked and created, disabled and enabled),
//! passwords (argon2id hashes in PHC string form), sign-in with its lockout,
//! and sessions. The console and the command line both call these.
//!
//! Every function here is synchronous and may take a while (argon2 is slow on
//! purpose): an async caller runs it on the blocking pool.

use super::text::optional_text;
use crate::error::AppError;
use crate::limits::FailureWindow;
use crate::secret::{hash_secret, new_secret};
use crate::store::{NewSessionRecord, NewUser, Role, SessionRecord, Store, StoreError, UserRecord};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::net::IpAddr;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

// ---- passwords ---------------------------------------------------------------

/// Shortest password accepted, in characters. No character-class rules.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted, in characters (bounds the hashing work).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Why a password was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("the password must be at least {MIN_PASSWORD_CHARS} characters long")]
    TooShort,
    #[error("the password must be at most {MAX_PASSWORD_CHARS} characters long")]
    TooLong,
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

impl From<PasswordError> for AppError {
    fn from(e: PasswordError) -> Self {
        match e {
            PasswordError::Hash(m) => AppError::internal(m),
            other => AppError::Invalid(other.to_string()),
        }
    }
}

/// Checks the length rules only.
pub fn check_password(password: &str) -> Result<(), PasswordError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// Checks and hashes a new password (argon2id, default parameters, random salt).
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    check_password(password)?;
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored hash; a malformed hash never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return false;
    }
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of no one's password, verified when the email is unknown so that
/// an unknown email takes as long as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&new_secret()).unwrap_or_else(|_| "$invalid".into()))
}

// ---- users -------------------------------------------------------------------

/// A console user as an admin page or `user add` asks for one.
#[derive(Debug, Clone, Copy)]
pub struct UserInput<'a> {
    pub email: &'a str,
    /// Technician name shown on assignments; defaults to the email.
    pub name: Option<&'a str>,
    pub role: Role,
    pub password: &'a str,
}

/// Validates and hashes; the technician name defaults to the email.
pub fn new_user(input: &UserInput<'_>) -> Result<NewUser, AppError> {
    let email = input.email.trim().to_owned();
    if email.len() > 254 || !email.contains('@') || email.chars().any(char::is_whitespace) {
        return Err(AppError::Invalid("enter a valid email address".into()));
    }
    let technician_name = optional_text("name", input.name, 100)?.unwrap_or_else(|| email.clone());
    let password_hash = hash_password(input.password)?;
    Ok(NewUser {
        email,
        role: input.role,
        password_hash,
        technician_name,
    })
}

/// Checks and creates a user; `Conflict` when the email is taken or the
/// technician already has a user.
pub fn create_user(
    store: &dyn Store,
    input: &UserInput<'_>,
    now: OffsetDateTime,
) -> Result<UserRecord, AppError> {
    let user = new_user(input)?;
    Ok(store.create_user(&user, now)?)
}

/// Disables (ending every session) or re-enables user `id` on behalf of
/// `actor`; nobody may disable their own account.
pub fn set_user_disabled(
    store: &dyn Store,
    actor: &UserRecord,
    id: i64,
    disabled: bool,
    now: OffsetDateTime,
) -> Result<UserRecord, AppError> {
    if id == actor.id && disabled {
        return Err(AppError::Invalid(
            "you cannot disable your own account".into(),
        ));
    }
    Ok(store.set_user_disabled(id, disabled, now)?)
}

// ---- sign-in and sessions ------------------------------------------------------

/// What sign-in needs besides the store: the failure window (keyed by
/// `email:<address>` and `ip:<address>`) and how long a session lasts.
#[derive(Debug)]
pub struct SignInPolicy<'a> {
    pub failures: &'a FailureWindow<String>,
    pub session_hours: u32,
}

/// A session just opened: the token goes into the cookie, never into the store.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub user: UserRecord,
    pub max_age: Duration,
}

/// How a sign-in ended.
#[derive(Debug, Clone)]
pub enum SignIn {
    Signed(NewSession),
    /// Too many failures for this email or address; try again after the wait.
    Locked(Duration),
    /// Unknown email, disabled user or wrong password (not told apart).
    Refused,
}

/// Checks the lockout, then `password` (as slowly for an unknown email as
/// for a wrong password), and records a failure or opens a session. `ip` is
/// where the attempt came from.
pub fn sign_in(
    store: &dyn Store,
    policy: &SignInPolicy<'_>,
    (email, password): (&str, &str),
    ip: IpAddr,
    now: OffsetDateTime,
) -> Result<SignIn, AppError> {
    let limiter = policy.failures;
    let email = email.trim();
    let email_key = format!("email:{}", email.to_lowercase());
    let ip_key = format!("ip:{ip}");
    let at = Instant::now();
    if let Some(wait) = limiter
        .blocked(&email_key, at)
        .max(limiter.blocked(&ip_key, at))
    {
        return Ok(SignIn::Locked(wait));
    }
    let user = match store.user_by_email(email)? {
        Some((user, hash)) if !user.disabled => verify_password(password, &hash).then_some(user),
        _ => {
            // Same work for an unknown email as for a wrong password.
            let _ = verify_password(password, dummy_hash());
            None
        }
    };
    let Some(user) = user else {
        let at = Instant::now();
        limiter.record(&email_key, at);
        limiter.record(&ip_key, at);
        tracing::info!(%ip, "failed console sign-in");
        return Ok(SignIn::Refused);
    };
    limiter.clear(&email_key);
    let token = new_secret();
    let hours = policy.session_hours.max(1);
    let expires = now + time::Duration::hours(i64::from(hours));
    store.create_session(
        &NewSessionRecord {
            token_hash: &hash_secret(&token),
            user_id: user.id,
            csrf_token: &new_secret(),
            expires_at: expires,
        },
        now,
    )?;
    tracing::info!(user = %user.email, "console sign-in");
    Ok(SignIn::Signed(NewSession {
        token,
        user,
        max_age: Duration::from_secs(u64::from(hours) * 3600),
    }))
}

/// The live session whose cookie holds `token`.
pub fn session(
    store: &dyn Store,
    token: &str,
    now: OffsetDateTime,
) -> Result<Option<SessionRecord>, StoreError> {
    store.session(&hash_secret(token), now)
}

/// Ends the session whose cookie holds `token` (and every expired one).
pub fn sign_out(store: &dyn Store, token: &str, now: OffsetDateTime) -> Result<(), StoreError> {
    store.delete_session(&hash_secret(token), now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{SqliteStore, now_utc};

    #[test]
    fn hashes_verify_and_short_passwords_are_refused() {
        assert_eq!(check_password("short"), Err(PasswordError::TooShort));
        assert_eq!(check_password("twelve chars"), Ok(()));
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("anything at all", "not a hash"));
    }

    #[test]
    fn nobody_disables_themselves_and_sign_in_locks_after_failures() {
        let store = SqliteStore::open_in_memory().expect("store");
        let input = UserInput {
            email: " admin@example.org ",
            name: None,
            role: Role::Admin,
            password: "a long enough password",
        };
        let admin = create_user(&store, &input, now_utc()).expect("user");
        assert_eq!(admin.email, "admin@example.org");
        assert_eq!(admin.technician_name, "admin@example.org");
        assert!(matches!(
            set_user_disabled(&store, &admin, admin.id, true, now_utc()),
            Err(AppError::Invalid(_))
        ));
        assert!(set_user_disabled(&store, &admin, admin.id, false, now_utc()).is_ok());

        let failures = FailureWindow::new(2, Duration::from_secs(60));
        let policy = SignInPolicy {
            failures: &failures,
            session_hours: 1,
        };
        let ip = IpAddr::from([10, 0, 0, 1]);
        let attempt = |password| ("ADMIN@example.org", password);
        let signed =
            sign_in(&store, &policy, attempt(input.password), ip, now_utc()).expect("sign-in");
        let SignIn::Signed(s) = signed else {
            panic!("not signed in: {signed:?}");
        };
        assert_eq!(s.max_age, Duration::from_secs(3600));
        let found = session(&store, &s.token, now_utc()).expect("session");
        assert_eq!(found.map(|f| f.user.id), Some(admin.id));
        sign_out(&store, &s.token, now_utc()).expect("sign out");
        assert_eq!(session(&store, &s.token, now_utc()).expect("session"), None);

        for _ in 0..2 {
            let r = sign_in(&store, &policy, attempt("wrong password!"), ip, now_utc());
            assert!(matches!(r, Ok(SignIn::Refused)), "{r:?}");
        }
        let r = sign_in(&store, &policy, attempt(input.password), ip, now_utc());
        assert!(matches!(r, Ok(SignIn::Locked(_))), "{r:?}");
    }
}
