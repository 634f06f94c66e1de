//! Enrollment and tokens, every rule in one place: enrollment tokens (which let a
//! device enroll: expiry, use limit, the school and building they bind, bursts),
//! enrolling a device (which token and computer may, what it gets, re-enrollments of a
//! computer and allowing a revoked one back), and technician API tokens. Tokens are
//! made here, shown once to whoever asked, kept as hashes only. The API, the console
//! and the command line all call these.

use super::run;
use super::text::{optional_text, required_text};
use crate::error::AppError;
use crate::secret::{hash_secret, new_secret};
use crate::store::{
    EnrollContext, EnrollTokenRecord, NewDevice, NewEnrollToken, NewEnrollment, NewTechTokenRecord,
    Role, Store, StoreError, TechTokenRecord, UserRecord,
};
use handraise_wire::{self as wire, EnrollRefusal};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Longest enrollment-token label, in characters.
pub const MAX_LABEL_CHARS: usize = 200;
/// Longest technician name, in characters.
pub const MAX_TECHNICIAN_NAME_CHARS: usize = 100;

/// A token just made, with the name it was made for.
#[derive(Debug, Clone)]
pub struct Created<T> {
    pub of: T,
    /// The secret itself, to be shown once: only its hash is stored.
    pub token: String,
}

/// A new token, stored by `store_hash` as its hash.
fn issue<T>(
    store_hash: impl FnOnce(&str) -> Result<T, StoreError>,
) -> Result<Created<T>, AppError> {
    let token = new_secret();
    let of = store_hash(&hash_secret(&token))?;
    Ok(Created { of, token })
}

/// Longest school or building a token names, in characters (as a device's).
pub const MAX_PLACE_CHARS: usize = 200;
/// Longest an enrollment token may last, in days.
pub const MAX_ENROLL_TOKEN_DAYS: u32 = 3650;
/// Most devices one enrollment token may be limited to.
pub const MAX_ENROLL_TOKEN_USES: u32 = 1_000_000;
/// More enrollments than this from one token within [`BURST_WINDOW`] are flagged.
pub const BURST_ENROLLMENTS: usize = 20;
/// The window of [`BURST_ENROLLMENTS`].
pub const BURST_WINDOW: Duration = Duration::minutes(10);

/// What an enrollment token is made with.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnrollTokenInput<'a> {
    pub label: &'a str,
    /// The school (and building) every device it enrolls gets, whatever the device says.
    pub school: Option<&'a str>,
    pub building: Option<&'a str>,
    /// Days until it expires (1 to 3650); `None`: never (or `expires_at`).
    pub expires_days: Option<u32>,
    /// When it expires (after now, within 3650 days), instead of `expires_days`.
    pub expires_at: Option<OffsetDateTime>,
    /// Devices it may enroll (1 to 1,000,000); `None`: no limit.
    pub max_uses: Option<u32>,
}

/// Creates an enrollment token: the label trimmed, 1 to 200 characters; the school and
/// building trimmed (blank is none); an expiry and a use limit in range.
pub fn create_enroll_token(
    store: &dyn Store,
    input: &EnrollTokenInput<'_>,
    now: OffsetDateTime,
) -> Result<Created<EnrollTokenRecord>, AppError> {
    let label = required_text("the label", input.label, MAX_LABEL_CHARS)?;
    let school = optional_text("the school", input.school, MAX_PLACE_CHARS)?;
    let building = optional_text("the building", input.building, MAX_PLACE_CHARS)?;
    let longest = now + Duration::days(i64::from(MAX_ENROLL_TOKEN_DAYS));
    let expires_at = match (input.expires_days, input.expires_at) {
        (None, None) => None,
        (Some(d), None) if (1..=MAX_ENROLL_TOKEN_DAYS).contains(&d) => {
            Some(now + Duration::days(i64::from(d)))
        }
        (None, Some(at)) if at > now && at <= longest => Some(at),
        (Some(_), Some(_)) => {
            return Err(AppError::Invalid(
                "give the days until it expires or the time it expires, not both".into(),
            ));
        }
        _ => {
            return Err(AppError::Invalid(format!(
                "an enrollment token lasts from now to at most {MAX_ENROLL_TOKEN_DAYS} days"
            )));
        }
    };
    if input
        .max_uses
        .is_some_and(|n| !(1..=MAX_ENROLL_TOKEN_USES).contains(&n))
    {
        return Err(AppError::Invalid(format!(
            "an enrollment token enrolls 1 to {MAX_ENROLL_TOKEN_USES} devices"
        )));
    }
    issue(|hash| {
        let token = NewEnrollToken {
            token_hash: hash,
            label: &label,
            school: school.as_deref(),
            building: building.as_deref(),
            expires_at,
            max_uses: input.max_uses,
        };
        let id = store.create_enroll_token(&token, now)?;
        Ok(EnrollTokenRecord {
            id,
            label: label.clone(),
            school: school.clone(),
            building: building.clone(),
            created_at: now,
            expires_at,
            max_uses: input.max_uses,
            uses: 0,
            last_used_at: None,
            revoked: false,
        })
    })
}

