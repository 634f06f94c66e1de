//! What a forwarded ticket says in the desk: the subject (the teacher's
//! summary and the HandRaise reference), the body (description, reporter,
//! place, the device facts as a table) and the priority.

use crate::store::{TicketDetail, TicketRecord};
use handraise_wire::{Reporter, Urgency};
use serde_json::Value;
use uuid::Uuid;

/// Longest subject RT keeps.
const MAX_SUBJECT_CHARS: usize = 200;

/// The reference that finds a forwarded ticket in the desk again: its client id,
/// unique and searchable.
pub fn reference(detail: &TicketDetail) -> String {
    format!("HandRaise {}", detail.ticket.client_id)
}

/// The subject a teacher message is added with: how it is found again.
pub fn message_marker(message_id: uuid::Uuid) -> String {
    format!("HandRaise message {message_id}")
}

/// The summary, shortened so that `[reference]` still fits.
pub fn subject(detail: &TicketDetail) -> String {
    ticket_subject(&detail.ticket)
}

/// [`subject`] of a ticket record.
pub fn ticket_subject(ticket: &TicketRecord) -> String {
    let tag = format!(" [HandRaise {}]", ticket.client_id);
    let room = MAX_SUBJECT_CHARS.saturating_sub(tag.chars().count());
    let summary: String = ticket.summary.chars().take(room).collect();
    format!("{summary}{tag}")
}

/// The Message-ID (without brackets) of the mail that carries ticket
/// `ticket` (`message` `None`) or one of its teacher messages, in the
/// domain of HandRaise's address `from`. Made from the ids alone, so a mail
/// sent again after a kill has the same Message-ID, and a reply's
/// `In-Reply-To`/`References` name the ticket.
pub fn mail_message_id(ticket: Uuid, message: Option<Uuid>, from: &str) -> String {
    let domain = from
        .rsplit('@')
        .next()
        .map(|d| d.trim_end_matches('>').trim())
        .filter(|d| !d.is_empty() && !d.contains(char::is_whitespace))
        .unwrap_or("handraise.invalid");
    match message {
        None => format!("handraise.{ticket}@{domain}"),
        Some(m) => format!("handraise.{ticket}.{m}@{domain}"),
    }
}

/// Whether `message_id` is one HandRaise made ([`mail_message_id`]).
pub fn is_own_message_id(message_id: &str) -> bool {
    ticket_in_message_id(message_id).is_some()
}

fn ticket_in_message_id(id: &str) -> Option<Uuid> {
    let rest = id.trim_start_matches('<').strip_prefix("handraise.")?;
    rest.get(..36)?.parse().ok()
}

/// The ticket a mail answers: the client id in a Message-ID it answers
/// (`answers`: In-Reply-To, References) made by [`mail_message_id`], else
/// the reference `[HandRaise <client id>]` in its subject.
pub fn ticket_of_mail(answers: &[String], subject: &str) -> Option<Uuid> {
    answers
        .iter()
        .find_map(|a| ticket_in_message_id(a))
        .or_else(|| {
            let at = subject.find("HandRaise ")? + "HandRaise ".len();
            subject.get(at..at + 36)?.parse().ok()
        })
}

/// RT's priority (0–100) for an urgency.
pub fn priority(urgency: Urgency) -> u8 {
    match urgency {
        Urgency::Now => 90,
        Urgency::Soon => 50,
        Urgency::Whenever => 10,
    }
}

/// The reporter the ticket names, if the device sent one.
pub fn reporter(detail: &TicketDetail) -> Option<Reporter> {
    detail
        .ticket
        .reporter_json
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok())
}

/// The requestor's email, when the reporter has a plausible one
/// (`handraise_wire::check_email`, the agent's check of it too).
pub fn requestor(detail: &TicketDetail) -> Option<String> {
    reporter(detail)
        .and_then(|r| r.email)
        .and_then(|e| handraise_wire::check_email(&e).ok().map(str::to_owned))
}

fn who(detail: &TicketDetail) -> String {
    let Some(r) = reporter(detail) else {
        return "not given".into();
    };
    let parts: Vec<String> = [
        r.display_name,
        r.os_user.map(|u| format!("account {u}")),
        r.email.map(|e| format!("<{e}>")),
    ]
    .into_iter()
    .flatten()
    .filter(|p| !p.trim().is_empty())
    .collect();
    if parts.is_empty() {
        "not given".into()
    } else {
        parts.join(", ")
    }
}

/// The body of the desk ticket, plain text.
pub fn body(detail: &TicketDetail) -> String {
    let t = &detail.ticket;
    let mut out = String::new();
    out.push_str(t.details.as_deref().unwrap_or("(no description)"));
    out.push_str("\n\n");
    let rows: Vec<(&str, String)> = vec![
        ("Reported by", who(detail)),
        ("School", detail.school.clone().unwrap_or_default()),
        ("Building", detail.building.clone().unwrap_or_default()),
        ("Room", t.room.clone().unwrap_or_default()),
        (
            "Computer",
            detail.device_hostname.clone().unwrap_or_default(),
        ),
        ("Category", t.category.label().to_owned()),
        ("Urgency", t.urgency.label().to_owned()),
        ("Affects", t.scope.label().to_owned()),
        (
            "Filed offline",
            if t.offline_at_submit { "yes" } else { "no" }.to_owned(),
        ),
        (
            "HandRaise ticket",
            format!("#{} ({})", t.number, t.client_id),
        ),
    ];
    out.push_str(&table(&rows));
    if let Some(facts) = t
        .snapshot_json
        .as_deref()
        .and_then(|j| serde_json::from_str::<Value>(j).ok())
    {
        let mut rows = Vec::new();
        flatten("", &facts, &mut rows);
        if !rows.is_empty() {
            out.push_str("\nDevice facts\n");
            let rows: Vec<(&str, String)> =
                rows.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            out.push_str(&table(&rows));
        }
    }
    out
}

