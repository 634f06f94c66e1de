//! Figures computed from ticket facts: the dashboard, the knowledge-base
//! statistics and the CSV export. Pure functions of their inputs (time is
//! passed in), so they are tested with known sets of tickets.

use crate::store::{DeflectionRecord, SlaPolicy, TicketFacts};
use handraise_wire::{Category, SelfHelpAttempt, SelfHelpOutcome};
use std::collections::{BTreeMap, HashMap};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// How one article did with teachers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArticleStats {
    /// Times teachers were shown it: tickets that list it plus "this fixed
    /// it" reports.
    pub shown: u64,
    /// "This fixed it": reports avoided.
    pub fixed: u64,
    /// Tickets filed after it was shown.
    pub filed_after: u64,
    /// Of those, tickets whose teacher tried it and says it is still broken.
    pub still_broken: u64,
}

fn self_help(t: &TicketFacts) -> Vec<SelfHelpAttempt> {
    t.self_help_json
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default()
}

/// Statistics per article slug.
pub fn article_stats(
    tickets: &[TicketFacts],
    deflections: &[DeflectionRecord],
) -> HashMap<String, ArticleStats> {
    let mut out: HashMap<String, ArticleStats> = HashMap::new();
    for t in tickets {
        let mut seen = Vec::new();
        for a in self_help(t) {
            if seen.contains(&a.article_slug) {
                continue;
            }
            let s = out.entry(a.article_slug.clone()).or_default();
            s.shown += 1;
            s.filed_after += 1;
            if a.outcome == SelfHelpOutcome::StillBroken {
                s.still_broken += 1;
            }
            seen.push(a.article_slug);
        }
    }
    for d in deflections {
        let s = out.entry(d.slug.clone()).or_default();
        s.shown += 1;
        s.fixed += 1;
    }
    out
}

/// Figures over the tickets received in the last `days` days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub days: i64,
    pub received: usize,
    /// Median time from receipt to the first technician reply, over the
    /// tickets that have one.
    pub median_first_response: Option<Duration>,
    pub responded: usize,
    /// Median time from receipt to resolved or closed, over those finished.
    pub median_resolution: Option<Duration>,
    pub resolved: usize,
    /// Tickets finished after their SLA due time, or open past it.
    pub sla_breaches: usize,
    /// "This fixed it" reports received in the window (reports avoided).
    pub deflections: usize,
    /// Deflections as a share of deflections plus tickets, in percent.
    pub deflection_percent: Option<u32>,
}

/// A room with its number of tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomCount {
    pub school: Option<String>,
    pub building: Option<String>,
    pub room: String,
    pub tickets: usize,
}

/// A device that filed more than one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCount {
    pub device_id: Uuid,
    pub hostname: String,
    pub school: Option<String>,
    pub tickets: usize,
    pub open: usize,
}

/// Everything the dashboard shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    pub open: usize,
    /// Every category, with its open tickets (zeros included), in the order of docs/design.md.
    pub open_by_category: Vec<(Category, usize)>,
    /// Open tickets per school, most first; `None` for devices without one.
    pub open_by_school: Vec<(Option<String>, usize)>,
    /// Open tickets past their SLA due time now.
    pub overdue_now: usize,
    /// The last 7 and the last 30 days.
    pub windows: Vec<Window>,
    /// Rooms with the most tickets in the last 30 days (at most 10).
    pub busiest_rooms: Vec<RoomCount>,
    /// Devices with two or more tickets in the last 30 days, most first.
    pub repeat_devices: Vec<DeviceCount>,
}

/// Days of the longer window, used for rooms and devices.
pub const LONG_WINDOW_DAYS: i64 = 30;

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(mut values: Vec<Duration>) -> Option<Duration> {
    if values.is_empty() {
        return None;
    }
    values.sort();
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2
    })
}

fn due(t: &TicketFacts, policy: &SlaPolicy) -> OffsetDateTime {
    t.received_at + Duration::hours(i64::from(policy.hours_for(t.urgency, t.scope)))
}

fn breached(t: &TicketFacts, policy: &SlaPolicy, now: OffsetDateTime) -> bool {
    t.resolved_at.unwrap_or(now) > due(t, policy)
}

