//! Device credentials: `DATA_DIR/enrollment.json` (mode 0600 on Unix, written
//! atomically through a temporary file and a rename).

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::StoreError;

/// File name of the credentials inside the data directory.
pub const ENROLLMENT_FILE: &str = "enrollment.json";

/// What enrollment gave this device. After enrolling, every command needs
/// nothing but the data directory.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub server_url: String,
    pub device_id: Uuid,
    pub device_secret: String,
    #[serde(default)]
    pub school: Option<String>,
    #[serde(default)]
    pub building: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub enrolled_at: OffsetDateTime,
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrollment")
            .field("server_url", &self.server_url)
            .field("device_id", &self.device_id)
            .field("device_secret", &"<redacted>")
            .field("school", &self.school)
            .field("building", &self.building)
            .field("enrolled_at", &self.enrolled_at)
            .finish()
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Enrollment {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(ENROLLMENT_FILE)
    }

    /// The saved credentials, or `None` when this data directory was never enrolled.
    pub fn load(data_dir: &Path) -> Result<Option<Enrollment>, StoreError> {
        let path = Self::path(data_dir);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Saves atomically, replacing earlier credentials; readable by the owner only.
    pub fn save(&self, data_dir: &Path) -> Result<(), StoreError> {
        let path = Self::path(data_dir);
        let tmp = data_dir.join(format!(".{ENROLLMENT_FILE}.{}.tmp", std::process::id()));
        let json = serde_json::to_vec_pretty(self)?;
        {
            let mut f = crate::private::file_options()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)
                .map_err(io_err(&tmp))?;
            f.write_all(&json).map_err(io_err(&tmp))?;
            f.sync_all().map_err(io_err(&tmp))?;
        }
        std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_replace_and_redact() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(Enrollment::load(dir.path()).expect("load"), None);
        let mut e = Enrollment {
            server_url: "https://help.example".into(),
            device_id: Uuid::now_v7(),
            device_secret: "s3cret".into(),
            school: Some("Lincoln".into()),
            building: None,
            enrolled_at: OffsetDateTime::UNIX_EPOCH,
        };
        e.save(dir.path()).expect("save");
        assert_eq!(Enrollment::load(dir.path()).expect("load"), Some(e.clone()));
        e.device_secret = "other".into();
        e.save(dir.path()).expect("save again");
        assert_eq!(
            Enrollment::load(dir.path())
                .expect("load")
                .map(|x| x.device_secret),
            Some("other".to_owned())
        );
        assert!(!format!("{e:?}").contains("other"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(Enrollment::path(dir.path()))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }
}
