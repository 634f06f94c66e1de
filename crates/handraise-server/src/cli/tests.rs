//! Tests of the command line's own logic (the commands run the service layer).

use super::*;
use handraise_server::service::intake;
use handraise_server::store::{
    AdminStore, DeviceStore, NewDevice, NewEnrollToken, NewEnrollment, TicketStore,
};

#[test]
fn tickets_list_pages_and_json_reads_every_ticket_a_page_at_a_time() -> anyhow::Result<()> {
    let store = handraise_testkit::router::test_store();
    let now = now_utc();
    store.create_enroll_token(&NewEnrollToken::new("token", "test"), now)?;
    let device = uuid::Uuid::now_v7();
    let new = NewDevice::new(device, "secret".into(), "pc".into(), now);
    let enrolled = store.enroll_device("token", None, &mut |_| {
        Ok(NewEnrollment {
            device: new.clone(),
            previous_device: None,
        })
    })?;
    assert!(enrolled.is_ok(), "{enrolled:?}");
    for i in 0..450 {
        let t = serde_json::from_value(serde_json::json!({
            "client_id": uuid::Uuid::now_v7(), "created_at": "2026-03-02T08:00:00Z",
            "category": "printer", "summary": format!("t{i}")
        }))?;
        store.insert_ticket(&intake::new_ticket(device, t, now)?)?;
    }
    let numbers = |t: &[TicketDetail]| t.iter().map(|d| d.ticket.number).collect::<Vec<_>>();
    // --json: every ticket, oldest first, across the 200-ticket reads.
    let all = tickets_to_list(&store, 50, None)?;
    assert_eq!(numbers(&all), (1..=450).collect::<Vec<i64>>());
    // A page: newest first.
    let page = tickets_to_list(&store, 200, Some(2))?;
    assert_eq!(numbers(&page), (51..=250).rev().collect::<Vec<i64>>());
    assert_eq!(tickets_to_list(&store, 50, Some(10))?.len(), 0);
    assert!(tickets_to_list(&store, 500, Some(1)).is_err());
    Ok(())
}

#[test]
fn database_is_a_global_flag_and_described_without_its_password() -> anyhow::Result<()> {
    let url = "postgres://hr:hunter2@db.example.org/district";
    for args in [
        ["handraise-server", "--database", url, "tickets", "list"],
        ["handraise-server", "tickets", "list", "--database", url],
    ] {
        let cli = Cli::try_parse_from(args)?;
        assert_eq!(cli.database.as_deref(), Some(url));
    }
    let dir = tempfile::tempdir()?;
    let at = Location::resolve(Some(dir.path().to_owned()), None)?;
    assert_eq!(
        describe(&at),
        format!("data directory {}", dir.path().display())
    );
    let at = at.with_database(Some(url.parse()?));
    let said = describe(&at);
    assert!(
        said.starts_with("database postgres://hr:***@db.example.org/district"),
        "{said}"
    );
    assert!(!said.contains("hunter2"), "{said}");
    Ok(())
}
