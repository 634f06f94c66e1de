//! The computer's stable identifier, sent at enrollment so the server can tell a
//! computer enrolling again (and refuse one whose device an admin revoked). It is the
//! hex SHA-256 of a HandRaise prefix and the OS machine id: the raw id never leaves the
//! machine, and the value means nothing to other software.
//!
//! The OS machine id is `/etc/machine-id` (else `/var/lib/dbus/machine-id`) on Linux and
//! the `MachineGuid` registry value on Windows; elsewhere none is sent. Tests point
//! [`MACHINE_ID_FILE_ENV`] at a file of their own to be a computer of their choice; the
//! agent reads that variable for nothing else.

use sha2::{Digest, Sha256};
use std::path::Path;

/// Names a file to read the machine id from instead of the OS's (for tests).
pub const MACHINE_ID_FILE_ENV: &str = "HANDRAISE_MACHINE_ID_FILE";

/// Hashed before it is sent, so the value is HandRaise's own.
const PREFIX: &str = "handraise-machine-id:v1:";

/// The hashed machine id of this computer, when the OS has one.
pub fn machine_id() -> Option<String> {
    raw_machine_id().map(|raw| hash(&raw))
}

/// The hex SHA-256 of the prefix and `raw` (trimmed).
pub fn hash(raw: &str) -> String {
    Sha256::digest(format!("{PREFIX}{}", raw.trim()).as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn raw_machine_id() -> Option<String> {
    if let Some(file) = std::env::var_os(MACHINE_ID_FILE_ENV) {
        return read_id(Path::new(&file));
    }
    if cfg!(windows) {
        return windows_machine_guid();
    }
    ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .find_map(|p| read_id(Path::new(p)))
}

/// The first line of `path`, when it is not blank.
fn read_id(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let id = text.lines().next()?.trim();
    (!id.is_empty()).then(|| id.to_owned())
}

/// `MachineGuid` under `HKLM\SOFTWARE\Microsoft\Cryptography` (read through the registry
/// API: no `reg.exe`, so the tray app opens no console window for it).
#[cfg(windows)]
fn windows_machine_guid() -> Option<String> {
    windows_registry::LOCAL_MACHINE
        .open(r"SOFTWARE\Microsoft\Cryptography")
        .and_then(|key| key.get_string("MachineGuid"))
        .ok()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
}

#[cfg(not(windows))]
fn windows_machine_guid() -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_hashed_with_a_prefix_and_read_from_the_first_line() {
        let h = hash("abc123\n");
        assert_eq!(h, hash("abc123"));
        assert_eq!(h.len(), handraise_wire::MACHINE_ID_HEX_CHARS);
        assert!(!h.contains("abc123"));
        // Not the bare SHA-256 of the id: another program's hash of it does not match.
        assert_ne!(
            h,
            "6ca13d52ca70c883e0f0bb101e425a89e8624de51db2d2392593af6a84118090"
        );
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("machine-id");
        std::fs::write(&file, "  \n").expect("write");
        assert_eq!(read_id(&file), None);
        std::fs::write(&file, "0123abcd\nrest\n").expect("write");
        assert_eq!(read_id(&file).as_deref(), Some("0123abcd"));
        assert_eq!(read_id(&dir.path().join("missing")), None);
    }
}
