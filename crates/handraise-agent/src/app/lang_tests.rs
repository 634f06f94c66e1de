//! The agent speaks the teacher's language: facts as keys the UI catalogues label, the tray
//! and notifications from the Rust catalogues; and both UI catalogues have every fact label
//! and phrase the agent sends.

use super::tests::{local, msg, snapshot};
use super::*;
use crate::config::Config;
use crate::i18n::{fill, placeholders};
use handraise_wire::{
    AnnouncementKind, Author, Battery, Cpu, DeviceSnapshot, DirectoryJoin, Display, JoinKind,
    ProcessInfo, Reachability, TicketStatus, Wifi,
};
use std::collections::HashMap;
use time::OffsetDateTime;
use time::macros::datetime;

/// A UI message catalogue (`ui/src/lib/i18n/<lang>.ts`), read as the key/text lines it is
/// made of, and the facts rendered with it the way the windows do.
pub(super) struct Catalogue(HashMap<String, String>);

impl Catalogue {
    pub(super) fn read(lang: Lang) -> Catalogue {
        let path = format!(
            "{}/../../ui/src/lib/i18n/{}.ts",
            env!("CARGO_MANIFEST_DIR"),
            lang.code()
        );
        let text = std::fs::read_to_string(&path).expect("the UI catalogue is readable");
        let entries = text.lines().filter_map(|line| {
            let rest = line.trim().strip_prefix('"')?;
            let (key, value) = rest.split_once("\": \"")?;
            let value = value.trim_end().strip_suffix(',')?.strip_suffix('"')?;
            Some((key.to_owned(), value.replace("\\\"", "\"")))
        });
        Catalogue(entries.collect())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub(super) fn label(&self, f: &FactItem) -> String {
        let key = format!("fact.{}", f.key.as_str());
        self.get(&key).unwrap_or(&key).to_owned()
    }

    /// The value as the windows show it (numbers plainly: the tests use whole ones).
    pub(super) fn value(&self, f: &FactItem) -> String {
        let parts = f.parts.iter().map(|p| {
            let args: Vec<(&str, String)> = p
                .args
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        FactArg::Number(n) => n.to_string(),
                        FactArg::Text(t) => t.clone(),
                    };
                    (*k, v)
                })
                .collect();
            let args: Vec<(&str, &dyn std::fmt::Display)> = args
                .iter()
                .map(|(k, v)| (*k, v as &dyn std::fmt::Display))
                .collect();
            fill(self.get(p.phrase.as_str()).unwrap_or("?"), &args)
        });
        parts.collect::<Vec<_>>().join("; ")
    }
}

#[test]
fn both_ui_catalogues_label_every_fact_and_phrase_the_agent_sends() {
    for lang in Lang::ALL {
        let c = Catalogue::read(lang);
        assert!(c.0.len() > 100, "{lang:?}: the catalogue was read");
        for key in FactKey::ALL {
            let label = format!("fact.{}", key.as_str());
            let text = c.get(&label).unwrap_or_default();
            assert!(!text.trim().is_empty(), "{lang:?}: no label {label}");
            assert!(placeholders(text).is_empty(), "{lang:?}: {label}");
        }
        for phrase in FactPhrase::ALL {
            let text = c.get(phrase.as_str());
            assert!(text.is_some(), "{lang:?}: no phrase {}", phrase.as_str());
            let mut params = phrase.params().to_vec();
            params.sort_unstable();
            assert_eq!(
                placeholders(text.unwrap_or_default()),
                params,
                "{lang:?}: the placeholders of {}",
                phrase.as_str()
            );
        }
    }
}

#[test]
fn both_ui_catalogues_word_every_enrollment_refusal() {
    // The setup window words an error by its IPC code; a refused enrollment's code is the
    // server's (`token_expired`, `machine_revoked`, …).
    for lang in Lang::ALL {
        let c = Catalogue::read(lang);
        for refusal in handraise_wire::EnrollRefusal::ALL {
            let code = IpcError::from(AgentError::EnrollRefused(*refusal)).code;
            let key = format!("setup.code.{code}");
            assert!(c.get(&key).is_some(), "{lang:?} lacks {key}");
        }
    }
}