/// Why `token` enrolls no device at `now`, if it does not: revoked, expired or used up.
pub fn token_refusal(token: &EnrollTokenRecord, now: OffsetDateTime) -> Option<EnrollRefusal> {
    if token.revoked {
        Some(EnrollRefusal::TokenRevoked)
    } else if token.expires_at.is_some_and(|e| e <= now) {
        Some(EnrollRefusal::TokenExpired)
    } else if token.max_uses.is_some_and(|max| token.uses >= max) {
        Some(EnrollRefusal::TokenUsedUp)
    } else {
        None
    }
}

/// The most enrollments within one [`BURST_WINDOW`]: (count, when that window began).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busiest {
    pub enrollments: usize,
    pub from: OffsetDateTime,
}

impl Busiest {
    /// More than [`BURST_ENROLLMENTS`]: a token borrowed, or a rollout.
    pub fn is_burst(&self) -> bool {
        self.enrollments > BURST_ENROLLMENTS
    }
}

/// The busiest [`BURST_WINDOW`] of `times` (sorted, oldest first).
pub fn busiest_window(times: &[OffsetDateTime]) -> Option<Busiest> {
    let mut best: Option<Busiest> = None;
    let mut start = 0;
    for (end, &t) in times.iter().enumerate() {
        while t - times[start] >= BURST_WINDOW {
            start += 1;
        }
        let enrollments = end - start + 1;
        if best.is_none_or(|b| enrollments > b.enrollments) {
            best = Some(Busiest {
                enrollments,
                from: times[start],
            });
        }
    }
    best
}

/// An enrollment token as admins see it.
#[derive(Debug, Clone)]
pub struct TokenView {
    pub token: EnrollTokenRecord,
    /// Why it enrolls nobody now (`None`: active).
    pub refusal: Option<EnrollRefusal>,
    pub busiest: Option<Busiest>,
}

/// Every enrollment token, newest first, with its state at `now` and its busiest window.
pub fn list_enroll_tokens(
    store: &dyn Store,
    now: OffsetDateTime,
) -> Result<Vec<TokenView>, AppError> {
    let tokens = store.list_enroll_tokens()?;
    let mut times: std::collections::HashMap<i64, Vec<OffsetDateTime>> = Default::default();
    for (id, at) in store.enrollment_times()? {
        times.entry(id).or_default().push(at);
    }
    Ok(tokens
        .into_iter()
        .map(|token| TokenView {
            refusal: token_refusal(&token, now),
            busiest: times.get(&token.id).and_then(|t| busiest_window(t)),
            token,
        })
        .collect())
}

/// Revokes enrollment token `id`: it enrolls no more devices (devices already
/// enrolled keep working). `NotFound` when unknown.
pub fn revoke_enroll_token(
    store: &dyn Store,
    id: i64,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    Ok(store.revoke_enroll_token(id, now)?)
}

// ---- enrolling a device ----------------------------------------------------------

/// Longest hostname, and longest OS, model and agent version a device reports.
const MAX_HOSTNAME_CHARS: usize = 255;
const MAX_VERSION_CHARS: usize = 64;

/// A device just enrolled: its id, the place it got, and the earlier device of the same
/// computer when this is a re-enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    pub device_id: Uuid,
    pub school: Option<String>,
    pub building: Option<String>,
    pub previous_device: Option<Uuid>,
}

/// A machine id as the agent sends it: 64 hexadecimal characters (lowercased); blank is
/// none.
pub fn check_machine_id(value: Option<&str>) -> Result<Option<String>, AppError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v)
            if v.len() == wire::MACHINE_ID_HEX_CHARS
                && v.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Ok(Some(v.to_ascii_lowercase()))
        }
        Some(_) => Err(AppError::Invalid(format!(
            "the machine id must be {} hexadecimal characters (a SHA-256)",
            wire::MACHINE_ID_HEX_CHARS
        ))),
    }
}

