//! The technicians' desk: the queue with its filters, the ticket page and
//! what a technician does to a ticket (assign, status, reply, note, merge).
//! Every change goes through [`crate::service`], as the technician API's do.

use super::pages::*;
use super::session::Signed;
use super::{
    Action, Fields, Form, Notice, Number, Page, get_field, place_of, see_other, technician, view,
};
use crate::error::AppError;
use crate::service::{self, convert};
use crate::state::AppState;
use crate::store::{
    ForwardState, Technician, TicketDetail, TicketFilter, TicketOrder, TicketQuery, now_utc,
};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use handraise_wire::{self as wire, SelfHelpOutcome, TicketStatus};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

// ---- queue ---------------------------------------------------------------

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
pub(super) struct QueueQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    category: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    school: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    building: String,
    /// A technician's name, `-` for unassigned, empty for anyone.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    assignee: String,
    /// The page, from 1.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    page: String,
}

impl QueueQuery {
    /// The tickets these filters show (open ones unless a status is chosen).
    fn filter(&self) -> TicketFilter {
        let statuses = match (self.status.as_str(), self.status.parse().ok()) {
            ("all", _) => Vec::new(),
            (_, Some(st)) => vec![st],
            _ => TicketStatus::ALL
                .iter()
                .copied()
                .filter(|st| view::is_open(*st))
                .collect(),
        };
        let given = |v: &String| (!v.is_empty()).then(|| v.clone());
        TicketFilter {
            statuses,
            category: self.category.parse().ok(),
            school: given(&self.school),
            building: given(&self.building),
            assignee: match self.assignee.as_str() {
                "" => None,
                "-" => Some(None),
                name => Some(Some(name.to_owned())),
            },
        }
    }

    /// The page asked for, from 1.
    fn page(&self) -> usize {
        self.page.parse().ok().filter(|p| *p >= 1).unwrap_or(1)
    }

    /// The queue with these filters at page `page`.
    fn href(&self, page: usize) -> String {
        let at = QueueQuery {
            page: if page > 1 {
                page.to_string()
            } else {
                String::new()
            },
            ..self.clone()
        };
        match serde_urlencoded::to_string(&at) {
            Ok(q) if !q.is_empty() => format!("/console/queue?{q}"),
            _ => "/console/queue".into(),
        }
    }
}

fn impact_class(urgency: wire::Urgency, scope: wire::Scope) -> &'static str {
    match view::impact(urgency, scope) {
        6.. => "high",
        3..=5 => "medium",
        _ => "low",
    }
}

fn impact_text(urgency: wire::Urgency, scope: wire::Scope) -> String {
    let u = match urgency {
        wire::Urgency::Now => "Class stopped",
        wire::Urgency::Soon => "Soon",
        wire::Urgency::Whenever => "When possible",
    };
    let s = match scope {
        wire::Scope::Me => "one person",
        wire::Scope::Room => "a room",
        wire::Scope::Building => "a building",
        wire::Scope::District => "everyone",
    };
    format!("{u} · {s}")
}

fn place(d: &TicketDetail) -> String {
    place_of(
        d.school.as_deref(),
        d.building.as_deref(),
        d.ticket.room.as_deref(),
    )
}

