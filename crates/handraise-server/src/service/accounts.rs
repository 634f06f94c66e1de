//! Console accounts: users (checked and created, disabled and enabled),
//! passwords (argon2id hashes in PHC string form), sign-in with its growing
//! delay and bounded password checks,
//! and sessions. The console and the command line both call these.
//!
//! Every function here but [`sign_in`] is synchronous and may take a while
//! (argon2 is slow on purpose): an async caller runs it on the blocking pool.
//! [`sign_in`] runs its password check in a slot of a [`HashGate`].

use super::text::optional_text;
use crate::error::AppError;
use crate::limits::{Clock, FailureDelay, Failures, GateError, HashGate};
use crate::oidc::LocalPasswords;
use crate::secret::{hash_secret, new_secret};
use crate::store::{NewSessionRecord, NewUser, Role, SessionRecord, Store, StoreError, UserRecord};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
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

/// The password hash of a user made by signing in with OpenID Connect: it
/// is no hash, so no password matches it.
pub const NO_PASSWORD: &str = "!oidc";

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

/// What sign-in needs besides the store: the rule of the growing delay of
/// failures (kept in the store, keyed by `email:<address>` and
/// `ip:<address>`, so that failures on one server node count on every
/// other), the gate that bounds password checks (this node's), the clock of
/// both, how long a session lasts and who may use a password at all
/// (`[oidc] local_passwords`; everyone without `[oidc]`).
#[derive(Debug, Clone, Copy)]
pub struct SignInPolicy<'a> {
    pub failures: &'a FailureDelay,
    pub hashing: &'a HashGate,
    pub clock: &'a Clock,
    pub session_hours: u32,
    pub passwords: LocalPasswords,
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
    /// Too many recent failures for this email or address: the password was
    /// not checked; try again after the wait.
    Wait(Duration),
    /// Every password-checking slot stayed busy: the password was not
    /// checked and nothing was counted; try again in a moment.
    Busy,
    /// Unknown email, disabled user, wrong password, or a user whose role
    /// may not use a password (not told apart).
    Refused,
}

/// Seconds a client should wait after [`SignIn::Busy`].
pub const BUSY_RETRY_AFTER_SECS: u64 = 5;

/// Counts the attempt against the email and the address first (answering
/// `Wait` without checking anything while either must wait), then checks
/// `password` in one of the hashing slots (as slowly for an unknown email as
/// for a wrong password), and opens a session or leaves the failure counted.
/// `ip` is the client's address ([`crate::auth::ClientIp`]).
pub async fn sign_in(
    store: &Arc<dyn Store>,
    policy: &SignInPolicy<'_>,
    (email, password): (&str, &str),
    ip: IpAddr,
    now: OffsetDateTime,
) -> Result<SignIn, AppError> {
    let email = email.trim().to_owned();
    let email_key = format!("email:{}", email.to_lowercase());
    let ip_key = format!("ip:{ip}");
    let clock = policy.clock;
    if let Err(wait) = admit(store, *policy.failures, [&email_key, &ip_key], clock).await? {
        return Ok(SignIn::Wait(wait));
    }
    let (shared, password) = (Arc::clone(store), password.to_owned());
    let allowed = policy.passwords;
    let checked = policy
        .hashing
        .run(move || check_password_of(shared.as_ref(), allowed, &email, &password))
        .await;
    let user = match checked {
        Ok(Ok(user)) => user,
        Err(GateError::Busy) => {
            settle(store, &[&email_key, &ip_key], refunded, clock).await?;
            return Ok(SignIn::Busy);
        }
        Err(e @ GateError::Failed) => {
            settle(store, &[&email_key, &ip_key], refunded, clock).await?;
            return Err(AppError::internal(e));
        }
        Ok(Err(e)) => {
            settle(store, &[&email_key, &ip_key], refunded, clock).await?;
            return Err(e.into());
        }
    };
    let Some(user) = user else {
        settle(store, &[&email_key, &ip_key], FailureDelay::failed, clock).await?;
        tracing::info!(%ip, "failed console sign-in");
        return Ok(SignIn::Refused);
    };
    super::run(store, move |s| s.clear_sign_in_failures(&email_key)).await?;
    settle(store, &[&ip_key], refunded, clock).await?;
    let session = open_session(store, user, policy.session_hours, now).await?;
    tracing::info!(user = %session.user.email, "console sign-in");
    Ok(SignIn::Signed(session))
}

