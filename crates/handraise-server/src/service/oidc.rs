//! Who may sign in to the console with OpenID Connect, and as what. The
//! protocol (the ID token's signature, issuer, audience, expiry, nonce) is
//! checked in [`crate::oidc`] before anything here sees the claims.
//!
//! An account is admitted when it passes the provider's gate (Google: `hd`
//! in `allowed_domains`; Microsoft: `tid` in `allowed_tenants`), its email is
//! verified, and it is listed in `admins` or `technicians` or its email's
//! domain is in `allowed_domains` (and, with `technician_claim`, it carries
//! that claim). Its first sign-in creates the console user: an admin when
//! listed in `admins`, else a technician, linked to the provider's account
//! (issuer and subject). After that the console's user decides: a disabled
//! user cannot sign in, and the role is the one set in the console; a user
//! linked to another provider account (the email was given to someone else)
//! is refused until an admin unlinks it ([`unlink`]).

use super::accounts::{self, NO_PASSWORD, NewSession};
use crate::error::AppError;
use crate::oidc::{
    self, IdClaims, OidcClient, OidcConfig, OidcError, PENDING_MAX, PENDING_TTL, Preset, Purpose,
    Started,
};
use crate::store::{NewUser, PendingSignInRecord, Role, Store, StoreError, UserRecord};
use std::sync::Arc;
use time::OffsetDateTime;

// ---- sign-ins under way ----------------------------------------------------------

/// Begins a sign-in for `purpose`: where to send the browser, and its
/// `state`, `nonce` and PKCE verifier kept in the store (so the server node
/// the provider sends the browser back to can finish it) for
/// [`PENDING_TTL`]. The outer error is the store's, the inner the provider's.
pub async fn begin(
    store: &Arc<dyn Store>,
    client: &OidcClient,
    purpose: Purpose,
    now: OffsetDateTime,
) -> Result<Result<Started, OidcError>, AppError> {
    let started = match client.start(purpose).await {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    let ttl = time::Duration::try_from(PENDING_TTL).unwrap_or(time::Duration::MINUTE);
    let pending = PendingSignInRecord {
        state_hash: oidc::state_key(&started.state),
        purpose,
        nonce: started.nonce.clone(),
        verifier: started.verifier.clone(),
        browser_hash: oidc::browser_key(&started.browser),
        created_at: now,
        expires_at: now + ttl,
    };
    super::run(store, move |s| {
        s.insert_pending_sign_in(&pending, now, PENDING_MAX)
    })
    .await?;
    Ok(Ok(started))
}

/// Takes the sign-in of `state` (once, whatever comes of it): `None` when
/// unknown, taken, expired, or begun in a browser other than the one holding
/// the `hr_oidc` cookie `browser`.
pub async fn take(
    store: &Arc<dyn Store>,
    state: &str,
    browser: Option<&str>,
    now: OffsetDateTime,
) -> Result<Option<PendingSignInRecord>, AppError> {
    let key = oidc::state_key(state);
    let taken = super::run(store, move |s| s.take_pending_sign_in(&key, now)).await?;
    Ok(taken.filter(|p| oidc::begun_by(&p.browser_hash, browser)))
}

/// Ends the sign-in of `state` begun in `browser`: takes it and trades
/// `code` for the checked ID token; what the sign-in was for. The outer
/// error is the store's, the inner the provider's (`UnknownState` when
/// [`take`] finds nothing).
pub async fn finish(
    store: &Arc<dyn Store>,
    client: &OidcClient,
    (state, code): (&str, &str),
    browser: Option<&str>,
    now: OffsetDateTime,
) -> Result<Result<(IdClaims, Purpose), OidcError>, AppError> {
    let Some(pending) = take(store, state, browser, now).await? else {
        return Ok(Err(OidcError::UnknownState));
    };
    let claims = client.finish(&pending.nonce, &pending.verifier, code).await;
    Ok(claims.map(|c| (c, pending.purpose)))
}

// ---- who may sign in ----------------------------------------------------------------

/// An account the configuration lets in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub email: String,
    pub name: Option<String>,
    /// The role its console user is created with.
    pub role: Role,
    /// The provider's account: `iss` and `sub`, which never change for it.
    pub subject: String,
}