/// How long each ticket waited from receipt until `until` (those where it
/// happened), never negative.
fn waits(
    tickets: &[&TicketFacts],
    until: impl Fn(&TicketFacts) -> Option<OffsetDateTime>,
) -> Vec<Duration> {
    tickets
        .iter()
        .filter_map(|t| until(t).map(|r| (r - t.received_at).max(Duration::ZERO)))
        .collect()
}

fn window(
    days: i64,
    tickets: &[TicketFacts],
    deflections: &[DeflectionRecord],
    policy: &SlaPolicy,
    now: OffsetDateTime,
) -> Window {
    let since = now - Duration::days(days);
    let recent: Vec<&TicketFacts> = tickets.iter().filter(|t| t.received_at > since).collect();
    let responses = waits(&recent, |t| t.first_response_at);
    let resolutions = waits(&recent, |t| t.resolved_at);
    let deflected = deflections.iter().filter(|d| d.received_at > since).count();
    let total = deflected + recent.len();
    Window {
        days,
        received: recent.len(),
        responded: responses.len(),
        median_first_response: median(responses),
        resolved: resolutions.len(),
        median_resolution: median(resolutions),
        sla_breaches: recent.iter().filter(|t| breached(t, policy, now)).count(),
        deflections: deflected,
        deflection_percent: (total > 0).then(|| ((deflected * 100 + total / 2) / total) as u32),
    }
}

/// Computes the dashboard at `now`.
pub fn dashboard(
    tickets: &[TicketFacts],
    deflections: &[DeflectionRecord],
    policy: &SlaPolicy,
    now: OffsetDateTime,
) -> Dashboard {
    let open: Vec<&TicketFacts> = tickets.iter().filter(|t| t.status.is_open()).collect();
    let open_by_category = Category::ALL
        .iter()
        .map(|c| (*c, open.iter().filter(|t| t.category == *c).count()))
        .collect();
    let mut schools: BTreeMap<Option<String>, usize> = BTreeMap::new();
    for t in &open {
        *schools.entry(t.school.clone()).or_default() += 1;
    }
    let mut open_by_school: Vec<(Option<String>, usize)> = schools.into_iter().collect();
    open_by_school.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));

    let since = now - Duration::days(LONG_WINDOW_DAYS);
    let recent: Vec<&TicketFacts> = tickets.iter().filter(|t| t.received_at > since).collect();
    // Rooms: same school, building and room (case and spaces ignored).
    let mut rooms: BTreeMap<(String, String, String), RoomCount> = BTreeMap::new();
    for t in &recent {
        let Some(room) = t.room.as_deref().map(str::trim).filter(|r| !r.is_empty()) else {
            continue;
        };
        let key = (
            t.school.as_deref().unwrap_or("").to_lowercase(),
            t.building.as_deref().unwrap_or("").to_lowercase(),
            room.to_lowercase(),
        );
        rooms
            .entry(key)
            .or_insert_with(|| RoomCount {
                school: t.school.clone(),
                building: t.building.clone(),
                room: room.to_owned(),
                tickets: 0,
            })
            .tickets += 1;
    }
    let mut busiest_rooms: Vec<RoomCount> = rooms.into_values().collect();
    busiest_rooms.sort_by(|a, b| {
        b.tickets
            .cmp(&a.tickets)
            .then_with(|| a.school.cmp(&b.school))
            .then_with(|| a.room.cmp(&b.room))
    });
    busiest_rooms.truncate(10);

    let mut devices: HashMap<Uuid, DeviceCount> = HashMap::new();
    for t in &recent {
        let d = devices.entry(t.device_id).or_insert_with(|| DeviceCount {
            device_id: t.device_id,
            hostname: t
                .hostname
                .clone()
                .unwrap_or_else(|| t.device_id.to_string()),
            school: t.school.clone(),
            tickets: 0,
            open: 0,
        });
        d.tickets += 1;
        if t.status.is_open() {
            d.open += 1;
        }
    }
    let mut repeat_devices: Vec<DeviceCount> =
        devices.into_values().filter(|d| d.tickets >= 2).collect();
    repeat_devices.sort_by(|a, b| {
        b.tickets
            .cmp(&a.tickets)
            .then_with(|| a.hostname.cmp(&b.hostname))
    });

    Dashboard {
        open: open.len(),
        open_by_category,
        open_by_school,
        overdue_now: open.iter().filter(|t| due(t, policy) <= now).count(),
        windows: [7, LONG_WINDOW_DAYS]
            .into_iter()
            .map(|days| window(days, tickets, deflections, policy, now))
            .collect(),
        busiest_rooms,
        repeat_devices,
    }
}

