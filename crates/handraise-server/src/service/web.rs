//! The web report page's teachers: each signed-in district account is a
//! device of its own (a device row bound to the provider's issuer and
//! subject, made at its first sign-in), so tickets, quotas, "Me too", the
//! updates feed and forwarding are the app's, through the same functions
//! (`intake`, `announcements`, `kb`). What is the web's alone is here: the
//! account's device, its sessions (a cookie and a CSRF token, like the
//! console's), the reporter taken from the verified ID token rather than
//! from the browser, and "My tickets" read from the server (the app keeps
//! its own copy).

use super::oidc::Teacher;
use crate::error::AppError;
use crate::secret::{hash_secret, new_secret};
use crate::store::{
    DeviceRecord, MessageRecord, NewWebDevice, NewWebSession, Store, TicketRecord, WebReporter,
    WebSession,
};
use handraise_wire as wire;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// The cookie of a web reporter's session (named and flagged by the
/// console's cookie rules).
pub const REPORT_COOKIE: &str = "hr_report";
/// Where the browser goes once signed in: the report page.
pub const REPORT_PATH: &str = "/report/";

/// How long a teacher stays signed in on a browser: a bookmark should not
/// ask every morning.
pub const SESSION_DAYS: u32 = 30;
/// The most tickets "My tickets" lists.
pub const MY_TICKETS_MAX: usize = 100;

/// A session just opened: the cookie's token (only its hash is stored).
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub max_age: Duration,
}

/// Signs `teacher` in: their web device (made at the first sign-in) and a
/// new session. A device revoked in the console cannot sign in.
pub async fn sign_in(
    store: &Arc<dyn Store>,
    teacher: Teacher,
    now: OffsetDateTime,
) -> Result<NewSession, AppError> {
    let new = NewWebDevice {
        subject: teacher.subject,
        reporter: WebReporter {
            email: teacher.email.clone(),
            name: teacher.name,
        },
        id: Uuid::now_v7(),
        secret_hash: hash_secret(&new_secret()),
        hostname: format!("Web: {}", teacher.email),
        now,
    };
    let device = super::run(store, move |s| s.web_device(&new)).await?;
    if device.revoked {
        tracing::info!(user = %teacher.email, "web sign-in refused: the device is revoked");
        return Err(AppError::Forbidden(
            "this account's web reports are switched off".into(),
        ));
    }
    let token = new_secret();
    let expires_at = now + time::Duration::days(i64::from(SESSION_DAYS));
    let session = NewWebSession {
        token_hash: hash_secret(&token),
        device_id: device.id,
        csrf_token: new_secret(),
        expires_at,
    };
    super::run(store, move |s| s.create_web_session(&session)).await?;
    tracing::info!(user = %teacher.email, device_id = %device.id, "web report sign-in");
    Ok(NewSession {
        token,
        max_age: Duration::from_secs(u64::from(SESSION_DAYS) * 86_400),
    })
}

/// The live session of the cookie `token`; `None` when unknown, expired, or
/// its device was revoked.
pub fn session(
    store: &dyn Store,
    token: &str,
    now: OffsetDateTime,
) -> Result<Option<WebSession>, AppError> {
    let found = store.web_session(&hash_secret(token), now)?;
    Ok(found.filter(|s| !s.device.revoked))
}

/// Ends the session of the cookie `token`.
pub async fn sign_out(store: &Arc<dyn Store>, token: String) -> Result<(), AppError> {
    super::run(store, move |s| s.delete_web_session(&hash_secret(&token))).await
}

/// The reporter of what the web page sends: the one the verified ID token
/// named. Whatever the browser said about who reports is replaced by it.
pub fn reporter(r: &WebReporter) -> wire::Reporter {
    wire::Reporter {
        os_user: None,
        display_name: r.name.clone(),
        email: Some(r.email.clone()),
    }
}

/// "My tickets": the device's tickets, newest first, each with the messages
/// a device may read (never internal notes).
pub async fn my_tickets(
    store: &Arc<dyn Store>,
    device: &DeviceRecord,
) -> Result<Vec<(TicketRecord, Vec<MessageRecord>)>, AppError> {
    let id = device.id;
    super::run(store, move |s| {
        let tickets = s.device_tickets(id, MY_TICKETS_MAX)?;
        tickets
            .into_iter()
            .map(|t| {
                let m = s.messages(t.number, false)?;
                Ok((t, m))
            })
            .collect()
    })
    .await
}
