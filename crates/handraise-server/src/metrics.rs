//! What the district's monitoring scrapes: Prometheus metrics in the
//! OpenMetrics text format, at `/metrics` on `metrics_listen` or behind a
//! bearer token (never public by default; see `api::metrics`).
//!
//! Two kinds of figure: those counted as requests pass (latency by route,
//! method and status; long-polls held), kept here between scrapes; and counts
//! of the moment read from the store at each scrape ([`Gauges`]).

use crate::store::Gauges;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Mutex;
use std::time::Duration;

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A request's route is its pattern (`/api/v1/tickets/{client_id}`), so the
/// number of series stays bounded whatever paths clients make up.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackupLabels {
    dir: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TicketLabels {
    status: String,
    category: String,
}

type HistogramMaker = fn() -> Histogram;

fn latency_histogram() -> Histogram {
    // 5 ms to about 20 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 13))
}

/// The server's metrics registry. One per server process.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Histogram, HistogramMaker>,
    long_polls: Gauge,
    tickets: Family<TicketLabels, Gauge>,
    devices_enrolled: Gauge,
    devices_seen: Gauge,
    database_bytes: Gauge,
    backup_age: Family<BackupLabels, Gauge>,
    /// One scrape at a time: the store's counts are cleared and set anew.
    scrape: Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("handraise");
        let requests = Family::new_with_constructor(latency_histogram as HistogramMaker);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by route pattern, method and status",
            requests.clone(),
        );
        let long_polls = Gauge::default();
        registry.register(
            "long_polls_held",
            "Update long-polls of devices waiting now",
            long_polls.clone(),
        );
        let tickets = Family::default();
        registry.register("tickets", "Tickets by status and category", tickets.clone());
        let devices_enrolled = Gauge::default();
        registry.register(
            "devices_enrolled",
            "Enrolled devices that are not revoked",
            devices_enrolled.clone(),
        );
        let devices_seen = Gauge::default();
        registry.register(
            "devices_seen_last_day",
            "Enrolled devices that reached the server in the last 24 hours",
            devices_seen.clone(),
        );
        let database_bytes = Gauge::default();
        registry.register(
            "database_bytes",
            "Size of the database file in bytes",
            database_bytes.clone(),
        );
        let backup_age = Family::default();
        registry.register(
            "backup_age_seconds",
            "Age of the newest scheduled backup in backup_dir (absent before the first)",
            backup_age.clone(),
        );
        Self {
            registry,
            backup_age,
            requests,
            long_polls,
            tickets,
            devices_enrolled,
            devices_seen,
            database_bytes,
            scrape: Mutex::new(()),
        }
    }

    /// Records one answered request.
    pub fn observe(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let labels = RequestLabels {
            route: route.to_owned(),
            method: method.to_owned(),
            status,
        };
        self.requests
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a long-poll as held until the returned guard drops.
    pub fn long_poll(&self) -> LongPollHeld {
        self.long_polls.inc();
        LongPollHeld(self.long_polls.clone())
    }

    /// The text a scrape gets: the request figures plus `gauges`, and the
    /// age of the newest backup in a backup directory when there is one.
    pub fn render(
        &self,
        gauges: &Gauges,
        backup: Option<(&std::path::Path, Duration)>,
    ) -> Result<String, std::fmt::Error> {
        let _one = self
            .scrape
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.tickets.clear();
        for (status, category, n) in &gauges.tickets {
            let labels = TicketLabels {
                status: status.as_str().to_owned(),
                category: category.as_str().to_owned(),
            };
            self.tickets.get_or_create(&labels).set(saturating(*n));
        }
        self.devices_enrolled
            .set(saturating(gauges.devices_enrolled));
        self.devices_seen.set(saturating(gauges.devices_seen));
        self.database_bytes.set(saturating(gauges.database_bytes));
        self.backup_age.clear();
        if let Some((dir, age)) = backup {
            let labels = BackupLabels {
                dir: dir.display().to_string(),
            };
            self.backup_age
                .get_or_create(&labels)
                .set(saturating(age.as_secs()));
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

fn saturating(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A long-poll being held; counted by [`Metrics::long_poll`].
#[derive(Debug)]
pub struct LongPollHeld(Gauge);

impl Drop for LongPollHeld {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use handraise_wire::{Category, TicketStatus};

    fn line<'a>(text: &'a str, start: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(start))
    }

    #[test]
    fn renders_requests_long_polls_and_counts() {
        let m = Metrics::new();
        m.observe("/api/v1/tickets", "POST", 201, Duration::from_millis(3));
        m.observe("/api/v1/tickets", "POST", 201, Duration::from_millis(30));
        let held = m.long_poll();
        let gauges = Gauges {
            tickets: vec![(TicketStatus::New, Category::Printer, 4)],
            devices_enrolled: 9,
            devices_seen: 7,
            database_bytes: 4096,
        };
        let backup = std::path::Path::new("/var/backups/handraise");
        let text = m
            .render(&gauges, Some((backup, Duration::from_secs(3600))))
            .expect("renders");
        let count = line(
            &text,
            "handraise_http_request_duration_seconds_count{route=\"/api/v1/tickets\",method=\"POST\",status=\"201\"}",
        );
        assert!(count.is_some_and(|l| l.ends_with(" 2")), "{text}");
        let fast = line(
            &text,
            "handraise_http_request_duration_seconds_bucket{le=\"0.005\",route=\"/api/v1/tickets\"",
        );
        assert!(fast.is_some_and(|l| l.ends_with(" 1")), "{text}");
        assert_eq!(
            line(&text, "handraise_long_polls_held "),
            Some("handraise_long_polls_held 1")
        );
        assert_eq!(
            line(&text, "handraise_tickets{"),
            Some("handraise_tickets{status=\"new\",category=\"printer\"} 4")
        );
        assert_eq!(
            line(&text, "handraise_devices_seen_last_day "),
            Some("handraise_devices_seen_last_day 7")
        );
        assert_eq!(
            line(&text, "handraise_backup_age_seconds{"),
            Some("handraise_backup_age_seconds{dir=\"/var/backups/handraise\"} 3600")
        );
        assert!(text.ends_with("# EOF\n"), "{text}");

        // A status that has no tickets any more is gone at the next scrape.
        drop(held);
        let text = m.render(&Gauges::default(), None).expect("renders");
        assert_eq!(line(&text, "handraise_tickets{"), None, "{text}");
        assert_eq!(
            line(&text, "handraise_long_polls_held "),
            Some("handraise_long_polls_held 0")
        );
    }
}
