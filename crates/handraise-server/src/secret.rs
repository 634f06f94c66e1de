//! Random secrets and their SHA-256 hashes: device secrets, technician
//! tokens, enrollment tokens and console sessions are all kept as hashes only.

use sha2::{Digest, Sha256};

/// A new random secret: 32 bytes, hex encoded.
pub fn new_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// SHA-256 of a secret, hex encoded: the only form the store keeps.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares secrets without an early exit.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Errors reading a secret from a file.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{path} may be read by other users (mode {mode:o}); make it 0600")]
    TooOpen { path: std::path::PathBuf, mode: u32 },
    #[error("{path} is empty")]
    Empty { path: std::path::PathBuf },
}

/// The secret in `path` (its first line, trimmed). A file that users other
/// than its owner may read is refused: the secret in it is no longer one.
pub fn read_secret_file(path: &std::path::Path) -> Result<String, SecretFileError> {
    let read = |source| SecretFileError::Read {
        path: path.to_owned(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(read)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(read)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(SecretFileError::TooOpen {
                path: path.to_owned(),
                mode,
            });
        }
    }
    let secret = text.lines().next().unwrap_or("").trim().to_owned();
    if secret.is_empty() {
        return Err(SecretFileError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn secret_files_must_be_the_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").expect("write");
        let chmod = |mode| {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod")
        };
        chmod(0o644);
        let err = read_secret_file(&path).expect_err("others may read it");
        assert!(err.to_string().contains("make it 0600"), "{err}");
        chmod(0o600);
        assert_eq!(read_secret_file(&path).expect("private"), "s3cret");
        std::fs::write(&path, "\n").expect("write");
        assert!(matches!(
            read_secret_file(&path),
            Err(SecretFileError::Empty { .. })
        ));
    }

    #[test]
    fn secrets_are_random_and_hashes_stable() {
        let a = new_secret();
        assert_eq!(a.len(), 64);
        assert_ne!(a, new_secret());
        assert_eq!(hash_secret("x"), hash_secret("x"));
        assert_ne!(hash_secret("x"), "x");
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