/// Why an account that the provider vouched for is not let in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the provider did not give an email address for this account")]
    NoEmail,
    #[error("the provider has not verified this account's email address")]
    Unverified,
    #[error("{0} is not an account of this district")]
    WrongDomain(String),
    #[error("{0} is not in a directory (tenant) this district allows")]
    WrongTenant(String),
    #[error("{0} does not have the technician role or group this district requires")]
    MissingClaim(String),
    #[error("the console account {0} is disabled")]
    Disabled(String),
    #[error(
        "the console account {0} belongs to another sign-in account with the same address; \
         an admin can release it with `handraise-server user unlink`"
    )]
    OtherAccount(String),
}

/// Whether `list` names `email` (ignoring case).
fn listed(list: &[String], email: &str) -> bool {
    list.iter().any(|e| e.trim().eq_ignore_ascii_case(email))
}

/// The verified email of these claims, and whether the provider's gate lets
/// the account in (Google: `hd` in `domains`; Microsoft: `tid` in
/// `allowed_tenants`). Technicians and teachers pass the same gate, with
/// their own domains.
fn gate(config: &OidcConfig, claims: &IdClaims, domains: &[String]) -> Result<String, Refusal> {
    let email = claims
        .text("email")
        .or_else(|| {
            // Entra sends `email` only when configured to; its
            // `preferred_username` is the sign-in name the tenant assigns.
            (config.provider == Preset::Microsoft)
                .then(|| claims.text("preferred_username"))
                .flatten()
        })
        .map(|e| e.trim().to_lowercase())
        .filter(|e| e.contains('@'))
        .ok_or(Refusal::NoEmail)?;
    let unverified = match claims.0.get("email_verified") {
        Some(serde_json::Value::Bool(v)) => !v,
        Some(serde_json::Value::String(v)) => v != "true",
        _ => false,
    };
    if unverified {
        return Err(Refusal::Unverified);
    }
    match config.provider {
        Preset::Google if !claims.text("hd").is_some_and(|d| in_list(domains, d)) => {
            return Err(Refusal::WrongDomain(email));
        }
        Preset::Microsoft => {
            let tid = claims.text("tid").unwrap_or("");
            if !in_list(&config.allowed_tenants, tid) {
                return Err(Refusal::WrongTenant(email));
            }
        }
        _ => {}
    }
    Ok(email)
}

/// Whether `list` holds `value`, ignoring case.
fn in_list(list: &[String], value: &str) -> bool {
    list.iter().any(|a| a.trim().eq_ignore_ascii_case(value))
}

/// The domain of an email address.
fn domain_of(email: &str) -> &str {
    email.rsplit('@').next().unwrap_or("")
}

/// The provider's display name of the account, trimmed and bounded.
fn display_name(claims: &IdClaims) -> Option<String> {
    claims
        .text("name")
        .map(|n| n.trim().chars().take(100).collect::<String>())
        .filter(|n| !n.is_empty())
}

/// The provider's account: `iss` and `sub`, which never change for it.
fn subject(claims: &IdClaims) -> String {
    format!(
        "{} {}",
        claims.text("iss").unwrap_or(""),
        claims.text("sub").unwrap_or("")
    )
}

/// A teacher the configuration lets use the web report page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Teacher {
    pub email: String,
    pub name: Option<String>,
    pub subject: String,
}

/// Decides whether the account of these verified claims may use the web
/// report page: the provider's gate, a verified email, and its domain in
/// [`OidcConfig::teacher_domains`].
pub fn admit_teacher(config: &OidcConfig, claims: &IdClaims) -> Result<Teacher, Refusal> {
    let domains = config.teacher_domains();
    let email = gate(config, claims, domains)?;
    if !in_list(domains, domain_of(&email)) {
        return Err(Refusal::WrongDomain(email));
    }
    Ok(Teacher {
        email,
        name: display_name(claims),
        subject: subject(claims),
    })
}

/// Decides whether the account of these verified claims may sign in, and
/// with which role its user is created.
pub fn admit(config: &OidcConfig, claims: &IdClaims) -> Result<Admitted, Refusal> {
    let email = gate(config, claims, &config.allowed_domains)?;
    let domain = domain_of(&email).to_owned();
    let allowed = |d: &str| in_list(&config.allowed_domains, d);
    let (admin, technician) = (
        listed(&config.admins, &email),
        listed(&config.technicians, &email),
    );
    if !(admin || technician || allowed(&domain)) {
        return Err(Refusal::WrongDomain(email));
    }
    if let Some(c) = &config.technician_claim
        && !(admin || technician || claims.has(&c.name, &c.value))
    {
        return Err(Refusal::MissingClaim(email));
    }
    let name = display_name(claims);
    let role = if admin { Role::Admin } else { Role::Technician };
    let subject = subject(claims);
    Ok(Admitted {
        email,
        name,
        role,
        subject,
    })
}

