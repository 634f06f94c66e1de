//! Announcements: the list and the form, one announcement with its "me too"
//! reports and linked tickets, linking, unlinking and ending. Every change
//! goes through [`crate::service`], as the technician API's do.

use super::pages::*;
use super::session::Signed;
use super::{
    Action, Fields, Form, Notice, Number, Page, get_field, place_of, refusal, see_other,
    technician, view,
};
use crate::error::AppError;
use crate::service;
use crate::state::AppState;
use crate::store::{AnnouncementRecord, SessionRecord, TicketRecord, now_utc};
use crate::tz::Zone;
use axum::extract::State;
use handraise_wire::{self as wire, AnnouncementKind, Category};
use std::collections::{BTreeSet, HashMap};
use time::OffsetDateTime;

fn kind_label(k: AnnouncementKind) -> &'static str {
    match k {
        AnnouncementKind::Outage => "Outage",
        AnnouncementKind::Notice => "Notice",
    }
}

fn scope_text(a: &AnnouncementRecord) -> String {
    match (&a.school, &a.building) {
        (None, _) => "The whole district".into(),
        (Some(s), None) => s.clone(),
        (Some(s), Some(b)) => format!("{s} · {b}"),
    }
}

fn state_of(a: &AnnouncementRecord, now: OffsetDateTime) -> (&'static str, &'static str) {
    if a.ends_at.is_some_and(|e| e <= now) {
        ("Ended", "s-closed")
    } else if a.starts_at > now {
        ("Scheduled", "s-assigned")
    } else {
        ("Active", "s-new")
    }
}

fn announcement_row(
    a: &AnnouncementRecord,
    me_too: i64,
    linked: i64,
    now: OffsetDateTime,
    zone: &Zone,
) -> AnnouncementRow {
    let (state, state_class) = state_of(a, now);
    AnnouncementRow {
        id: a.id,
        kind: kind_label(a.kind),
        title: a.title.clone(),
        scope: scope_text(a),
        category: a.category.map(|c| c.label()),
        state,
        state_class,
        starts: view::when(zone, a.starts_at),
        ends: a.ends_at.map(|t| view::when(zone, t)),
        me_too,
        linked,
    }
}

async fn announcements_page(
    state: &AppState,
    s: &SessionRecord,
    mut n: Notice,
    f: AnnouncementFormView,
) -> Page {
    let list = state.db(|s| s.list_announcements()).await?;
    let devices = state.db(|s| s.list_devices()).await?;
    let now = now_utc();
    let zone = &state.config().timezone;
    let rows = list
        .iter()
        .map(|a| announcement_row(&a.announcement, a.me_too, a.linked_tickets, now, zone))
        .collect();
    let schools: BTreeSet<String> = devices
        .into_iter()
        .filter_map(|d| d.device.school)
        .collect();
    let kinds = vec![
        Opt::new("outage", "Outage (something is broken)", &f.kind),
        Opt::new("notice", "Notice (planned work, information)", &f.kind),
    ];
    let categories = Opt::categories("No category", &f.category);
    Ok(render(
        n.status,
        &AnnouncementsPage {
            c: n.chrome("Announcements", s, "announcements"),
            rows,
            kinds,
            categories,
            schools: schools
                .into_iter()
                .map(|v| Opt::new(v.clone(), v, ""))
                .collect(),
            f,
            error: n.error,
            zone: zone.name().to_owned(),
        },
    ))
}

pub(super) async fn list(State(state): State<AppState>, Signed(s): Signed, n: Notice) -> Page {
    let f = AnnouncementFormView {
        kind: "outage".into(),
        ..AnnouncementFormView::default()
    };
    announcements_page(&state, &s, n, f).await
}

pub(super) async fn create(
    State(state): State<AppState>,
    Signed(s): Signed,
    Form(p): Form<Fields>,
) -> Page {
    let f = AnnouncementFormView {
        kind: get_field(&p, "kind").to_owned(),
        category: get_field(&p, "category").to_owned(),
        title: get_field(&p, "title").to_owned(),
        message: get_field(&p, "message").replace("\r\n", "\n"),
        school: get_field(&p, "school").to_owned(),
        building: get_field(&p, "building").to_owned(),
        starts_at: get_field(&p, "starts_at").to_owned(),
        ends_at: get_field(&p, "ends_at").to_owned(),
    };
    let zone = &state.config().timezone;
    let input = (|| -> Result<wire::AnnouncementInput, AppError> {
        let kind = match f.kind.as_str() {
            "outage" => AnnouncementKind::Outage,
            "notice" => AnnouncementKind::Notice,
            _ => return Err(AppError::Invalid("choose outage or notice".into())),
        };
        let category = if f.category.is_empty() {
            None
        } else {
            Some(
                f.category
                    .parse::<Category>()
                    .map_err(|e| AppError::Invalid(e.to_string()))?,
            )
        };
        Ok(wire::AnnouncementInput {
            kind,
            title: f.title.clone(),
            message: f.message.clone(),
            school: Some(f.school.clone()),
            building: Some(f.building.clone()),
            category,
            starts_at: view::parse_local(zone, "the start", &f.starts_at)?,
            ends_at: view::parse_local(zone, "the end", &f.ends_at)?,
        })
    })();
    let result = match input {
        Ok(input) => service::announcements::create(state.store(), input, now_utc()).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(a) => Ok(see_other(&format!(
            "/console/announcements/{}?done=announcement",
            a.id
        ))),
        Err(e) => {
            let n = Notice::refused(refusal(e)?);
            announcements_page(&state, &s, n, f).await
        }
    }
}