/// Admits one sign-in attempt for both `keys` under `rule`, in the store
/// (the same count on every server node); `Err(wait)` when either must wait.
/// Keys whose failures have all faded are forgotten first.
async fn admit(
    store: &Arc<dyn Store>,
    rule: FailureDelay,
    keys: [&String; 2],
    clock: &Clock,
) -> Result<Result<(), Duration>, AppError> {
    let now_ms = clock.unix_ms();
    let keys = keys.map(String::clone);
    super::run(store, move |s| {
        s.forget_faded_sign_in_failures(now_ms, rule.fade_every_ms())?;
        let mut admitted = Ok(());
        let keys = keys.each_ref().map(String::as_str);
        s.change_sign_in_failures(&keys, &mut |f| {
            admitted = rule.admit(f, now_ms);
            admitted.is_ok()
        })?;
        Ok(admitted)
    })
    .await
}

/// An admitted attempt that was not a failure after all.
fn refunded(f: &mut Failures, _now_ms: i64) {
    FailureDelay::refund(f);
}

/// Settles an admitted attempt of each of `keys` with `how` ([`FailureDelay::failed`]
/// or [`FailureDelay::refund`]) at the clock's time, in the store.
async fn settle(
    store: &Arc<dyn Store>,
    keys: &[&String],
    how: fn(&mut Failures, i64),
    clock: &Clock,
) -> Result<(), AppError> {
    let now_ms = clock.unix_ms();
    let keys: Vec<String> = keys.iter().map(|k| (*k).clone()).collect();
    super::run(store, move |s| {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        s.change_sign_in_failures(&keys, &mut |f| {
            f.iter_mut().for_each(|f| how(f, now_ms));
            true
        })
    })
    .await
}

/// Opens a session of `hours` (at least one) for `user`, signed in by
/// password or by OpenID Connect.
pub async fn open_session(
    store: &Arc<dyn Store>,
    user: UserRecord,
    hours: u32,
    now: OffsetDateTime,
) -> Result<NewSession, AppError> {
    let token = new_secret();
    let hours = hours.max(1);
    let expires = now + time::Duration::hours(i64::from(hours));
    let (token_hash, user_id) = (hash_secret(&token), user.id);
    super::run(store, move |s| {
        s.create_session(
            &NewSessionRecord {
                token_hash: &token_hash,
                user_id,
                csrf_token: &new_secret(),
                expires_at: expires,
            },
            now,
        )
    })
    .await?;
    Ok(NewSession {
        token,
        user,
        max_age: Duration::from_secs(u64::from(hours) * 3600),
    })
}