/// Decides an enrollment: the token must be known and neither revoked, expired nor used
/// up; a computer with a revoked device comes back only once an admin allowed it. The
/// token's school and building, when it names them, replace what the device said.
fn decide(
    ctx: &EnrollContext,
    device: &NewDevice,
    now: OffsetDateTime,
) -> Result<NewEnrollment, EnrollRefusal> {
    let token = ctx.token.as_ref().ok_or(EnrollRefusal::InvalidToken)?;
    if let Some(refusal) = token_refusal(token, now) {
        return Err(refusal);
    }
    if ctx
        .same_machine
        .iter()
        .any(|d| d.revoked && !d.reenroll_allowed)
    {
        return Err(EnrollRefusal::MachineRevoked);
    }
    let mut device = device.clone();
    if token.school.is_some() {
        device.school.clone_from(&token.school);
    }
    if token.building.is_some() {
        device.building.clone_from(&token.building);
    }
    Ok(NewEnrollment {
        device,
        previous_device: ctx.same_machine.first().map(|d| d.id),
    })
}

/// Enrolls a device with the request's enrollment token; its secret is kept as
/// `secret_hash` only. Refused ([`AppError::EnrollRefused`]) as `decide` says; 422 for
/// a malformed field.
pub async fn enroll(
    store: &Arc<dyn Store>,
    secret_hash: String,
    req: &wire::EnrollRequest,
    now: OffsetDateTime,
) -> Result<Enrolled, AppError> {
    let token = req.token.trim();
    if token.is_empty() {
        return Err(AppError::EnrollRefused(EnrollRefusal::InvalidToken));
    }
    let token_hash = hash_secret(token);
    let hostname = required_text("hostname", &req.hostname, MAX_HOSTNAME_CHARS)?;
    let device = NewDevice {
        school: optional_text("school", req.school.as_deref(), MAX_PLACE_CHARS)?,
        building: optional_text("building", req.building.as_deref(), MAX_PLACE_CHARS)?,
        os: optional_text("os", req.os.as_deref(), MAX_PLACE_CHARS)?,
        model: optional_text("model", req.model.as_deref(), MAX_PLACE_CHARS)?,
        agent_version: optional_text(
            "agent_version",
            req.agent_version.as_deref(),
            MAX_VERSION_CHARS,
        )?,
        machine_id: check_machine_id(req.machine_id.as_deref())?,
        ..NewDevice::new(Uuid::now_v7(), secret_hash, hostname, now)
    };
    let decided = run(store, move |s| {
        let mut made = None;
        let answer = s.enroll_device(&token_hash, device.machine_id.as_deref(), &mut |ctx| {
            let e = decide(ctx, &device, now)?;
            made = Some(Enrolled {
                device_id: e.device.id,
                school: e.device.school.clone(),
                building: e.device.building.clone(),
                previous_device: e.previous_device,
            });
            Ok(e)
        })?;
        Ok(answer.map(|()| made))
    })
    .await?;
    match decided {
        Ok(Some(enrolled)) => {
            if let Some(previous) = enrolled.previous_device {
                tracing::info!(device_id = %enrolled.device_id, %previous, "computer enrolled again");
            }
            Ok(enrolled)
        }
        Ok(None) => Err(AppError::internal(
            "an enrollment was stored but not decided",
        )),
        Err(refusal) => Err(AppError::EnrollRefused(refusal)),
    }
}

/// Whose computer an admin allows back.
#[derive(Debug, Clone, Copy)]
pub enum ReenrollTarget<'a> {
    /// The machine id (as listed on the devices page and by the command line).
    Machine(&'a str),
    /// A revoked device: its computer.
    Device(Uuid),
}

/// Allows the computer of a revoked device to enroll again (it is then listed as a
/// re-enrollment); how many revoked devices of that computer it allowed. `NotFound` for
/// an unknown device or a machine with no revoked device; `Invalid` for a device that is
/// not revoked or enrolled without a machine id (such a computer is not held back).
pub fn allow_reenrollment(
    store: &dyn Store,
    target: ReenrollTarget<'_>,
    now: OffsetDateTime,
) -> Result<usize, AppError> {
    let machine = match target {
        ReenrollTarget::Machine(m) => check_machine_id(Some(m))?
            .ok_or_else(|| AppError::Invalid("give a machine id".into()))?,
        ReenrollTarget::Device(id) => {
            let device = store.device(id)?.ok_or(AppError::NotFound)?;
            if !device.revoked {
                return Err(AppError::Invalid(format!(
                    "the device {id} is not revoked; its computer is not held back"
                )));
            }
            device.machine_id.ok_or_else(|| {
                AppError::Invalid(format!(
                    "the device {id} enrolled without a machine id (an older agent); its \
                     computer is not held back"
                ))
            })?
        }
    };
    let allowed = store.allow_reenrollment(&machine, now)?;
    if allowed == 0 && matches!(target, ReenrollTarget::Machine(_)) {
        return Err(AppError::NotFound);
    }
    Ok(allowed)
}

