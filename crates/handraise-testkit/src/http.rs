//! Typed requests to a running server over HTTP: the agent API with a device secret, the
//! technician API with a technician token. Every answer is (status, JSON body or null).

use anyhow::Result;
use serde_json::Value;
use std::time::Duration;

/// A client for one server.
pub struct Api {
    pub url: String,
    pub client: reqwest::Client,
}

impl Api {
    pub fn new(url: &str) -> Self {
        Api {
            url: url.to_owned(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(40))
                .build()
                .expect("a reqwest client with a timeout builds"),
        }
    }

    /// `METHOD url+path`, with `token` as a bearer credential unless it is empty.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        let req = self.client.request(method, format!("{}{path}", self.url));
        if token.is_empty() {
            req
        } else {
            req.bearer_auth(token)
        }
    }

    async fn answer(req: reqwest::RequestBuilder) -> Result<(u16, Value)> {
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let body = resp.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    pub async fn get(&self, path: &str, token: &str) -> Result<(u16, Value)> {
        Self::answer(self.request(reqwest::Method::GET, path, token)).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Result<(u16, Value)> {
        Self::answer(self.request(reqwest::Method::POST, path, token).json(&body)).await
    }

    /// A POST with an arbitrary body and content type.
    pub async fn raw(
        &self,
        path: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Value)> {
        let req = self
            .request(reqwest::Method::POST, path, token)
            .header("content-type", content_type)
            .body(body);
        Self::answer(req).await
    }

    /// `POST /api/v1/tech/tickets/{number}/{action}` (assign, status, reply, note).
    pub async fn ticket_action(
        &self,
        tech: &str,
        number: i64,
        action: &str,
        body: Value,
    ) -> Result<(u16, Value)> {
        self.post(
            &format!("/api/v1/tech/tickets/{number}/{action}"),
            tech,
            body,
        )
        .await
    }

    /// `GET /api/v1/tech/tickets/{number}`.
    pub async fn tech_ticket(&self, tech: &str, number: i64) -> Result<(u16, Value)> {
        self.get(&format!("/api/v1/tech/tickets/{number}"), tech)
            .await
    }

    /// Revokes the device that filed ticket `number`; its device id.
    pub async fn revoke_device_of(&self, tech: &str, number: i64) -> Result<String> {
        let (_, t) = self.tech_ticket(tech, number).await?;
        let device = t["device_id"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("ticket {number} has no device_id: {t}"))?
            .to_owned();
        let (code, body) = self
            .post(
                &format!("/api/v1/tech/devices/{device}/revoke"),
                tech,
                serde_json::json!({}),
            )
            .await?;
        anyhow::ensure!(code == 200, "revoke answered {code}: {body}");
        Ok(device)
    }

    /// `GET /healthz`; its status.
    pub async fn health(&self) -> Result<u16> {
        Ok(self.get("/healthz", "").await?.0)
    }
}