/// The enabled user whose password `password` is, if any and if `allowed`
/// lets their role use one; the same argon2 work whether the email is known
/// or not.
fn check_password_of(
    store: &dyn Store,
    allowed: LocalPasswords,
    email: &str,
    password: &str,
) -> Result<Option<UserRecord>, StoreError> {
    Ok(match store.user_by_email(email)? {
        Some((user, hash))
            if !user.disabled
                && allowed.allows(user.role == Role::Admin)
                && hash != NO_PASSWORD =>
        {
            verify_password(password, &hash).then_some(user)
        }
        _ => {
            let _ = verify_password(password, dummy_hash());
            None
        }
    })
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
    use crate::store::now_utc;

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

    /// A policy of one-hour sessions.
    fn one_hour<'a>(
        failures: &'a FailureDelay,
        hashing: &'a HashGate,
        clock: &'a Clock,
    ) -> SignInPolicy<'a> {
        SignInPolicy {
            failures,
            hashing,
            clock,
            session_hours: 1,
            passwords: LocalPasswords::All,
        }
    }

    #[tokio::test]
    async fn nobody_disables_themselves_and_sign_in_slows_down_after_failures() {
        let sqlite = crate::store::tests::store();
        let store: Arc<dyn Store> = Arc::new(sqlite);
        let input = UserInput {
            email: " admin@example.org ",
            name: None,
            role: Role::Admin,
            password: "a long enough password",
        };
        let admin = create_user(store.as_ref(), &input, now_utc()).expect("user");
        assert_eq!(admin.email, "admin@example.org");
        assert_eq!(admin.technician_name, "admin@example.org");
        assert!(matches!(
            set_user_disabled(store.as_ref(), &admin, admin.id, true, now_utc()),
            Err(AppError::Invalid(_))
        ));
        assert!(set_user_disabled(store.as_ref(), &admin, admin.id, false, now_utc()).is_ok());

        let failures = FailureDelay::new(2, Duration::from_secs(60));
        let hashing = HashGate::new(1, 1, Duration::from_secs(60));
        let clock = Clock::default();
        let policy = one_hour(&failures, &hashing, &clock);
        let ip = IpAddr::from([10, 0, 0, 1]);
        let attempt = |password| ("ADMIN@example.org", password);
        let signed = sign_in(&store, &policy, attempt(input.password), ip, now_utc())
            .await
            .expect("sign-in");
        let SignIn::Signed(s) = signed else {
            panic!("not signed in: {signed:?}");
        };
        assert_eq!(s.max_age, Duration::from_secs(3600));
        let found = session(store.as_ref(), &s.token, now_utc()).expect("session");
        assert_eq!(found.map(|f| f.user.id), Some(admin.id));
        sign_out(store.as_ref(), &s.token, now_utc()).expect("sign out");
        assert_eq!(
            session(store.as_ref(), &s.token, now_utc()).expect("session"),
            None
        );

        for _ in 0..2 {
            let r = sign_in(&store, &policy, attempt("wrong password!"), ip, now_utc()).await;
            assert!(matches!(r, Ok(SignIn::Refused)), "{r:?}");
        }
        assert_eq!(hashing.checks_run(), 3);
        let r = sign_in(&store, &policy, attempt(input.password), ip, now_utc()).await;
        let Ok(SignIn::Wait(wait)) = r else {
            panic!("not slowed down: {r:?}");
        };
        assert_eq!(hashing.checks_run(), 3, "a slowed attempt is not checked");
        clock.advance(wait);
        let r = sign_in(&store, &policy, attempt(input.password), ip, now_utc()).await;
        assert!(matches!(r, Ok(SignIn::Signed(_))), "{r:?}");
    }

    #[tokio::test]
    async fn a_sign_in_that_finds_every_slot_busy_is_neither_checked_nor_counted() {
        let store: Arc<dyn Store> = Arc::new(crate::store::tests::store());
        let failures = FailureDelay::new(1, Duration::from_secs(60));
        // One slot, nobody may wait for it.
        let hashing = Arc::new(HashGate::new(1, 0, Duration::from_secs(60)));
        let clock = Clock::default();
        let policy = one_hour(&failures, &hashing, &clock);
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
        let holder = {
            let hashing = Arc::clone(&hashing);
            tokio::spawn(async move {
                hashing
                    .run(move || {
                        let _ = started_tx.send(());
                        held.recv().is_ok()
                    })
                    .await
            })
        };
        started.await.expect("the slot is taken");
        let ip = IpAddr::from([10, 0, 0, 1]);
        let attempt = ("nobody@example.org", "wrong password!");
        let r = sign_in(&store, &policy, attempt, ip, now_utc()).await;
        assert!(matches!(r, Ok(SignIn::Busy)), "{r:?}");
        release.send(()).expect("release");
        assert!(matches!(holder.await, Ok(Ok(true))));
        // Not counted: the one free failure is still there.
        let r = sign_in(&store, &policy, attempt, ip, now_utc()).await;
        assert!(matches!(r, Ok(SignIn::Refused)), "{r:?}");
        let r = sign_in(&store, &policy, attempt, ip, now_utc()).await;
        assert!(matches!(r, Ok(SignIn::Wait(_))), "{r:?}");
    }
}