/// A computer with every fact, in the other shapes than [`snapshot`]'s.
fn everything() -> DeviceSnapshot {
    DeviceSnapshot {
        manufacturer: Some("Dell".into()),
        model: Some("Latitude 3420".into()),
        serial: Some("ABC123".into()),
        cpu: Some(Cpu {
            model: Some("Intel i5".into()),
            cores: Some(4),
            load_1m: None,
        }),
        dns_servers: vec!["10.0.0.53".into()],
        wifi: Some(Wifi {
            interface: Some("Wi-Fi".into()),
            ssid: Some("Aula 12".into()),
            signal_percent: Some(87),
            band: Some("5 GHz".into()),
        }),
        directory: Some(DirectoryJoin {
            kind: JoinKind::Hybrid,
            domain: Some("district.local".into()),
            tenant_id: Some("0e0adb39-f83f-4576-9102-db1b902ca108".into()),
            tenant_name: Some("Lincoln Schools".into()),
        }),
        server_reachability: Some(Reachability {
            reachable: true,
            latency_ms: Some(12),
            error: None,
        }),
        battery: Some(Battery {
            charge_percent: Some(80.4),
            health_percent: Some(91.0),
            charging: Some(true),
        }),
        displays: vec![Display {
            name: None,
            width: 1920,
            height: 1080,
        }],
        printers: vec!["Room 12".into()],
        top_processes: vec![ProcessInfo {
            name: "chrome".into(),
            cpu_percent: 30.0,
            memory_bytes: 1,
        }],
        clock_skew_secs: Some(120),
        uptime_secs: Some(3 * 24 * 3600),
        ..snapshot()
    }
}

fn rendered(s: &DeviceSnapshot, lang: Lang) -> Vec<(String, String)> {
    let c = Catalogue::read(lang);
    fact_items(s)
        .iter()
        .map(|f| (c.label(f), c.value(f)))
        .collect()
}

#[test]
fn facts_in_spanish_and_english() {
    let es = rendered(&everything(), Lang::Es);
    let want_es = [
        ("Nombre del equipo", "LAB-12"),
        ("Sistema", "Debian GNU/Linux 12"),
        ("Modelo", "Dell Latitude 3420 (n.º de serie ABC123)"),
        ("Procesador", "Intel i5, 4 núcleos"),
        ("Memoria", "3 GB de 8 GB en uso"),
        ("Espacio en disco", "/: 12 GB libres de 128 GB"),
        (
            "Red",
            "wlan0 192.168.1.23; puerta de enlace 192.168.1.1; servidores DNS 10.0.0.53",
        ),
        ("Red Wi-Fi", "Aula 12 (señal 87 %); 5 GHz"),
        (
            "Unido a",
            "dominio district.local y Microsoft Entra (Lincoln Schools)",
        ),
        (
            "Conexión con el servicio de soporte",
            "Se contactó con el servicio de soporte en 12 ms",
        ),
        ("Batería", "Cargada al 80 %, estado 91 %"),
        ("Pantallas", "1920×1080"),
        ("Impresoras", "Room 12"),
        ("Programas que más recursos usan", "chrome"),
        (
            "Zona horaria",
            "America/Chicago (el reloj va 2 min adelantado)",
        ),
        ("Encendido desde hace", "3 días"),
    ];
    let want_es: Vec<(String, String)> = want_es
        .iter()
        .map(|(l, v)| (l.to_string(), v.to_string()))
        .collect();
    assert_eq!(es, want_es);
    let en = rendered(&everything(), Lang::En);
    assert_eq!(en[2].1, "Dell Latitude 3420 (serial ABC123)");
    assert_eq!(
        en[7],
        ("Wi-Fi".into(), "Aula 12 (signal 87%); 5 GHz".into())
    );
    assert_eq!(
        en[8],
        (
            "Joined to".into(),
            "domain district.local and Microsoft Entra (Lincoln Schools)".into()
        )
    );
    assert_eq!(en[10], ("Battery".into(), "80% charged, health 91%".into()));
    assert_eq!(en[15], ("Running for".into(), "3 days".into()));
}