pub(super) async fn queue(
    State(state): State<AppState>,
    Signed(s): Signed,
    Query(q): Query<QueueQuery>,
) -> Page {
    let page = q.page();
    let size = service::tickets::PAGE_SIZE;
    let query = TicketQuery {
        filter: q.filter(),
        order: TicketOrder::Ranked(view::impact),
        before: None,
        offset: (page - 1).saturating_mul(size),
        limit: size,
    };
    let (shown, more) = service::tickets::page(state.store(), query).await?;
    let facets = service::tickets::facets(state.store()).await?;
    let policy = state.db(|s| s.sla_policy()).await?;
    let techs = state.db(|s| s.technicians()).await?;
    let now = now_utc();
    let zone = &state.config().timezone;
    let status_filter: Option<TicketStatus> = q.status.parse().ok();
    let counts = TicketStatus::ALL
        .iter()
        .map(|st| StatusCount {
            value: st.as_str(),
            label: st.label(),
            count: facets.count(*st),
            current: status_filter == Some(*st),
        })
        .collect();
    let pages = Pages {
        previous: (page > 1).then(|| q.href(page - 1)),
        next: more.then(|| q.href(page + 1)),
        first_row: (page - 1) * size + 1,
        page,
    };
    let rows = shown
        .iter()
        .map(|d| {
            let t = &d.ticket;
            QueueRow {
                number: t.number,
                summary: t.summary.clone(),
                category: t.category.label(),
                impact: impact_text(t.urgency, t.scope),
                impact_class: impact_class(t.urgency, t.scope),
                place: place(d),
                status: t.status.as_str(),
                status_label: t.status.label(),
                assignee: t.assignee.clone(),
                age: view::span(now - t.received_at),
                received_iso: view::iso(zone, t.received_at),
                due: view::due_badge(t, &policy, now, zone),
            }
        })
        .collect();
    let statuses = Opt::list(
        &q.status,
        &[("", "Open (not resolved or closed)"), ("all", "All")],
        TicketStatus::ALL.iter().map(|st| (st.as_str(), st.label())),
    );
    let categories = Opt::categories("Any category", &q.category);
    let same = |v: &String| (v.clone(), v.clone());
    let school_opts = Opt::list(
        &q.school,
        &[("", "Any school")],
        facets.schools.iter().map(same),
    );
    let building_opts = Opt::list(
        &q.building,
        &[("", "Any building")],
        facets.buildings.iter().map(same),
    );
    let with_me = |t: &Technician| {
        let label = if t.name == s.user.technician_name {
            format!("{} (me)", t.name)
        } else {
            t.name.clone()
        };
        (t.name.clone(), label)
    };
    let assignees = Opt::list(
        &q.assignee,
        &[("", "Anyone"), ("-", "Unassigned")],
        techs.iter().map(with_me),
    );
    let filtered = !(q.status.is_empty()
        && q.category.is_empty()
        && q.school.is_empty()
        && q.building.is_empty()
        && q.assignee.is_empty());
    Ok(render(
        StatusCode::OK,
        &QueuePage {
            c: Chrome::signed("Queue", &s, "queue"),
            rows,
            counts,
            statuses,
            categories,
            schools: school_opts,
            buildings: building_opts,
            assignees,
            filtered,
            pages,
            updated: view::when(zone, now),
        },
    ))
}

// ---- ticket --------------------------------------------------------------

pub(super) async fn ticket_page(
    State(state): State<AppState>,
    Signed(s): Signed,
    Number(n): Number,
    mut notice: Notice,
) -> Page {
    let detail = service::tickets::get(state.store(), n).await?;
    let policy = state.db(|s| s.sla_policy()).await?;
    let techs = state.db(|s| s.technicians()).await?;
    let (_, articles) = state.db(|s| s.kb_changes(0)).await?;
    let titles: HashMap<String, String> = articles.into_iter().map(|a| (a.slug, a.title)).collect();
    // The same conversion the technician API answers with.
    let w = convert::tech_ticket(&detail);
    let now = now_utc();
    let zone = &state.config().timezone;
    let snapshot = w
        .snapshot
        .as_ref()
        .map(|snap| view::snapshot_view(snap, w.offline_at_submit, zone));
    let mut warnings = snapshot
        .as_ref()
        .map(|v| v.warnings.clone())
        .unwrap_or_default();
    if snapshot.is_none() && w.offline_at_submit {
        warnings.push("The computer was offline when the teacher submitted the ticket".into());
    }
    let reporter = w.reporter.clone().unwrap_or_default();
    let t = TicketView {
        number: w.number,
        summary: w.summary.clone(),
        details: w.details.clone(),
        status: w.status.as_str(),
        status_label: w.status.label(),
        category: w.category.label(),
        urgency: w.urgency.label(),
        scope: w.scope.label(),
        impact_class: impact_class(w.urgency, w.scope),
        reporter: reporter.display_name.clone(),
        reporter_email: reporter.email.clone(),
        os_user: reporter.os_user.clone(),
        room: w.room.clone(),
        school: w.school.clone(),
        building: w.building.clone(),
        device: w.device_hostname.clone(),
        assignee: w.assignee.clone(),
        created: view::when(zone, w.created_at),
        received: view::when(zone, w.received_at),
        due: view::due_badge(&detail.ticket, &policy, now, zone),
        has_screenshot: w.has_screenshot,
        merged_into: detail.merged_into,
    };
    let messages = w
        .messages
        .iter()
        .map(|m| {
            let (kind, kind_label) = match m.kind.as_str() {
                "teacher" => ("teacher", "Teacher"),
                "technician" => ("technician", "Reply to teacher"),
                _ => ("note", "Internal note"),
            };
            let author = m.author.clone().unwrap_or_else(|| match kind {
                "teacher" => reporter
                    .display_name
                    .clone()
                    .unwrap_or_else(|| "Teacher".into()),
                _ => "Technician".into(),
            });
            MessageView {
                kind,
                kind_label,
                author,
                body: m.body.clone(),
                at: view::when(zone, m.at),
                iso: view::iso(zone, m.at),
            }
        })
        .collect();
    let self_help = w
        .self_help
        .iter()
        .map(|a| SelfHelpView {
            title: titles
                .get(&a.article_slug)
                .cloned()
                .unwrap_or_else(|| a.article_slug.clone()),
            slug: a.article_slug.clone(),
            outcome: match a.outcome {
                SelfHelpOutcome::StillBroken => "Tried it; still broken",
                SelfHelpOutcome::Shown => "Shown, not marked as tried",
            },
        })
        .collect();
    let status_now = w.status.as_str();
    let statuses = TicketStatus::ALL
        .iter()
        .map(|st| Opt::new(st.as_str(), st.label(), status_now))
        .collect();
    let assignee_now = w.assignee.clone().unwrap_or_default();
    let names = techs.iter().map(|t| (t.name.clone(), t.name.clone()));
    let technicians = Opt::list(&assignee_now, &[("", "Nobody (unassign)")], names);
    let me = s.user.technician_name.clone();
    let forwarded = state
        .blocking(move |s| service::desks::forwarded(s, n))
        .await?
        .map(forwarded_view);
    Ok(render(
        StatusCode::OK,
        &TicketPage {
            forwarded,
            c: notice.chrome(format!("#{} {}", w.number, w.summary), &s, "queue"),
            assigned_to_me: w.assignee.as_deref() == Some(me.as_str()),
            t,
            snapshot,
            warnings,
            self_help,
            messages,
            statuses,
            technicians,
            me,
        },
    ))
}

