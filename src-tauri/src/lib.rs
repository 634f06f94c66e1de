//! HandRaise tray app. Placeholder: the Tauri 2 shell arrives with the tray app
//! issue; until then `handraise-agent` is the only client.