#[test]
fn facts_with_words_only_are_words_in_both_languages() {
    let mut s = DeviceSnapshot {
        serial: Some("XYZ".into()),
        cpu: Some(Cpu {
            model: None,
            cores: None,
            load_1m: None,
        }),
        server_reachability: Some(Reachability {
            reachable: false,
            latency_ms: None,
            error: Some("refused".into()),
        }),
        battery: Some(Battery {
            charge_percent: None,
            health_percent: Some(70.0),
            charging: None,
        }),
        wifi: Some(Wifi {
            interface: Some("Wi-Fi".into()),
            ..Default::default()
        }),
        directory: Some(DirectoryJoin {
            kind: JoinKind::Workgroup,
            ..Default::default()
        }),
        clock_skew_secs: Some(-180),
        uptime_secs: Some(5 * 3600),
        ..Default::default()
    };
    let values = |s: &DeviceSnapshot, lang| {
        rendered(s, lang)
            .into_iter()
            .map(|(_, v)| v)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        values(&s, Lang::En),
        [
            "Serial XYZ",
            "unknown",
            "Not connected",
            "No domain (workgroup)",
            "Could not reach the help desk",
            "health 70%",
            "Clock 3 min slow",
            "5 hours"
        ]
    );
    assert_eq!(
        values(&s, Lang::Es),
        [
            "N.º de serie XYZ",
            "desconocido",
            "Sin conexión",
            "Ningún dominio (grupo de trabajo)",
            "No se pudo contactar con el servicio de soporte",
            "estado 70 %",
            "El reloj va 3 min atrasado",
            "5 horas"
        ]
    );
    s.cpu = Some(Cpu {
        model: None,
        cores: Some(2),
        load_1m: None,
    });
    s.server_reachability = Some(Reachability {
        reachable: true,
        latency_ms: None,
        error: None,
    });
    s.battery = Some(Battery {
        charge_percent: Some(5.0),
        health_percent: None,
        charging: None,
    });
    s.clock_skew_secs = Some(60);
    s.time_zone = Some("Europe/Madrid".into());
    s.wifi = Some(Wifi {
        signal_percent: Some(40),
        ..Default::default()
    });
    s.directory = Some(DirectoryJoin {
        kind: JoinKind::Entra,
        tenant_id: Some("0e0adb39".into()),
        ..Default::default()
    });
    assert_eq!(
        values(&s, Lang::Es)[1..4],
        [
            "desconocido, 2 núcleos",
            "Conectado, señal 40 %",
            "Microsoft Entra (0e0adb39)",
        ]
    );
    s.wifi = None;
    s.directory = None;
    assert_eq!(
        values(&s, Lang::Es)[1..5],
        [
            "desconocido, 2 núcleos",
            "Se contactó con el servicio de soporte",
            "Cargada al 5 %",
            "Europe/Madrid (el reloj va 1 min adelantado)"
        ]
    );
}

#[test]
fn facts_travel_as_keys_and_values_not_words() {
    let json = serde_json::to_value(fact_items(&snapshot())).expect("serialises");
    assert_eq!(
        json[2],
        serde_json::json!({
            "key": "memory",
            "parts": [{ "phrase": "fact.memory.used", "args": { "total": 8.0, "used": 3.0 } }]
        })
    );
    assert_eq!(
        json[0],
        serde_json::json!({
            "key": "computer",
            "parts": [{ "phrase": "fact.value", "args": { "value": "LAB-12" } }]
        })
    );
}

fn status(locale: Option<&str>) -> AppStatus {
    AppStatus {
        enrolled: true,
        server_url: Some("https://help.example".into()),
        online: false,
        offline_since: Some("2026-11-28T09:00:00Z".into()),
        queued_count: 2,
        unread_count: 1,
        paused_reason: None,
        teacher_name: None,
        room: None,
        school: None,
        building: None,
        announcements: vec![AnnouncementView {
            id: 1,
            kind: AnnouncementKind::Outage,
            title: "Wi-Fi down in B".into(),
            message: String::new(),
            school: None,
            building: None,
            category: None,
            starts_at: "2026-11-28T08:00:00Z".into(),
            ends_at: None,
        }],
        me_too: vec![],
        locale: locale.map(str::to_owned),
        reporter_account: None,
        reporter_email: None,
        email_from_policy: false,
    }
}