/// Days a technician API token lasts unless told otherwise.
pub const DEFAULT_TECH_TOKEN_DAYS: u32 = 90;
/// Longest a technician API token may last, in days.
pub const MAX_TECH_TOKEN_DAYS: u32 = 3650;

/// Whom a technician API token is for.
#[derive(Debug, Clone, Copy)]
pub enum TokenOwner<'a> {
    /// The console user with this email; the token carries their role.
    Email(&'a str),
    /// The password-less technician-role user named so (for scripts; created
    /// if missing, and unable to sign in to the console).
    Name(&'a str),
}

/// A technician API token just made.
#[derive(Debug, Clone)]
pub struct TechTokenMade {
    pub id: i64,
    pub user: UserRecord,
    pub expires_at: OffsetDateTime,
}

/// Makes an API token for `owner` lasting `days` (1 to 3650; 90 when
/// `None`). `NotFound` for an unknown email, `Invalid` for a disabled user.
pub fn create_tech_token(
    store: &dyn Store,
    owner: TokenOwner<'_>,
    days: Option<u32>,
    now: OffsetDateTime,
) -> Result<Created<TechTokenMade>, AppError> {
    let days = days.unwrap_or(DEFAULT_TECH_TOKEN_DAYS);
    if !(1..=MAX_TECH_TOKEN_DAYS).contains(&days) {
        return Err(AppError::Invalid(format!(
            "a token lasts 1 to {MAX_TECH_TOKEN_DAYS} days"
        )));
    }
    let user = match owner {
        TokenOwner::Email(email) => {
            store
                .user_by_email(email.trim())?
                .ok_or(AppError::NotFound)?
                .0
        }
        TokenOwner::Name(name) => {
            let name = required_text("the technician name", name, MAX_TECHNICIAN_NAME_CHARS)?;
            store.script_user(&name, now)?
        }
    };
    if user.disabled {
        return Err(AppError::Invalid(format!(
            "the user {:?} is disabled",
            user.email
        )));
    }
    let expires_at = now + Duration::days(i64::from(days));
    issue(|hash| {
        let token = NewTechTokenRecord {
            token_hash: hash,
            user_id: user.id,
            expires_at: Some(expires_at),
        };
        let id = store.create_tech_token(&token, now)?;
        Ok(TechTokenMade {
            id,
            user: user.clone(),
            expires_at,
        })
    })
}

/// The user whose technician API token this is, if the token is neither
/// revoked nor expired at `now` and the user is enabled (checked on every
/// request: nothing is cached). Records the use.
pub fn tech_token_user(
    store: &dyn Store,
    token: &str,
    now: OffsetDateTime,
) -> Result<Option<UserRecord>, AppError> {
    Ok(store.tech_token_user(&hash_secret(token), now)?)
}

/// Refuses a non-admin: what the console allows admins only, a technician's
/// API token may not do either.
pub fn require_admin(user: &UserRecord) -> Result<(), AppError> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "this needs an admin's token; technicians may not do it".into(),
        ))
    }
}

/// Whose tokens `actor` may see and revoke: an admin everyone's, a
/// technician their own; `None` (the command line) everyone's.
fn scope(actor: Option<&UserRecord>) -> Option<i64> {
    actor.filter(|u| u.role != Role::Admin).map(|u| u.id)
}

/// The technician API tokens `actor` may see (see [`scope`]).
pub fn list_tech_tokens(
    store: &dyn Store,
    actor: Option<&UserRecord>,
) -> Result<Vec<TechTokenRecord>, AppError> {
    Ok(store.list_tech_tokens(scope(actor))?)
}

/// Revokes technician API token `id`, effective on its next request;
/// `NotFound` when unknown or not `actor`'s to revoke.
pub fn revoke_tech_token(
    store: &dyn Store,
    actor: Option<&UserRecord>,
    id: i64,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    Ok(store.revoke_tech_token(id, scope(actor), now)?)
}

#[cfg(test)]
mod tests;
