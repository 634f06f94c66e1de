//! Self-help: the cached knowledge base, announcements, "this fixed it" and "me too".

use handraise_wire::{Announcement, Article, Category, TextField, check_optional_text};
use uuid::Uuid;

use super::{Agent, now};
use crate::error::{AgentError, StoreError};
use crate::store::KbHit;

impl Agent {
    /// Searches the cached knowledge base (works offline).
    pub async fn search_kb(
        &self,
        query: &str,
        category: Option<Category>,
        limit: usize,
    ) -> Result<Vec<KbHit>, AgentError> {
        let q = query.to_owned();
        self.db(move |s| s.search_kb(&q, category, limit)).await
    }

    pub async fn kb_article(&self, slug: &str) -> Result<Option<Article>, AgentError> {
        let slug = slug.to_owned();
        self.db(move |s| s.kb_article(&slug)).await
    }

    /// "This fixed it" for an article.
    /// "This fixed it": recorded here and told to the server (which counts deflections per
    /// article) when the network allows.
    pub async fn record_deflection(&self, slug: &str) -> Result<(), AgentError> {
        let slug = slug.trim().to_owned();
        if slug.is_empty() || slug.contains(['/', '?', '#']) {
            return Err(AgentError::Invalid(format!("'{slug}' is not an article")));
        }
        let at = now();
        let id = Uuid::now_v7();
        let body = serde_json::json!({ "client_id": id, "created_at": at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default() });
        self.db(move |s| {
            s.record_deflection(&slug, at)?;
            s.insert_event(
                id,
                "deflection",
                &format!("/kb/{slug}/deflections"),
                &body,
                at,
            )
        })
        .await?;
        self.wake();
        self.changed();
        Ok(())
    }

    /// "Me too — add my room": counts this teacher against an announcement instead of
    /// filing a new ticket. Saved here first, sent when the network allows.
    pub async fn me_too(
        &self,
        announcement_id: i64,
        room: Option<String>,
    ) -> Result<Uuid, AgentError> {
        let at = now();
        let request = handraise_wire::MeTooRequest {
            client_id: Uuid::now_v7(),
            created_at: at,
            room: check_optional_text(TextField::Room, room.as_deref())
                .map_err(|e| AgentError::Invalid(e.to_string()))?
                .map(str::to_owned),
            reporter: Some(self.reporter(None).await?),
        };
        let id = request.client_id;
        let body = serde_json::to_value(&request).map_err(StoreError::from)?;
        self.db(move |s| {
            s.insert_event(
                id,
                "me_too",
                &format!("/announcements/{announcement_id}/me-too"),
                &body,
                at,
            )
        })
        .await?;
        self.wake();
        self.changed();
        Ok(id)
    }

    /// Cached active announcements.
    pub async fn announcements(&self) -> Result<Vec<Announcement>, AgentError> {
        self.db(|s| s.announcements(now())).await
    }
}