#[test]
fn the_tray_speaks_the_chosen_language() {
    let now = datetime!(2026-11-28 09:25 UTC);
    let es = TrayState::of(&status(Some("es")), now);
    assert_eq!(
        es.tooltip,
        "HandRaise — sin conexión desde hace 25 minutos; 2 avisos pendientes de envío; \
         1 solicitud con novedades; problema conocido: Wi-Fi down in B"
    );
    assert_eq!(es.menu.report, "Informar de un problema");
    assert_eq!(es.menu.tickets, "Mis solicitudes (1 nuevas)");
    assert_eq!(es.menu.quit, "Salir de HandRaise");
    let en = TrayState::of(&status(Some("en")), now + time::Duration::hours(3));
    assert_eq!(
        en.tooltip,
        "HandRaise — offline for 3 hours; 2 reports waiting to send; 1 ticket with news; \
         known problem: Wi-Fi down in B"
    );
    assert_eq!(en.menu.tickets, "My tickets (1 new)");
    assert_eq!(en.menu.sync, "Sync now");
    let mut paused = status(Some("es"));
    paused.paused_reason = Some(crate::PAUSED_REASON.into());
    paused.announcements.clear();
    paused.unread_count = 0;
    let t = TrayState::of(&paused, now);
    assert!(
        t.tooltip
            .starts_with("HandRaise — hay que volver a conectar")
    );
    assert_eq!(t.menu.tickets, "Mis solicitudes");
    let mut english = paused.clone();
    english.locale = Some("en".into());
    assert_eq!(
        TrayState::of(&english, now).tooltip,
        format!(
            "HandRaise — {}; 2 reports waiting to send",
            crate::PAUSED_REASON
        ),
        "the same words as before"
    );
}

#[tokio::test]
async fn choosing_spanish_changes_the_tray() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = App::new(crate::Agent::open(Config::with_data_dir(dir.path())).expect("agent"));
    app.set_locale(Some("es".into())).await.expect("spanish");
    assert_eq!(app.lang().await.expect("lang"), Lang::Es);
    let tray = app.tray_state().await.expect("tray");
    assert_eq!(tray.tooltip, "HandRaise — todavía sin configurar");
    assert_eq!(tray.menu.about, "Acerca de este equipo");
    app.set_locale(Some("en".into())).await.expect("english");
    let tray = app.tray_state().await.expect("tray");
    assert_eq!(tray.tooltip, "HandRaise — not set up yet");
    assert_eq!(tray.menu.about, "About this computer");
}

#[test]
fn notifications_in_spanish() {
    let before = local(vec![], Some(TicketStatus::New));
    let mut reply = msg("b", Author::Technician, "Voy para allá");
    reply.author_name = None;
    let after = local(vec![reply], Some(TicketStatus::Resolved));
    let n = notices(Some(&before), &after, Lang::Es);
    let titles: Vec<&str> = n.iter().map(|n| n.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "El servicio de soporte ha respondido en la solicitud n.º 12",
            "La solicitud n.º 12 está resuelta"
        ]
    );
    assert!(n.iter().all(|n| n.open == "Abrir"));
    let mut unnumbered = after.clone();
    unnumbered.number = None;
    let n = notices(Some(&before), &unnumbered, Lang::En);
    assert_eq!(n[0].title, "The help desk replied on your report");
    assert_eq!(n[1].title, "Your report is resolved");
    assert_eq!(n[1].open, "Open");
}

#[test]
fn a_clock_behind_the_last_contact_reads_as_just_now() {
    // The time is given, never read inside; a contact "in the future" is no time ago.
    let s = status(Some("en"));
    let a = TrayState::of(&s, OffsetDateTime::UNIX_EPOCH);
    assert!(
        a.tooltip
            .starts_with("HandRaise — offline for less than a minute")
    );
}
