//! PostgreSQL for tests: when `HANDRAISE_TEST_POSTGRES` holds the admin URL of
//! a running server (a throwaway cluster that `cargo xtask test` starts), each
//! test gets a fresh database of its own on it; without it, tests use SQLite.

use anyhow::{Context, Result, bail};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The variable naming the admin URL (`postgres://postgres@127.0.0.1:PORT/postgres`).
pub const TEST_POSTGRES_ENV: &str = "HANDRAISE_TEST_POSTGRES";

/// The admin URL tests run against, when set.
pub fn admin_url() -> Option<String> {
    std::env::var(TEST_POSTGRES_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// A fresh, empty database on the test server and its URL; `None` when
/// tests run on SQLite.
pub fn test_database() -> Result<Option<String>> {
    let Some(admin) = admin_url() else {
        return Ok(None);
    };
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "hr_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let out = Command::new("psql")
        .arg(&admin)
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c"])
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .context("running psql (install postgresql-client)")?;
    if !out.status.success() {
        bail!(
            "creating the test database {name}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(Some(with_database(&admin, &name)?))
}

/// `url` with its database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> Result<String> {
    let scheme_end = url.find("://").context("a postgres:// URL")? + 3;
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    Ok(format!("{base}/{name}{query}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_of_a_url_is_replaced() -> Result<()> {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x")?,
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h:1/db?sslmode=disable", "y")?,
            "postgres://u:p@h:1/y?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "z")?, "postgres://h/z");
        Ok(())
    }
}