/// How a sign-in with an admitted account ended.
#[derive(Debug, Clone)]
pub enum OidcSignIn {
    Signed(NewSession),
    Refused(Refusal),
}

/// Signs `who` in: their console user (created on first sign-in with the
/// admitted role and linked to their provider account; refused when disabled
/// or linked to another) and a new session.
pub async fn sign_in(
    store: &Arc<dyn Store>,
    who: Admitted,
    session_hours: u32,
    now: OffsetDateTime,
) -> Result<OidcSignIn, AppError> {
    let email = who.email.clone();
    let user = match super::run(store, move |s| user_for(s, &who, now)).await? {
        Ok(user) => user,
        Err(refusal) => {
            tracing::info!(user = %email, reason = %refusal, "console sign-in refused");
            return Ok(OidcSignIn::Refused(refusal));
        }
    };
    let session = accounts::open_session(store, user, session_hours, now).await?;
    tracing::info!(user = %email, "console sign-in with OpenID Connect");
    Ok(OidcSignIn::Signed(session))
}

/// The console user of `who` (created when missing), enabled and linked to
/// their provider account.
fn user_for(
    store: &dyn Store,
    who: &Admitted,
    now: OffsetDateTime,
) -> Result<Result<UserRecord, Refusal>, StoreError> {
    let user = match store.user_by_email(&who.email)? {
        Some((user, _)) => user,
        None => create_user(store, who, now)?,
    };
    if user.disabled {
        return Ok(Err(Refusal::Disabled(who.email.clone())));
    }
    match store.link_oidc_subject(user.id, &who.subject) {
        Ok(true) => Ok(Ok(user)),
        Ok(false) | Err(StoreError::Conflict(_)) => {
            Ok(Err(Refusal::OtherAccount(who.email.clone())))
        }
        Err(e) => Err(e),
    }
}

/// Creates the console user of `who`, named as the provider names them
/// unless a technician of that name exists (someone else's assignments and
/// tokens are never taken over by a display name): then by email.
fn create_user(
    store: &dyn Store,
    who: &Admitted,
    now: OffsetDateTime,
) -> Result<UserRecord, StoreError> {
    let taken = store.technicians()?;
    let name = who
        .name
        .clone()
        .filter(|n| !taken.iter().any(|t| t.name.eq_ignore_ascii_case(n)))
        .unwrap_or_else(|| who.email.clone());
    let new = NewUser {
        email: who.email.clone(),
        role: who.role,
        password_hash: NO_PASSWORD.into(),
        technician_name: name,
    };
    match store.create_user(&new, now) {
        Ok(user) => {
            tracing::info!(user = %user.email, role = user.role.as_str(), "console user created at first sign-in");
            Ok(user)
        }
        // Made at the same moment by another sign-in of the same account.
        Err(StoreError::Conflict(m)) => store
            .user_by_email(&who.email)?
            .map(|(u, _)| u)
            .ok_or(StoreError::Conflict(m)),
        Err(e) => Err(e),
    }
}

