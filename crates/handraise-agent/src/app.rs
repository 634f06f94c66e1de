//! What the tray app's windows need, in the shapes they need it.
//!
//! The Tauri shell's commands are one-line delegations to [`App`]; every behaviour behind
//! them lives here, testable without a GUI, one file a concern: `ipc` the IPC contract (every
//! type a window sees; `cargo xtask codegen` generates `ui/src/lib/bindings.ts` from it),
//! `status` the status line, setup and the stored preferences, `report` filing a report,
//! `facts` the device facts in plain words, `screenshot`, `tickets` (with feedback), `kb`,
//! `notices` (native notifications) and `tray` (the tray's look and tooltip).

mod facts;
mod ipc;
mod kb;
mod notices;
mod report;
mod screenshot;
mod status;
mod tickets;
mod tray;

pub use crate::i18n::{LOCALES, Lang};
pub use facts::{FactKey, FactPhrase, fact_items, omit_facts};
pub use ipc::*;
pub use notices::{Notice, notices};
pub use tray::{TrayMenuText, TrayState};

use crate::agent::Agent;
use crate::error::AgentError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// A screenshot being taken: `None` until the capture finishes, then its outcome.
type PendingShot = tokio::sync::watch::Receiver<Option<Option<Arc<Vec<u8>>>>>;
/// Where the outcome of the screenshot being taken is sent.
type ShotSender = tokio::sync::watch::Sender<Option<Option<Arc<Vec<u8>>>>>;

/// The tray app's core: an [`Agent`] plus what lives only while windows are open.
#[derive(Clone)]
pub struct App {
    agent: Agent,
    screenshot: Arc<Mutex<Option<PendingShot>>>,
    shot_sender: Arc<Mutex<Option<ShotSender>>>,
    /// The facts the report form showed, so that the submit sends exactly those.
    previewed: Arc<Mutex<Option<handraise_wire::DeviceSnapshot>>>,
    opened: Arc<Mutex<Option<(String, SystemTime)>>>,
}

const PREF_NAME: &str = "teacher_name";
const PREF_ROOM: &str = "room";
const PREF_LOCALE: &str = "locale";

impl App {
    pub fn new(agent: Agent) -> Self {
        App {
            agent,
            screenshot: Arc::new(Mutex::new(None)),
            shot_sender: Arc::new(Mutex::new(None)),
            previewed: Arc::new(Mutex::new(None)),
            opened: Arc::new(Mutex::new(None)),
        }
    }

    pub fn agent(&self) -> &Agent {
        &self.agent
    }

    async fn pref(&self, key: &'static str) -> Result<Option<String>, AgentError> {
        self.agent.db(move |s| s.pref(key)).await
    }

    /// The report form closed (submitted or not): what it held (the screenshot, the
    /// previewed facts) is dropped.
    pub fn form_closed(&self) {
        self.discard_screenshot();
        self.discard_previewed_facts();
    }

    pub fn sync_now(&self) {
        self.agent.wake();
    }

    /// "Check my connection": DNS, gateway, the district server and the internet, with
    /// targets from configuration. The only probes of other hosts, and only on request.
    pub async fn check_connection(&self) -> IpcResult<crate::netcheck::ConnectionReport> {
        let config = self.agent.config();
        let server = self
            .agent
            .enrollment()
            .ok()
            .flatten()
            .map(|e| e.server_url)
            .or_else(|| config.server_url.clone());
        let gateway = match config.gateway_check_address.clone() {
            Some(address) => Some(address),
            None => tokio::task::spawn_blocking(|| {
                std::fs::read_to_string("/proc/net/route")
                    .ok()
                    .and_then(|t| crate::facts::parse_default_gateway(&t))
            })
            .await
            .ok()
            .flatten(),
        };
        let targets = crate::netcheck::Targets {
            dns_name: config
                .dns_check_name
                .clone()
                .or_else(|| server.as_deref().and_then(crate::netcheck::url_host)),
            gateway,
            server_health_url: server.map(|s| format!("{}/healthz", s.trim_end_matches('/'))),
            internet_url: config.internet_check_url.clone(),
        };
        Ok(crate::netcheck::run(self.agent.http(), &targets).await)
    }

    /// Notes when a window was asked for, to measure trigger → interactive.
    pub fn window_requested(&self, view: &str) {
        self.window_requested_at(view, SystemTime::now());
    }

    /// Like [`App::window_requested`], with the time of the trigger (which may have happened
    /// in another process).
    pub fn window_requested_at(&self, view: &str, at: SystemTime) {
        if let Ok(mut o) = self.opened.lock() {
            *o = Some((view.to_owned(), at));
        }
    }

    /// The page says it is interactive; returns the time since it was asked for.
    pub fn ui_ready(&self, view: &str) -> Option<Duration> {
        let mut o = self.opened.lock().ok()?;
        match o.take() {
            Some((v, at)) if v == view => Some(at.elapsed().unwrap_or_default()),
            other => {
                *o = other;
                None
            }
        }
    }
}
#[cfg(test)]
mod lang_tests;
#[cfg(test)]
mod tests;