pub(super) async fn page(
    State(state): State<AppState>,
    Signed(s): Signed,
    Number(id): Number,
    mut notice: Notice,
) -> Page {
    let a = service::announcements::get(state.store(), id).await?;
    let rooms = state.db(move |s| s.me_too_by_room(id)).await?;
    let linked: Vec<TicketRecord> = state.db(move |s| s.announcement_tickets(id)).await?;
    let facts = state.db(|s| s.ticket_facts()).await?;
    let places: HashMap<i64, String> = facts
        .iter()
        .filter(|f| f.announcement_id == Some(id))
        .map(|f| {
            (
                f.number,
                place_of(
                    f.school.as_deref(),
                    f.building.as_deref(),
                    f.room.as_deref(),
                ),
            )
        })
        .collect();
    let now = now_utc();
    let total: i64 = rooms.iter().map(|r| r.reports).sum();
    let open_linked = linked.iter().filter(|t| t.status.is_open()).count();
    let zone = &state.config().timezone;
    let row = announcement_row(&a, total, linked.len() as i64, now, zone);
    Ok(render(
        notice.status,
        &AnnouncementPage {
            c: notice.chrome(a.title.clone(), &s, "announcements"),
            ended: a.ends_at.is_some_and(|e| e <= now),
            message: a.message.clone(),
            a: row,
            me_too: rooms
                .into_iter()
                .map(|r| MeTooRow {
                    school: r.school.unwrap_or_else(|| "No school set".into()),
                    room: r.room.unwrap_or_else(|| "Room not given".into()),
                    reports: r.reports,
                    last: view::when(zone, r.last_at),
                })
                .collect(),
            linked: linked
                .iter()
                .map(|t| LinkedRow {
                    number: t.number,
                    summary: t.summary.clone(),
                    status: t.status.as_str(),
                    status_label: t.status.label(),
                    place: places.get(&t.number).cloned().unwrap_or_default(),
                })
                .collect(),
            open_linked,
        },
    ))
}

/// What a technician does to an announcement from its page, named by the
/// last segment of the form's address: `link` tickets, `unlink` one, or
/// `end` it (resolving its open tickets with a message when asked).
pub(super) async fn act(
    State(state): State<AppState>,
    Signed(s): Signed,
    Action(id, action): Action,
    Form(p): Form<Fields>,
) -> Page {
    let done = match action.as_str() {
        "link" => {
            let numbers = ticket_numbers(get_field(&p, "numbers"))?;
            service::announcements::link_tickets(state.store(), numbers, Some(id), now_utc())
                .await?;
            "linked"
        }
        "unlink" => {
            let n: i64 = get_field(&p, "number")
                .parse()
                .map_err(|_| AppError::Invalid("no ticket number".into()))?;
            let detail = service::tickets::get(state.store(), n).await?;
            if detail.ticket.announcement_id == Some(id) {
                service::announcements::link_tickets(state.store(), vec![n], None, now_utc())
                    .await?;
            }
            "unlinked"
        }
        "end" => {
            let tech = technician(&s);
            let message = get_field(&p, "message").replace("\r\n", "\n");
            let resolve = (get_field(&p, "resolve") == "true").then_some((&tech, message.as_str()));
            let (_, resolved) =
                service::announcements::end(state.store(), state.feed(), id, resolve, now_utc())
                    .await?;
            if resolved.is_empty() {
                "ended"
            } else {
                "ended-resolved"
            }
        }
        _ => return Err(AppError::NotFound.into()),
    };
    Ok(see_other(&format!(
        "/console/announcements/{id}?done={done}"
    )))
}

/// Ticket numbers as typed: separated by commas, spaces, semicolons or
/// lines, each with or without `#`; at least one.
fn ticket_numbers(text: &str) -> Result<Vec<i64>, AppError> {
    let mut numbers = Vec::new();
    for part in text.split([',', ' ', ';', '\n']) {
        let part = part.trim().trim_start_matches('#');
        if part.is_empty() {
            continue;
        }
        numbers.push(part.parse::<i64>().map_err(|_| {
            AppError::Invalid(format!(
                "{part:?} is not a ticket number; enter numbers like 42, 43"
            ))
        })?);
    }
    if numbers.is_empty() {
        return Err(AppError::Invalid("enter at least one ticket number".into()));
    }
    Ok(numbers)
}
