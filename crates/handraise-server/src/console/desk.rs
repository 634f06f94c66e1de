//! Console part 2: the knowledge base, announcements, the dashboard and the
//! retention policy. Every change goes through [`crate::service`], as the
//! technician API's do.

use super::pages::*;
use super::session::{Admin, Signed};
use super::view as vt;
use super::{ConsoleError, DoneQuery, Page, flash, form, number, place_of, see_other, technician};
use crate::kb::render_markdown;
use crate::store::{AnnouncementRecord, TicketRecord, now_utc};
use crate::{AppError, AppState, service, stats};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use handraise_wire::{self as wire, AnnouncementKind, Category};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};
use time::OffsetDateTime;

/// The fields of a urlencoded form, repeated keys kept (checkboxes).
fn pairs(body: &Bytes) -> Result<Vec<(String, String)>, ConsoleError> {
    form(body)
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

// ---- knowledge base ------------------------------------------------------------

#[derive(Debug, Deserialize, Default)]
pub(super) struct KbQuery {
    #[serde(default)]
    category: String,
    #[serde(default)]
    done: Option<String>,
}

pub(super) async fn kb_list(
    State(state): State<AppState>,
    Signed(s): Signed,
    Query(q): Query<KbQuery>,
) -> Page {
    let articles = service::articles(&state).await?;
    let facts = state.db(|s| s.ticket_facts()).await?;
    let deflections = state.db(|s| s.deflections()).await?;
    let st = stats::article_stats(&facts, &deflections);
    let category: Option<Category> = q.category.parse().ok();
    let total = articles.len();
    let rows = articles
        .into_iter()
        .filter(|a| category.is_none_or(|c| a.categories.contains(&c)))
        .map(|a| {
            let s = st.get(&a.slug).copied().unwrap_or_default();
            ArticleRow {
                categories: a
                    .categories
                    .iter()
                    .map(|c| Category::label(*c))
                    .collect::<Vec<_>>()
                    .join(", "),
                slug: a.slug,
                title: a.title,
                published: a.published,
                shown: s.shown,
                fixed: s.fixed,
                filed_after: s.filed_after,
                still_broken: s.still_broken,
            }
        })
        .collect();
    let mut categories = vec![Opt::new("", "Every category", &q.category)];
    categories.extend(
        Category::ALL
            .iter()
            .map(|c| Opt::new(c.as_str(), c.label(), &q.category)),
    );
    Ok(render(
        StatusCode::OK,
        &KbListPage {
            c: Chrome::signed("Knowledge base", &s, "kb").with_flash(flash(q.done.as_deref())),
            rows,
            categories,
            filtered: category.is_some(),
            total,
        },
    ))
}

fn checks(selected: &[Category]) -> Vec<Check> {
    Category::ALL
        .iter()
        .map(|c| Check {
            value: c.as_str(),
            label: c.label(),
            checked: selected.contains(c),
        })
        .collect()
}

/// The article form as posted.
fn article_from_form(p: &[(String, String)]) -> Result<(wire::ArticleInput, String), AppError> {
    let mut categories = Vec::new();
    for (k, v) in p {
        if k == "categories" {
            categories.push(
                v.parse::<Category>()
                    .map_err(|e| AppError::Invalid(e.to_string()))?,
            );
        }
    }
    let keywords_text = get(p, "keywords").to_owned();
    let input = wire::ArticleInput {
        slug: get(p, "slug").trim().to_owned(),
        title: get(p, "title").to_owned(),
        // Browsers send CRLF line ends from a textarea; store plain newlines.
        body: get(p, "body").replace("\r\n", "\n"),
        categories,
        keywords: keywords_text
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect(),
        published: get(p, "published") == "true",
    };
    Ok((input, keywords_text))
}

struct EditArgs {
    existing: Option<String>,
    input: wire::ArticleInput,
    keywords: String,
    version: Option<i64>,
    error: Option<String>,
    flash: Option<String>,
}

async fn edit_page(
    state: &AppState,
    s: &crate::store::SessionRecord,
    status: StatusCode,
    a: EditArgs,
) -> Page {
    let stats = match &a.existing {
        Some(slug) => {
            let facts = state.db(|s| s.ticket_facts()).await?;
            let deflections = state.db(|s| s.deflections()).await?;
            Some(
                stats::article_stats(&facts, &deflections)
                    .get(slug)
                    .copied()
                    .unwrap_or_default(),
            )
        }
        None => None,
    };
    let title = match &a.existing {
        Some(_) => format!("Edit {}", a.input.title),
        None => "New article".to_owned(),
    };
    Ok(render(
        status,
        &KbEditPage {
            c: Chrome::signed(title, s, "kb").with_flash(a.flash),
            preview: render_markdown(&a.input.body),
            categories: checks(&a.input.categories),
            f: ArticleForm {
                slug: a.input.slug,
                title: a.input.title,
                body: a.input.body,
                keywords: a.keywords,
                published: a.input.published,
            },
            existing: a.existing,
            stats,
            version: a.version,
            error: a.error,
        },
    ))
}

pub(super) async fn kb_new(State(state): State<AppState>, Signed(s): Signed) -> Page {
    let input = wire::ArticleInput {
        slug: String::new(),
        title: String::new(),
        body: "Say in one sentence what the teacher sees.\n\n1. First step\n2. Second step\n\nIf it still does not work, report it.\n".into(),
        categories: Vec::new(),
        keywords: Vec::new(),
        published: true,
    };
    edit_page(
        &state,
        &s,
        StatusCode::OK,
        EditArgs {
            existing: None,
            input,
            keywords: String::new(),
            version: None,
            error: None,
            flash: None,
        },
    )
    .await
}

pub(super) async fn kb_create(
    State(state): State<AppState>,
    Signed(s): Signed,
    body: Bytes,
) -> Page {
    let p = pairs(&body)?;
    let (input, keywords) = article_from_form(&p)?;
    let args = |input, keywords, error| EditArgs {
        existing: None,
        input,
        keywords,
        version: None,
        error,
        flash: None,
    };
    if get(&p, "action") == "preview" {
        return edit_page(&state, &s, StatusCode::OK, args(input, keywords, None)).await;
    }
    match service::create_article(&state, input.clone()).await {
        Ok(a) => Ok(see_other(&format!("/console/kb/{}?done=article", a.slug))),
        Err(AppError::Invalid(m) | AppError::Conflict(m)) => {
            edit_page(
                &state,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                args(input, keywords, Some(format!("{m}."))),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn kb_edit(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(slug): Path<String>,
    Query(done): Query<DoneQuery>,
) -> Page {
    let a = service::article(&state, &slug).await?;
    let keywords = a.keywords.join(", ");
    let version = Some(a.version);
    edit_page(
        &state,
        &s,
        StatusCode::OK,
        EditArgs {
            existing: Some(a.slug.clone()),
            input: service::article_input(a),
            keywords,
            version,
            error: None,
            flash: flash(done.done.as_deref()),
        },
    )
    .await
}

pub(super) async fn kb_save(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(slug): Path<String>,
    body: Bytes,
) -> Page {
    let current = service::article(&state, &slug).await?;
    let p = pairs(&body)?;
    let (mut input, keywords) = article_from_form(&p)?;
    input.slug = current.slug.clone();
    let args = |input, error| EditArgs {
        existing: Some(current.slug.clone()),
        input,
        keywords: keywords.clone(),
        version: Some(current.version),
        error,
        flash: None,
    };
    if get(&p, "action") == "preview" {
        return edit_page(&state, &s, StatusCode::OK, args(input, None)).await;
    }
    match service::save_article(&state, input.clone()).await {
        Ok(a) => Ok(see_other(&format!("/console/kb/{}?done=article", a.slug))),
        Err(AppError::Invalid(m) | AppError::Conflict(m)) => {
            edit_page(
                &state,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                args(input, Some(format!("{m}."))),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn kb_publish(
    State(state): State<AppState>,
    _s: Signed,
    Path(slug): Path<String>,
) -> Page {
    let a = service::publish_article(&state, &slug).await?;
    Ok(see_other(&format!("/console/kb/{}?done=published", a.slug)))
}

pub(super) async fn kb_unpublish(
    State(state): State<AppState>,
    _s: Signed,
    Path(slug): Path<String>,
) -> Page {
    let a = service::unpublish_article(&state, &slug).await?;
    Ok(see_other(&format!(
        "/console/kb/{}?done=unpublished",
        a.slug
    )))
}

/// The live preview: the posted body rendered, as an HTML fragment.
pub(super) async fn kb_preview(_s: Signed, body: Bytes) -> Result<Response, ConsoleError> {
    let p = pairs(&body)?;
    let text = get(&p, "body");
    crate::api::check_len("body", text, 100_000)?;
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        render_markdown(text),
    )
        .into_response())
}

// ---- announcements -------------------------------------------------------------

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
        starts: vt::when(a.starts_at),
        ends: a.ends_at.map(vt::when),
        me_too,
        linked,
    }
}

async fn announcements_page(
    state: &AppState,
    s: &crate::store::SessionRecord,
    status: StatusCode,
    f: AnnouncementFormView,
    error: Option<String>,
    done: Option<&str>,
) -> Page {
    let list = state.db(|s| s.list_announcements()).await?;
    let devices = state.db(|s| s.list_devices()).await?;
    let now = now_utc();
    let rows = list
        .iter()
        .map(|a| announcement_row(&a.announcement, a.me_too, a.linked_tickets, now))
        .collect();
    let schools: BTreeSet<String> = devices
        .into_iter()
        .filter_map(|d| d.device.school)
        .collect();
    let kinds = vec![
        Opt::new("outage", "Outage (something is broken)", &f.kind),
        Opt::new("notice", "Notice (planned work, information)", &f.kind),
    ];
    let mut categories = vec![Opt::new("", "No category", &f.category)];
    categories.extend(
        Category::ALL
            .iter()
            .map(|c| Opt::new(c.as_str(), c.label(), &f.category)),
    );
    Ok(render(
        status,
        &AnnouncementsPage {
            c: Chrome::signed("Announcements", s, "announcements").with_flash(flash(done)),
            rows,
            kinds,
            categories,
            schools: schools
                .into_iter()
                .map(|v| Opt::new(v.clone(), v, ""))
                .collect(),
            f,
            error,
        },
    ))
}

pub(super) async fn announcements(
    State(state): State<AppState>,
    Signed(s): Signed,
    Query(done): Query<DoneQuery>,
) -> Page {
    announcements_page(
        &state,
        &s,
        StatusCode::OK,
        AnnouncementFormView {
            kind: "outage".into(),
            ..AnnouncementFormView::default()
        },
        None,
        done.done.as_deref(),
    )
    .await
}

/// A `datetime-local` value (`2026-03-02T08:30`, seconds optional), read as UTC.
fn parse_local(what: &str, v: &str) -> Result<Option<OffsetDateTime>, AppError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let with_secs = if v.len() == 16 {
        format!("{v}:00")
    } else {
        v.to_owned()
    };
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    time::PrimitiveDateTime::parse(&with_secs, &fmt)
        .map(|t| Some(t.assume_utc()))
        .map_err(|_| {
            AppError::Invalid(format!(
                "{what} must be a date and time like 2026-03-02T08:30"
            ))
        })
}

pub(super) async fn create_announcement(
    State(state): State<AppState>,
    Signed(s): Signed,
    body: Bytes,
) -> Page {
    let p = pairs(&body)?;
    let f = AnnouncementFormView {
        kind: get(&p, "kind").to_owned(),
        category: get(&p, "category").to_owned(),
        title: get(&p, "title").to_owned(),
        message: get(&p, "message").replace("\r\n", "\n"),
        school: get(&p, "school").to_owned(),
        building: get(&p, "building").to_owned(),
        starts_at: get(&p, "starts_at").to_owned(),
        ends_at: get(&p, "ends_at").to_owned(),
    };
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
            starts_at: parse_local("the start", &f.starts_at)?,
            ends_at: parse_local("the end", &f.ends_at)?,
        })
    })();
    let result = match input {
        Ok(input) => service::create_announcement(&state, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(a) => Ok(see_other(&format!(
            "/console/announcements/{}?done=announcement",
            a.id
        ))),
        Err(AppError::Invalid(m)) => {
            announcements_page(
                &state,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                f,
                Some(format!("{m}.")),
                None,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn announcement_page(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(raw): Path<String>,
    Query(done): Query<DoneQuery>,
) -> Page {
    let id = number(&raw)?;
    let a = service::announcement(&state, id).await?;
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
    let row = announcement_row(&a, total, linked.len() as i64, now);
    Ok(render(
        StatusCode::OK,
        &AnnouncementPage {
            c: Chrome::signed(a.title.clone(), &s, "announcements")
                .with_flash(flash(done.done.as_deref())),
            ended: a.ends_at.is_some_and(|e| e <= now),
            message: a.message.clone(),
            a: row,
            me_too: rooms
                .into_iter()
                .map(|r| MeTooRow {
                    school: r.school.unwrap_or_else(|| "No school set".into()),
                    room: r.room.unwrap_or_else(|| "Room not given".into()),
                    reports: r.reports,
                    last: vt::when(r.last_at),
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

pub(super) async fn link_tickets(
    State(state): State<AppState>,
    _s: Signed,
    Path(raw): Path<String>,
    body: Bytes,
) -> Page {
    let id = number(&raw)?;
    let p = pairs(&body)?;
    let mut numbers = Vec::new();
    for part in get(&p, "numbers").split([',', ' ', ';', '\n']) {
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
        return Err(AppError::Invalid("enter at least one ticket number".into()).into());
    }
    service::link_tickets(&state, numbers, Some(id)).await?;
    Ok(see_other(&format!(
        "/console/announcements/{id}?done=linked"
    )))
}

pub(super) async fn unlink_ticket(
    State(state): State<AppState>,
    _s: Signed,
    Path(raw): Path<String>,
    body: Bytes,
) -> Page {
    let id = number(&raw)?;
    let p = pairs(&body)?;
    let n: i64 = get(&p, "number")
        .parse()
        .map_err(|_| AppError::Invalid("no ticket number".into()))?;
    let detail = service::ticket(&state, n).await?;
    if detail.ticket.announcement_id == Some(id) {
        service::link_tickets(&state, vec![n], None).await?;
    }
    Ok(see_other(&format!(
        "/console/announcements/{id}?done=unlinked"
    )))
}

pub(super) async fn end_announcement(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(raw): Path<String>,
    body: Bytes,
) -> Page {
    let id = number(&raw)?;
    let p = pairs(&body)?;
    let tech = technician(&s);
    let message = get(&p, "message").replace("\r\n", "\n");
    let resolve = (get(&p, "resolve") == "true").then_some((&tech, message.as_str()));
    let (_, resolved) = service::end_announcement(&state, id, resolve).await?;
    let done = if resolved.is_empty() {
        "ended"
    } else {
        "ended-resolved"
    };
    Ok(see_other(&format!(
        "/console/announcements/{id}?done={done}"
    )))
}

// ---- dashboard -----------------------------------------------------------------

fn duration_text(d: Option<time::Duration>) -> String {
    match d {
        None => "No tickets yet".into(),
        Some(d) if d < time::Duration::minutes(1) => "under a minute".into(),
        Some(d) => vt::span(d),
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
            windows: d
                .windows
                .iter()
                .map(|w| WindowView {
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
                })
                .collect(),
            rooms: d
                .busiest_rooms
                .iter()
                .map(|r| RoomRow {
                    place: place_of(r.school.as_deref(), r.building.as_deref(), None),
                    room: r.room.clone(),
                    tickets: r.tickets,
                })
                .collect(),
            devices: d
                .repeat_devices
                .iter()
                .map(|r| DeviceCountRow {
                    hostname: r.hostname.clone(),
                    school: r.school.clone().unwrap_or_default(),
                    tickets: r.tickets,
                    open: r.open,
                })
                .collect(),
            updated: vt::when(now),
        },
    ))
}

pub(super) async fn tickets_csv(State(state): State<AppState>, _s: Signed) -> Page {
    let facts = state.db(|s| s.ticket_facts()).await?;
    let date = now_utc().date();
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

// ---- admin: retention ------------------------------------------------------------

pub(super) async fn retention(
    State(state): State<AppState>,
    Admin(s): Admin,
    Query(done): Query<DoneQuery>,
) -> Page {
    let days = state.db(|s| s.retention_days()).await?;
    Ok(render(
        StatusCode::OK,
        &RetentionPage {
            c: Chrome::signed("Data retention", &s, "retention")
                .with_flash(flash(done.done.as_deref())),
            days,
            error: None,
            purged: None,
        },
    ))
}

pub(super) async fn set_retention(
    State(state): State<AppState>,
    Admin(s): Admin,
    body: Bytes,
) -> Page {
    let p = pairs(&body)?;
    let parsed = get(&p, "days").trim().parse::<u32>().ok();
    let result = match parsed {
        Some(days) => service::set_retention_days(&state, days).await,
        None => Err(AppError::Invalid(
            "the retention period must be 1 to 3650 days".into(),
        )),
    };
    match result {
        Ok(()) => Ok(see_other("/console/admin/retention?done=retention")),
        Err(AppError::Invalid(m)) => {
            let days = state.db(|s| s.retention_days()).await?;
            Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &RetentionPage {
                    c: Chrome::signed("Data retention", &s, "retention"),
                    days,
                    error: Some(format!("{}{}.", m[..1].to_uppercase(), &m[1..])),
                    purged: None,
                },
            ))
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn purge_now(State(state): State<AppState>, Admin(s): Admin) -> Page {
    let (days, report) = state.db(|s| service::purge(s, now_utc())).await?;
    tracing::info!(
        tickets = report.tickets.len(),
        "retention policy applied from the console"
    );
    Ok(render(
        StatusCode::OK,
        &RetentionPage {
            c: Chrome::signed("Data retention", &s, "retention"),
            days,
            error: None,
            purged: Some(format!(
                "Removed {} screenshot(s) and {} device snapshot(s) from {} ticket(s).",
                report.screenshots,
                report.snapshots,
                report.tickets.len()
            )),
        },
    ))
}
