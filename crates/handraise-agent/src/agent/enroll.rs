//! Enrollment: the device's credentials with the help-desk server.

use handraise_wire::{EnrollRefusal, EnrollRequest};

use super::{Agent, now};
use crate::enrollment::Enrollment;
use crate::error::{AgentError, SyncError};
use crate::sync::client::ApiClient;
use crate::sync::plan::BackoffState;

impl Agent {
    /// The saved credentials of this data directory, if enrolled.
    pub fn enrollment(&self) -> Result<Option<Enrollment>, AgentError> {
        Ok(Enrollment::load(self.data_dir())?)
    }

    /// Enrolls this device with `server_url` and `token`, replacing any earlier
    /// credentials, and un-pauses the queue.
    pub async fn enroll(
        &self,
        server_url: &str,
        token: &str,
        school: Option<String>,
        building: Option<String>,
    ) -> Result<Enrollment, AgentError> {
        let server_url = crate::config::check_server_url(server_url, &self.config().policy)?;
        if token.trim().is_empty() {
            return Err(AgentError::Invalid("the enrollment token is empty".into()));
        }
        let (hostname, os, model, machine_id) = tokio::task::spawn_blocking(|| {
            let host = sysinfo::System::host_name().unwrap_or_else(|_| "unknown".into());
            let os = sysinfo::System::long_os_version().ok();
            let model = std::fs::read_to_string("/sys/class/dmi/id/product_name")
                .ok()
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty());
            (host, os, model, crate::machine::machine_id())
        })
        .await
        .map_err(|e| AgentError::Task(e.to_string()))?;
        let req = EnrollRequest {
            token: token.trim().to_owned(),
            hostname,
            school: school.clone(),
            building: building.clone(),
            os,
            model,
            agent_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            machine_id,
        };
        let client = ApiClient::new(self.inner.http.clone(), &server_url, None);
        let answer = client.enroll(&req).await.map_err(|e| match e {
            // An expired or used-up token, a revoked computer…: said plainly.
            SyncError::Unauthorized { code, message, .. } => {
                match EnrollRefusal::from_code(&code) {
                    Some(refusal) => AgentError::EnrollRefused(refusal),
                    None => AgentError::Invalid(format!(
                        "the server refused the enrollment token: {message}"
                    )),
                }
            }
            other => AgentError::Sync(other),
        })?;
        // The server's school and building win: an enrollment token may name them.
        let enrollment = Enrollment {
            server_url,
            device_id: answer.value.device_id,
            device_secret: answer.value.device_secret.clone(),
            school: answer.value.school.clone().or(school),
            building: answer.value.building.clone().or(building),
            enrolled_at: now(),
        };
        let previous = self.enrollment().ok().flatten();
        enrollment.save(self.data_dir())?;
        let latency = answer.latency;
        let new_identity = previous.is_none_or(|p| p.device_id != enrollment.device_id);
        self.db(move |s| {
            if new_identity {
                s.reset_cursor()?;
            }
            s.set_paused(None)?;
            s.set_backoff(BackoffState::default())?;
            s.record_contact(now(), latency, None)
        })
        .await?;
        tracing::info!(device_id = %enrollment.device_id, server = %enrollment.server_url, "enrolled");
        self.wake();
        Ok(enrollment)
    }

    /// The saved credentials; enrolls first when none exist and the
    /// configuration names a server and an enrollment token (silent deployment).
    pub(super) async fn ensure_enrolled(&self) -> Result<Option<Enrollment>, AgentError> {
        if let Some(e) = self.enrollment()? {
            return Ok(Some(e));
        }
        let c = &self.inner.config;
        match (&c.server_url, &c.enrollment_token) {
            (Some(url), Some(token)) => {
                tracing::info!(server = %url, "not enrolled yet; enrolling with the configured token");
                let e = self
                    .enroll(url, token.expose(), c.school.clone(), c.building.clone())
                    .await?;
                Ok(Some(e))
            }
            _ => Ok(None),
        }
    }
}