/// One CSV field: quoted when needed, and a leading `=`, `+`, `-`, `@` (which
/// spreadsheets run as a formula) neutralised with an apostrophe.
fn field(out: &mut String, value: &str) {
    let guarded;
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{value}");
        guarded.as_str()
    } else {
        value
    };
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn rfc3339(t: Option<OffsetDateTime>) -> String {
    t.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    })
    .unwrap_or_default()
}

/// The CSV export's header line.
pub const CSV_HEADER: &str = "number,status,category,urgency,scope,summary,school,building,room,\
device,assignee,received_at,first_response_at,resolved_at,announcement_id,self_help";

/// Every ticket as CSV (RFC 4180, CRLF line ends), oldest first.
pub fn tickets_csv(tickets: &[TicketFacts]) -> String {
    let mut out = String::with_capacity(128 * (tickets.len() + 1));
    out.push_str(CSV_HEADER);
    out.push_str("\r\n");
    for t in tickets {
        let self_help = self_help(t)
            .into_iter()
            .map(|a| a.article_slug)
            .collect::<Vec<_>>()
            .join(" ");
        let cells = [
            t.number.to_string(),
            t.status.as_str().to_owned(),
            t.category.as_str().to_owned(),
            t.urgency.as_str().to_owned(),
            t.scope.as_str().to_owned(),
            t.summary.clone(),
            t.school.clone().unwrap_or_default(),
            t.building.clone().unwrap_or_default(),
            t.room.clone().unwrap_or_default(),
            t.hostname.clone().unwrap_or_default(),
            t.assignee.clone().unwrap_or_default(),
            rfc3339(Some(t.received_at)),
            rfc3339(t.first_response_at),
            rfc3339(t.resolved_at),
            t.announcement_id.map(|a| a.to_string()).unwrap_or_default(),
            self_help,
        ];
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            field(&mut out, c);
        }
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use handraise_wire::{Scope, TicketStatus, Urgency};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-02 12:00 UTC);

    fn t(number: i64, hours_ago: i64) -> TicketFacts {
        TicketFacts {
            number,
            device_id: Uuid::from_u128(1),
            hostname: Some("room-12-pc".into()),
            school: Some("Lincoln".into()),
            building: None,
            room: Some("12".into()),
            category: Category::Printer,
            urgency: Urgency::Whenever,
            scope: Scope::Me,
            status: TicketStatus::New,
            summary: format!("ticket {number}"),
            assignee: None,
            self_help_json: None,
            announcement_id: None,
            received_at: NOW - Duration::hours(hours_ago),
            first_response_at: None,
            resolved_at: None,
            media_purged_at: None,
        }
    }

    #[test]
    fn medians_breaches_rooms_devices_and_deflections() {
        let mut a = t(1, 2); // open, answered after 30 min
        a.first_response_at = Some(a.received_at + Duration::minutes(30));
        let mut b = t(2, 50); // resolved in 10 h (late: 24 h policy is fine) -> no breach
        b.status = TicketStatus::Resolved;
        b.first_response_at = Some(b.received_at + Duration::minutes(90));
        b.resolved_at = Some(b.received_at + Duration::hours(10));
        let mut c = t(3, 24 * 10); // 10 days ago, class-stopping, resolved in 6 h: breach (4 h)
        c.urgency = Urgency::Now;
        c.status = TicketStatus::Closed;
        c.first_response_at = Some(c.received_at + Duration::hours(1));
        c.resolved_at = Some(c.received_at + Duration::hours(6));
        c.device_id = Uuid::from_u128(2);
        c.hostname = Some("lab-3".into());
        c.room = Some("Lab 3".into());
        c.category = Category::Wifi;
        let mut d = t(4, 30); // open for 30 h with the 24 h policy: breach now
        d.school = Some("Roosevelt".into());
        d.device_id = Uuid::from_u128(3);
        d.room = None;
        d.category = Category::Sound;
        let old = t(5, 24 * 40); // outside both windows
        let tickets = vec![a, b, c, d, old];
        let defl = |h: i64| DeflectionRecord {
            client_id: Uuid::now_v7(),
            slug: "printer-offline".into(),
            device_id: Uuid::from_u128(9),
            received_at: NOW - Duration::hours(h),
        };
        let deflections = vec![defl(1), defl(24 * 20)];
        let dash = dashboard(&tickets, &deflections, &SlaPolicy::default(), NOW);

        assert_eq!(dash.open, 3); // a, d, old
        let by_cat: HashMap<Category, usize> = dash.open_by_category.iter().copied().collect();
        assert_eq!(by_cat[&Category::Printer], 2);
        assert_eq!(by_cat[&Category::Sound], 1);
        assert_eq!(by_cat[&Category::Wifi], 0);
        assert_eq!(
            dash.open_by_school,
            vec![(Some("Lincoln".into()), 2), (Some("Roosevelt".into()), 1)]
        );
        assert_eq!(dash.overdue_now, 2); // d and old

        let w7 = &dash.windows[0];
        assert_eq!((w7.days, w7.received), (7, 3)); // a, b, d
        assert_eq!(w7.median_first_response, Some(Duration::minutes(60))); // 30, 90
        assert_eq!(w7.median_resolution, Some(Duration::hours(10)));
        assert_eq!(w7.sla_breaches, 1); // d
        assert_eq!(w7.deflections, 1);
        assert_eq!(w7.deflection_percent, Some(25)); // 1 / (1 + 3)

        let w30 = &dash.windows[1];
        assert_eq!(w30.received, 4);
        assert_eq!(w30.median_first_response, Some(Duration::minutes(60))); // 30, 60, 90
        assert_eq!(w30.median_resolution, Some(Duration::hours(8))); // 6, 10
        assert_eq!(w30.sla_breaches, 2); // c, d
        assert_eq!(w30.deflections, 2);
        assert_eq!(w30.deflection_percent, Some(33));

        assert_eq!(dash.busiest_rooms.len(), 2);
        assert_eq!(
            (
                dash.busiest_rooms[0].room.as_str(),
                dash.busiest_rooms[0].tickets
            ),
            ("12", 2)
        );
        assert_eq!(dash.repeat_devices.len(), 1);
        assert_eq!(dash.repeat_devices[0].hostname, "room-12-pc");
        assert_eq!(
            (dash.repeat_devices[0].tickets, dash.repeat_devices[0].open),
            (2, 1)
        );
    }

    #[test]
    fn article_stats_count_tickets_and_deflections() {
        let mut a = t(1, 1);
        a.self_help_json = Some(
            r#"[{"article_slug":"printer-offline","outcome":"still_broken"},
                {"article_slug":"printer-jammed","outcome":"shown"}]"#
                .into(),
        );
        let mut b = t(2, 1);
        b.self_help_json = Some(r#"[{"article_slug":"printer-offline","outcome":"shown"}]"#.into());
        let d = DeflectionRecord {
            client_id: Uuid::now_v7(),
            slug: "printer-offline".into(),
            device_id: Uuid::from_u128(1),
            received_at: NOW,
        };
        let s = article_stats(&[a, b], &[d]);
        assert_eq!(
            s["printer-offline"],
            ArticleStats {
                shown: 3,
                fixed: 1,
                filed_after: 2,
                still_broken: 1
            }
        );
        assert_eq!(s["printer-jammed"].filed_after, 1);
    }

    #[test]
    fn csv_quotes_and_neutralises_formulas() {
        let mut a = t(7, 1);
        a.summary = "=HYPERLINK(\"x\"), \"quoted\"\nline".into();
        let csv = tickets_csv(&[a]);
        let mut lines = csv.split("\r\n");
        assert_eq!(lines.next(), Some(CSV_HEADER));
        let row = lines.next().unwrap_or_default();
        assert!(
            row.starts_with("7,new,printer,whenever,me,\"'=HYPERLINK(\"\"x\"\"), \"\"quoted\"\"\nline\",Lincoln,,12,room-12-pc,,"),
            "{row}"
        );
    }
}