pub(super) async fn screenshot(
    State(state): State<AppState>,
    _s: Signed,
    Number(n): Number,
) -> Page {
    let (ctype, bytes) = state
        .db(move |s| s.screenshot(n))
        .await?
        .ok_or(AppError::NotFound)?;
    // Only PNG and JPEG are stored (checked against magic bytes on upload).
    // A screenshot shows a user's screen: no cache, shared or private, keeps it.
    let ctype = if ctype == "image/jpeg" {
        "image/jpeg"
    } else {
        "image/png"
    };
    Ok((
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "no-store, private"),
        ],
        bytes,
    )
        .into_response())
}

/// What a technician does to a ticket from its page, named by the last
/// segment of the form's address: `assign`, `status`, `reply`, `note` or
/// `merge`. Each is one service operation; the page then shows what was done.
pub(super) async fn act(
    State(state): State<AppState>,
    Signed(s): Signed,
    Action(n, action): Action,
    Form(p): Form<Fields>,
) -> Page {
    let field = |key| get_field(&p, key);
    let tech = technician(&s);
    let done = match action.as_str() {
        "assign" => {
            service::tickets::assign(
                state.store(),
                state.feed(),
                n,
                Some(field("assignee")),
                now_utc(),
            )
            .await?;
            "assigned"
        }
        "status" => {
            let status: TicketStatus = field("status")
                .parse()
                .map_err(|e: wire::ParseChoiceError| AppError::Invalid(e.to_string()))?;
            service::tickets::set_status(state.store(), state.feed(), n, status, now_utc()).await?;
            "status"
        }
        "reply" => {
            service::tickets::reply(
                state.store(),
                state.feed(),
                &tech,
                n,
                field("body"),
                now_utc(),
            )
            .await?;
            "reply"
        }
        "note" => {
            service::tickets::note(state.store(), &tech, n, field("body"), now_utc()).await?;
            "note"
        }
        "merge" => {
            let into: i64 = field("into")
                .trim()
                .trim_start_matches('#')
                .parse()
                .map_err(|_| {
                    AppError::Invalid(
                        "enter the number of the ticket to merge into, like 42".into(),
                    )
                })?;
            service::tickets::merge(state.store(), state.feed(), &tech, (n, into), now_utc())
                .await?;
            "merged"
        }
        _ => return Err(AppError::NotFound.into()),
    };
    Ok(see_other(&format!("/console/tickets/{n}?done={done}")))
}

/// A forwarded ticket's place in its desk, for the page.
fn forwarded_view(f: service::desks::Forwarded) -> ForwardedView {
    ForwardedView {
        desk: f.desk_name,
        state: match f.state {
            ForwardState::Queued => "Waiting to be sent",
            ForwardState::Sent => "In the desk",
            ForwardState::Failed => "Refused by the desk",
        },
        external_id: f.external_id,
        link: f.link,
        last_error: f.last_error,
        receipt_lost: f.receipt_lost,
    }
}
