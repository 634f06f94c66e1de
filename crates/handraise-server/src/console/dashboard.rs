//! The dashboard (figures over every ticket) and its CSV export.

use super::pages::*;
use super::session::Signed;
use super::{Page, place_of, view};
use crate::state::AppState;
use crate::stats;
use crate::store::now_utc;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

// ---- dashboard -----------------------------------------------------------------

fn duration_text(d: Option<time::Duration>) -> String {
    match d {
        None => "No tickets yet".into(),
        Some(d) if d < time::Duration::minutes(1) => "under a minute".into(),
        Some(d) => view::span(d),
    }
}

fn window_view(w: &stats::Window) -> WindowView {
    WindowView {
        days: w.days,
        received: w.received,
        first_response: duration_text(w.median_first_response),
        responded: w.responded,
        resolution: duration_text(w.median_resolution),
        resolved: w.resolved,
        sla_breaches: w.sla_breaches,
        deflections: w.deflections,
        deflection_percent: w
            .deflection_percent
            .map(|p| format!("{p}% of all reports"))
            .unwrap_or_else(|| "no reports yet".into()),
    }
}

fn room_row(r: &stats::RoomCount) -> RoomRow {
    RoomRow {
        place: place_of(r.school.as_deref(), r.building.as_deref(), None),
        room: r.room.clone(),
        tickets: r.tickets,
    }
}

fn device_row(r: &stats::DeviceCount) -> DeviceCountRow {
    DeviceCountRow {
        hostname: r.hostname.clone(),
        school: r.school.clone().unwrap_or_default(),
        tickets: r.tickets,
        open: r.open,
    }
}

pub(super) async fn dashboard(State(state): State<AppState>, Signed(s): Signed) -> Page {
    let facts = state.db(|s| s.ticket_facts()).await?;
    let deflections = state.db(|s| s.deflections()).await?;
    let policy = state.db(|s| s.sla_policy()).await?;
    let now = now_utc();
    let d = stats::dashboard(&facts, &deflections, &policy, now);
    let q = |k: &str, v: &str| {
        format!(
            "/console/queue?{}",
            serde_urlencoded::to_string([(k, v)]).unwrap_or_default()
        )
    };
    Ok(render(
        StatusCode::OK,
        &DashboardPage {
            c: Chrome::signed("Dashboard", &s, "dashboard"),
            open: d.open,
            overdue_now: d.overdue_now,
            by_category: d
                .open_by_category
                .iter()
                .map(|(c, n)| CountRow {
                    label: c.label().to_owned(),
                    count: *n,
                    href: q("category", c.as_str()),
                })
                .collect(),
            by_school: d
                .open_by_school
                .iter()
                .map(|(school, n)| CountRow {
                    label: school.clone().unwrap_or_else(|| "No school set".into()),
                    count: *n,
                    href: school
                        .as_deref()
                        .map(|v| q("school", v))
                        .unwrap_or_else(|| "/console/queue".into()),
                })
                .collect(),
            windows: d.windows.iter().map(window_view).collect(),
            rooms: d.busiest_rooms.iter().map(room_row).collect(),
            devices: d.repeat_devices.iter().map(device_row).collect(),
            updated: view::when(&state.config().timezone, now),
        },
    ))
}

pub(super) async fn tickets_csv(State(state): State<AppState>, _s: Signed) -> Page {
    let facts = state.db(|s| s.ticket_facts()).await?;
    let date = state.config().timezone.date(now_utc());
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"handraise-tickets-{date}.csv\""),
            ),
        ],
        stats::tickets_csv(&facts),
    )
        .into_response())
}