/// Rows `label | value`, labels padded to one width; empty values left out.
fn table(rows: &[(&str, String)]) -> String {
    let rows: Vec<&(&str, String)> = rows.iter().filter(|(_, v)| !v.trim().is_empty()).collect();
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    rows.iter()
        .map(|(k, v)| format!("{k:<width$} | {}\n", v.replace('\n', " ")))
        .collect()
}

/// The snapshot as `path → value` rows (`disks.0.mount`), in its order.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.replace('_', " ")
        } else {
            format!("{prefix}.{}", k.replace('_', " "))
        }
    };
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(&key(k), v, out);
            }
        }
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            let joined: Vec<String> = items.iter().map(scalar).collect();
            out.push((prefix.to_owned(), joined.join(", ")));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten(&key(&(i + 1).to_string()), item, out);
            }
        }
        Value::Null => {}
        other => out.push((prefix.to_owned(), scalar(other))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn facts_read_as_a_table() {
        let mut rows = Vec::new();
        flatten(
            "",
            &json!({"hostname": "lab-12", "dns_servers": ["10.0.0.1", "10.0.0.2"],
                    "disks": [{"mount": "/", "free_bytes": 5}], "battery": null}),
            &mut rows,
        );
        let rows: Vec<(&str, String)> = rows.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let t = table(&rows);
        let row = |label: &str| {
            t.lines()
                .find(|l| l.starts_with(label))
                .map(|l| l.split(" | ").nth(1).unwrap_or_default().to_owned())
        };
        assert_eq!(row("hostname").as_deref(), Some("lab-12"), "{t}");
        assert_eq!(row("dns servers").as_deref(), Some("10.0.0.1, 10.0.0.2"));
        assert_eq!(row("disks.1.mount").as_deref(), Some("/"));
        assert_eq!(row("battery"), None);
        // Labels are padded to one column.
        let bars: std::collections::HashSet<usize> =
            t.lines().filter_map(|l| l.find(" | ")).collect();
        assert_eq!(bars.len(), 1, "{t}");
    }

    #[test]
    fn mails_are_threaded_by_message_id_or_subject() {
        let t = Uuid::now_v7();
        let m = Uuid::now_v7();
        let id = mail_message_id(t, Some(m), "HandRaise <hr@district.test>");
        assert_eq!(id, format!("handraise.{t}.{m}@district.test"));
        assert!(is_own_message_id(&id));
        assert_eq!(ticket_of_mail(&["x@y".into(), id], ""), Some(t));
        let subject = format!("Re: Printer [HandRaise {t}]");
        assert_eq!(ticket_of_mail(&[], &subject), Some(t));
        assert_eq!(ticket_of_mail(&["other@desk".into()], "Re: hello"), None);
    }

    #[test]
    fn urgency_sets_the_priority() {
        assert!(priority(Urgency::Now) > priority(Urgency::Soon));
        assert!(priority(Urgency::Soon) > priority(Urgency::Whenever));
    }
    fn detail(reporter: &str, room: Option<&str>) -> TicketDetail {
        let at = time::OffsetDateTime::UNIX_EPOCH;
        TicketDetail {
            ticket: crate::store::TicketRecord {
                number: 7,
                client_id: uuid::Uuid::nil(),
                device_id: uuid::Uuid::nil(),
                status: handraise_wire::TicketStatus::New,
                category: handraise_wire::Category::Printer,
                urgency: Urgency::Soon,
                scope: handraise_wire::Scope::Me,
                summary: "Printer jammed".into(),
                details: None,
                room: room.map(str::to_owned),
                reporter_json: Some(reporter.into()),
                snapshot_json: None,
                self_help_json: None,
                offline_at_submit: false,
                announcement_id: None,
                assignee: None,
                created_at: at,
                received_at: at,
                updated_at: at,
            },
            device_hostname: None,
            school: None,
            building: None,
            has_screenshot: false,
            messages: Vec::new(),
            merged_into: None,
        }
    }

    #[test]
    fn the_reporters_email_is_the_requestor_and_without_one_the_body_names_them() {
        let d = detail(
            r#"{"os_user":"ana","display_name":"Ana Smith","email":" ana@lincoln.example "}"#,
            Some("B-12"),
        );
        assert_eq!(requestor(&d).as_deref(), Some("ana@lincoln.example"));
        for bad in [
            r#"{"os_user":"ana","email":"ana at lincoln"}"#,
            r#"{"os_user":"ana"}"#,
        ] {
            let d = detail(bad, Some("B-12"));
            assert_eq!(requestor(&d), None, "{bad}");
            let text = body(&d);
            assert!(text.contains("account ana"), "{text}");
            assert!(text.contains("B-12"), "{text}");
        }
    }
}
