//! Ticket lists: a page of tickets with what a list shows (device, school,
//! building, screenshot, merge), never their messages; and the facets of
//! the queue's filters.

use super::rows::{TICKET_COLS, TICKET_FROM, choice_at, ticket_row};
use super::{Sql, Val, all, params};
use crate::store::{StoreResult, TicketDetail, TicketFacets, TicketOrder, TicketQuery};
use handraise_wire::{Scope, Urgency};

/// `ORDER BY` of `order`. A rank is written out as a `CASE` over every
/// urgency and scope, so the rule stays with the caller.
fn order_by(order: TicketOrder) -> String {
    match order {
        TicketOrder::Newest => "t.number DESC".into(),
        TicketOrder::Ranked(rank) => {
            let arms: String = Urgency::ALL
                .iter()
                .flat_map(|u| Scope::ALL.iter().map(move |s| (*u, *s)))
                .map(|(u, s)| format!(" WHEN '{}/{}' THEN {}", u.as_str(), s.as_str(), rank(u, s)))
                .collect();
            format!(
                "CASE t.urgency || '/' || t.scope{arms} ELSE 0 END DESC, t.received_at, t.number"
            )
        }
    }
}

/// A page of tickets as `query` asks, `messages` left empty.
pub(super) fn ticket_page(conn: &dyn Sql, query: &TicketQuery) -> StoreResult<Vec<TicketDetail>> {
    let f = &query.filter;
    let mut conditions: Vec<String> = Vec::new();
    let mut params: Vec<Val> = Vec::new();
    // The placeholder of a new parameter.
    let mut mark = |v: Val| {
        params.push(v);
        format!("?{}", params.len())
    };
    if !f.statuses.is_empty() {
        let marks: Vec<String> = f
            .statuses
            .iter()
            .map(|s| mark(Val::Text(s.as_str().into())))
            .collect();
        conditions.push(format!("t.status IN ({})", marks.join(", ")));
    }
    if let Some(c) = f.category {
        conditions.push(format!(
            "t.category = {}",
            mark(Val::Text(c.as_str().into()))
        ));
    }
    if let Some(school) = &f.school {
        conditions.push(format!("d.school = {}", mark(Val::Text(school.clone()))));
    }
    if let Some(building) = &f.building {
        conditions.push(format!(
            "d.building = {}",
            mark(Val::Text(building.clone()))
        ));
    }
    match &f.assignee {
        None => {}
        Some(None) => conditions.push("t.assignee_id IS NULL".into()),
        Some(Some(name)) => {
            conditions.push(format!("tech.name = {}", mark(Val::Text(name.clone()))));
        }
    }
    if let Some(before) = query.before {
        conditions.push(format!("t.number < {}", mark(Val::Int(before))));
    }
    let limit = mark(Val::Int(i64::try_from(query.limit).unwrap_or(i64::MAX)));
    let offset = mark(Val::Int(i64::try_from(query.offset).unwrap_or(i64::MAX)));
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT {TICKET_COLS}, d.hostname, d.school, d.building, \
             EXISTS (SELECT 1 FROM screenshots s WHERE s.ticket_number = t.number), \
             (SELECT g.into_number FROM ticket_merges g WHERE g.duplicate_number = t.number) \
         FROM {TICKET_FROM} LEFT JOIN devices d ON d.id = t.device_id \
         {filter} ORDER BY {} LIMIT {limit} OFFSET {offset}",
        order_by(query.order)
    );
    all(conn, &sql, &params, |r| {
        Ok(TicketDetail {
            ticket: ticket_row(r)?,
            device_hostname: r.get(19)?,
            school: r.get(20)?,
            building: r.get(21)?,
            has_screenshot: r.get(22)?,
            messages: Vec::new(),
            merged_into: r.get(23)?,
        })
    })
}

/// Tickets per status, and the schools and buildings of devices with tickets.
pub(super) fn ticket_facets(conn: &dyn Sql) -> StoreResult<TicketFacets> {
    let by_status = all(
        conn,
        "SELECT status, COUNT(*) FROM tickets GROUP BY status ORDER BY status",
        params![],
        |r| Ok((choice_at(r, 0)?, r.get::<i64>(1)? as usize)),
    )?;
    let of_devices = |column: &str| {
        all(
            conn,
            &format!(
                "SELECT DISTINCT d.{column} FROM devices d WHERE d.{column} IS NOT NULL \
                 AND EXISTS (SELECT 1 FROM tickets t WHERE t.device_id = d.id) \
                 ORDER BY d.{column}"
            ),
            params![],
            |r| r.get(0),
        )
    };
    Ok(TicketFacets {
        by_status,
        schools: of_devices("school")?,
        buildings: of_devices("building")?,
    })
}