/// Releases the console user `email` from the provider account it is linked
/// to: its next sign-in links it to the account it comes with.
pub fn unlink(store: &dyn Store, email: &str) -> Result<UserRecord, AppError> {
    Ok(store.unlink_oidc_subject(email.trim())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::ClaimMatch;

    fn config(provider: Preset) -> OidcConfig {
        OidcConfig {
            provider,
            issuer: "https://idp.example".into(),
            client_id: "c".into(),
            client_secret_file: "/nonexistent".into(),
            redirect_url: "https://hr.example/auth/callback".into(),
            allowed_domains: vec!["district.example".into()],
            allowed_tenants: vec!["11111111-2222-3333-4444-555555555555".into()],
            admins: vec!["IT@district.example".into()],
            technicians: vec!["contractor@elsewhere.example".into()],
            technician_claim: None,
            local_passwords: Default::default(),
            teacher_domains: Vec::new(),
        }
    }

    fn claims(json: &str) -> IdClaims {
        IdClaims(serde_json::from_str(json).unwrap_or_default())
    }

    #[test]
    fn domains_lists_and_roles() {
        let c = config(Preset::Generic);
        let admit_ = |j: &str| admit(&c, &claims(j));
        let a = admit_(r#"{"email":"it@District.example","name":"IT"}"#);
        assert_eq!(a.map(|a| a.role), Ok(Role::Admin));
        let t = admit_(r#"{"email":"ana@district.example","email_verified":true}"#);
        assert_eq!(t.map(|a| (a.role, a.name)), Ok((Role::Technician, None)));
        let listed = admit_(r#"{"email":"contractor@elsewhere.example"}"#);
        assert_eq!(listed.map(|a| a.role), Ok(Role::Technician));
        let other = admit_(r#"{"email":"eve@elsewhere.example"}"#);
        assert!(matches!(other, Err(Refusal::WrongDomain(_))));
        let lookalike = admit_(r#"{"email":"eve@evil-district.example"}"#);
        assert!(matches!(lookalike, Err(Refusal::WrongDomain(_))));
        let unverified = admit_(r#"{"email":"ana@district.example","email_verified":false}"#);
        assert_eq!(unverified, Err(Refusal::Unverified));
        assert_eq!(admit_(r#"{"sub":"x"}"#), Err(Refusal::NoEmail));
    }

    #[test]
    fn google_checks_hd_and_microsoft_checks_tid() {
        let g = config(Preset::Google);
        let no_hd = admit(&g, &claims(r#"{"email":"ana@district.example"}"#));
        assert!(matches!(no_hd, Err(Refusal::WrongDomain(_))));
        let hd = r#"{"email":"ana@district.example","hd":"district.example"}"#;
        assert!(admit(&g, &claims(hd)).is_ok());
        let m = config(Preset::Microsoft);
        let tid = r#"{"preferred_username":"ana@district.example","tid":"11111111-2222-3333-4444-555555555555"}"#;
        assert_eq!(
            admit(&m, &claims(tid)).map(|a| a.email),
            Ok("ana@district.example".into())
        );
        let other =
            r#"{"email":"ana@district.example","tid":"99999999-2222-3333-4444-555555555555"}"#;
        assert!(matches!(
            admit(&m, &claims(other)),
            Err(Refusal::WrongTenant(_))
        ));
        let with_claim = OidcConfig {
            technician_claim: Some(ClaimMatch {
                name: "roles".into(),
                value: "HandRaise.Technician".into(),
            }),
            ..config(Preset::Generic)
        };
        let plain = r#"{"email":"ana@district.example"}"#;
        assert!(matches!(
            admit(&with_claim, &claims(plain)),
            Err(Refusal::MissingClaim(_))
        ));
        let role = r#"{"email":"ana@district.example","roles":["HandRaise.Technician"]}"#;
        assert!(admit(&with_claim, &claims(role)).is_ok());
    }

    #[test]
    fn teachers_pass_the_provider_gate_and_their_own_domains() {
        let c = OidcConfig {
            teacher_domains: vec!["schools.example".into()],
            ..config(Preset::Generic)
        };
        let t = admit_teacher(
            &c,
            &claims(r#"{"email":"Ana@Schools.example","name":" Ana ","iss":"i","sub":"7"}"#),
        );
        assert_eq!(
            t,
            Ok(Teacher {
                email: "ana@schools.example".into(),
                name: Some("Ana".into()),
                subject: "i 7".into(),
            })
        );
        // Technicians' domains are not teachers' once teacher_domains is set.
        let staff = admit_teacher(&c, &claims(r#"{"email":"it@district.example"}"#));
        assert!(matches!(staff, Err(Refusal::WrongDomain(_))));
        // Without teacher_domains, allowed_domains.
        let plain = config(Preset::Generic);
        assert!(admit_teacher(&plain, &claims(r#"{"email":"bo@district.example"}"#)).is_ok());
        let unverified = r#"{"email":"bo@district.example","email_verified":false}"#;
        assert_eq!(
            admit_teacher(&plain, &claims(unverified)),
            Err(Refusal::Unverified)
        );
        // Google: the Workspace domain must be a teachers' domain too.
        let g = OidcConfig {
            teacher_domains: vec!["schools.example".into()],
            ..config(Preset::Google)
        };
        let wrong_hd = r#"{"email":"ana@schools.example","hd":"district.example"}"#;
        assert!(matches!(
            admit_teacher(&g, &claims(wrong_hd)),
            Err(Refusal::WrongDomain(_))
        ));
        let hd = r#"{"email":"ana@schools.example","hd":"schools.example"}"#;
        assert!(admit_teacher(&g, &claims(hd)).is_ok());
        // Microsoft: the tenant.
        let m = config(Preset::Microsoft);
        let other =
            r#"{"email":"ana@district.example","tid":"99999999-2222-3333-4444-555555555555"}"#;
        assert!(matches!(
            admit_teacher(&m, &claims(other)),
            Err(Refusal::WrongTenant(_))
        ));
    }
}
