//! The knowledge base as the windows read it: search, browse, one article, "this fixed it".

use super::{App, ArticleHit, ArticleView, IpcError, IpcResult};
use handraise_wire::Category;

impl App {
    pub async fn search_help(
        &self,
        query: &str,
        category: Option<Category>,
    ) -> IpcResult<Vec<ArticleHit>> {
        let hits = self.agent.search_kb(query, category, 5).await?;
        Ok(hits.into_iter().map(ArticleHit::from).collect())
    }

    pub async fn article(&self, slug: &str) -> IpcResult<ArticleView> {
        self.agent
            .kb_article(slug)
            .await?
            .map(ArticleView::from)
            .ok_or_else(|| IpcError::new("not_found", format!("no article called {slug}")))
    }

    pub async fn record_deflection(&self, slug: &str) -> IpcResult<()> {
        Ok(self.agent.record_deflection(slug).await?)
    }

    /// The Help articles list: every cached article, or those of one category.
    pub async fn list_articles(&self, category: Option<Category>) -> IpcResult<Vec<ArticleHit>> {
        let hits = self.agent.db(move |s| s.kb_browse(category)).await?;
        Ok(hits.into_iter().map(ArticleHit::from).collect())
    }
}
