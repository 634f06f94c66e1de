//! The status line of every window, first-run setup, "me too" and the stored language.

use super::{
    App, AppStatus, IpcError, IpcResult, LOCALES, Lang, PREF_LOCALE, PREF_NAME, PREF_ROOM,
    announcement_view, rfc3339,
};

impl App {
    /// The status line of every window.
    pub async fn status(&self) -> IpcResult<AppStatus> {
        let st = self.agent.status().await?;
        let announcements = self.agent.announcements().await?;
        // Looks the account up: once per status, not once per field.
        let name = self.pref(PREF_NAME).await?;
        let me = self.agent.reporter(name.as_deref()).await?;
        let teacher_name = me.display_name.or_else(|| me.os_user.clone());
        let room = self.pref(PREF_ROOM).await?;
        let locale = self.pref(PREF_LOCALE).await?;
        let me_too = self.agent.db(|s| s.me_too_ids()).await?;
        let online = st.enrolled
            && st.contact.last_contact_at.is_some()
            && match (st.contact.last_contact_at, st.contact.last_error_at) {
                (Some(ok), Some(err)) => ok >= err,
                _ => true,
            };
        let offline_since = if st.enrolled && !online {
            st.contact
                .last_contact_at
                .or(st.contact.last_error_at)
                .map(rfc3339)
        } else {
            None
        };
        let enrollment = self.agent.enrollment().ok().flatten();
        let config = self.agent.config();
        Ok(AppStatus {
            enrolled: st.enrolled,
            server_url: st.server_url,
            online,
            offline_since,
            queued_count: u32::try_from(st.queued.tickets).unwrap_or(u32::MAX),
            unread_count: st.tickets.iter().filter(|t| t.unread).count() as u32,
            paused_reason: st.paused,
            teacher_name,
            room,
            school: enrollment
                .as_ref()
                .and_then(|e| e.school.clone())
                .or_else(|| config.school.clone()),
            building: enrollment
                .as_ref()
                .and_then(|e| e.building.clone())
                .or_else(|| config.building.clone()),
            announcements: announcements.into_iter().map(announcement_view).collect(),
            me_too,
            locale,
            reporter_account: me.os_user,
            reporter_email: me.email,
            email_from_policy: crate::reporter::email_from_policy(&config.policy),
        })
    }

    /// First-run setup: enrolls with the district server and remembers the teacher.
    /// Refused once this computer is enrolled: moving it to another server (or
    /// reconnecting a refused device) is the administrator's `handraise-agent enroll`.
    pub async fn setup(
        &self,
        server_url: &str,
        enrollment_code: &str,
        teacher_name: &str,
        room: &str,
        email: Option<&str>,
    ) -> IpcResult<AppStatus> {
        if let Some(e) = self.agent.enrollment()? {
            return Err(IpcError::new(
                "already_enrolled",
                format!(
                    "this computer is already connected to {}; to connect it again or to \
                     another server, an administrator runs `handraise-agent enroll --server URL \
                     --token TOKEN`",
                    e.server_url
                ),
            ));
        }
        // Checked before enrolling, so a mistyped email leaves nothing half done.
        let email = email.map(str::trim).filter(|e| !e.is_empty());
        if let Some(e) = email {
            handraise_wire::check_email(e)
                .map_err(|err| IpcError::new("invalid_email", err.to_string()))?;
        }
        let config = self.agent.config();
        self.agent
            .enroll(
                server_url.trim(),
                enrollment_code.trim(),
                config.school.clone(),
                config.building.clone(),
            )
            .await?;
        let name = teacher_name.trim().to_owned();
        let room = room.trim().to_owned();
        self.agent
            .db(move |s| {
                s.set_pref(
                    PREF_NAME,
                    Some(&name).filter(|n| !n.is_empty()).map(|n| n.as_str()),
                )?;
                s.set_pref(
                    PREF_ROOM,
                    Some(&room).filter(|r| !r.is_empty()).map(|r| r.as_str()),
                )
            })
            .await?;
        if email.is_some() && !crate::reporter::email_from_policy(&config.policy) {
            self.agent.set_reporter_email(email).await?;
        }
        self.agent.changed();
        self.status().await
    }

    /// The email the help desk answers to, entered or changed in Setup (blank forgets it).
    /// Refused when the district's policy sets it.
    pub async fn set_email(&self, email: Option<&str>) -> IpcResult<AppStatus> {
        if crate::reporter::email_from_policy(&self.agent.config().policy) {
            return Err(IpcError::new(
                "email_from_policy",
                "the district sets the email address of reports on this computer",
            ));
        }
        if let Some(e) = email.map(str::trim).filter(|e| !e.is_empty()) {
            handraise_wire::check_email(e)
                .map_err(|err| IpcError::new("invalid_email", err.to_string()))?;
        }
        self.agent.set_reporter_email(email).await?;
        self.status().await
    }

    /// "Me too — add my room" on an active announcement (queued like a ticket).
    pub async fn me_too(&self, announcement_id: i64, room: Option<String>) -> IpcResult<()> {
        let known = self
            .agent
            .announcements()
            .await?
            .iter()
            .any(|a| a.id == announcement_id);
        if !known {
            return Err(IpcError::new(
                "not_found",
                "that announcement is no longer active",
            ));
        }
        self.agent.me_too(announcement_id, room).await?;
        Ok(())
    }

    /// The language the agent speaks to the teacher: the one chosen in the app, else the
    /// system's.
    pub async fn lang(&self) -> IpcResult<Lang> {
        let chosen = self.pref(PREF_LOCALE).await?;
        Ok(Lang::chosen_or_system(chosen.as_deref()))
    }

    /// The language chosen in the app, if any.
    pub async fn locale(&self) -> IpcResult<Option<String>> {
        Ok(self.pref(PREF_LOCALE).await?)
    }

    /// Chooses the app's language (`None` follows the system).
    pub async fn set_locale(&self, locale: Option<String>) -> IpcResult<()> {
        let locale = locale
            .map(|l| l.trim().to_lowercase())
            .filter(|l| !l.is_empty());
        if let Some(l) = &locale
            && !LOCALES.contains(&l.as_str())
        {
            return Err(IpcError::new(
                "invalid",
                format!(
                    "'{l}' is not a language of this app ({})",
                    LOCALES.join(", ")
                ),
            ));
        }
        self.agent
            .db(move |s| s.set_pref(PREF_LOCALE, locale.as_deref()))
            .await?;
        self.agent.changed();
        Ok(())
    }
}
