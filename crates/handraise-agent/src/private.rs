//! The agent's files are the user's alone: the data directory is created 0700
//! and the database and credentials are 0600 (on Unix). On Windows a new data
//! directory's inherited access is replaced by the user, SYSTEM and Administrators,
//! inherited by every file inside (`icacls`); the default, under `%LOCALAPPDATA%`,
//! is private to the user already.

use std::fs::{DirBuilder, OpenOptions};
use std::io;
use std::path::Path;

/// Creates `dir` (and missing parents, with default modes) readable by the
/// owner only; a directory that already exists is left as it is.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let builder = DirBuilder::new();
    #[cfg(unix)]
    let builder = {
        use std::os::unix::fs::DirBuilderExt;
        let mut builder = builder;
        builder.mode(0o700);
        builder
    };
    match builder.create(dir) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
        Ok(()) => {
            #[cfg(windows)]
            if let Err(e) = windows_owner_only(dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "data directory keeps its inherited access");
            }
            Ok(())
        }
    }
}

/// Windows: `dir`'s inherited access replaced by full control for the user, SYSTEM and
/// Administrators, inherited by what is created inside.
#[cfg(windows)]
fn windows_owner_only(dir: &Path) -> io::Result<()> {
    let user = match (std::env::var("USERDOMAIN"), std::env::var("USERNAME")) {
        (Ok(d), Ok(u)) if !d.is_empty() && !u.is_empty() => format!("{d}\\{u}"),
        (_, Ok(u)) if !u.is_empty() => u,
        _ => return Err(io::Error::other("USERNAME is not set")),
    };
    let mut cmd = std::process::Command::new("icacls");
    cmd.arg(dir)
        .args(["/inheritance:r", "/grant:r"])
        .arg(format!("{user}:(OI)(CI)F"))
        .args([
            "/grant:r",
            "*S-1-5-18:(OI)(CI)F",
            "/grant:r",
            "*S-1-5-32-544:(OI)(CI)F",
            "/q",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let status = crate::windowless::windowless(&mut cmd).status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("icacls exited with {status}")))
    }
}

/// Options that create a file readable and writable by the owner only.
pub fn file_options() -> OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut opts = OpenOptions::new();
        opts.mode(0o600);
        opts
    }
    #[cfg(not(unix))]
    OpenOptions::new()
}

/// Makes sure `path` exists and is readable and writable by the owner only
/// (an existing file is narrowed to that too).
pub fn create_file(path: &Path) -> io::Result<()> {
    let file = file_options()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    drop(file);
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).expect("meta").permissions().mode() & 0o777
    }

    #[test]
    fn directory_and_file_are_the_owners_alone() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("a/data");
        create_dir(&dir).expect("dir");
        assert_eq!(mode(&dir), 0o700);
        create_dir(&dir).expect("again");
        let file = dir.join("f.db");
        std::fs::write(&file, b"x").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        create_file(&file).expect("file");
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read(&file).expect("read"), b"x");
    }
}
