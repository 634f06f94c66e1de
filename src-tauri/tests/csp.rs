//! The tray window's content security policy: a script that got in could neither point
//! relative addresses elsewhere (`base-uri`) nor post a form off the machine
//! (`form-action`); the UI's forms are handled in script and never submit.

/// The directives of the CSP in `tauri.conf.json`, as (name, sources).
fn directives() -> Vec<(String, String)> {
    let conf = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tauri.conf.json"))
        .expect("tauri.conf.json");
    let conf: serde_json::Value = serde_json::from_str(&conf).expect("tauri.conf.json is JSON");
    let csp = conf["app"]["security"]["csp"]
        .as_str()
        .expect("app.security.csp is a string");
    csp.split(';')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| match d.split_once(' ') {
            Some((name, sources)) => (name.to_owned(), sources.trim().to_owned()),
            None => (d.to_owned(), String::new()),
        })
        .collect()
}

#[test]
fn the_tray_csp_allows_no_base_no_form_posts_and_no_plugins() {
    let found = directives();
    for (name, want) in [
        ("default-src", "'self'"),
        ("script-src", "'self'"),
        ("base-uri", "'none'"),
        ("form-action", "'none'"),
        ("object-src", "'none'"),
    ] {
        let got: Vec<&str> = found
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, s)| s.as_str())
            .collect();
        assert_eq!(got, [want], "{name} in {found:?}");
    }
}
