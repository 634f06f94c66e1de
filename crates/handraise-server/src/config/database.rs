//! Which database the server keeps its data in: `database_url` in
//! `config.toml` (`HANDRAISE_SERVER_DATABASE_URL`, `--database`), either
//! `sqlite` (the data directory's `handraise.db`, the default) or a
//! `postgres://…`/`postgresql://…` URL. The password such a URL may carry is
//! never shown: [`DatabaseUrl`]'s `Display` and `Debug` mask it, and
//! [`mask_secrets`] masks it in any text (an error that quotes a line of the
//! configuration file, say).

use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// What stands for a password wherever one would be shown.
pub const MASK: &str = "***";

/// The schemes of a PostgreSQL URL.
const POSTGRES_SCHEMES: [&str; 2] = ["postgres://", "postgresql://"];

/// The database of a server. `Display` and `Debug` mask a password.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `handraise.db` in the data directory.
    #[default]
    Sqlite,
    /// A PostgreSQL database, by its URL (kept as given, password included:
    /// [`DatabaseUrl::postgres_url`] is the one way to read it).
    Postgres(String),
}

/// Why a `database_url` was refused. It never holds the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "database_url must be `sqlite` or a postgres://USER@HOST/DATABASE URL (postgresql:// too), \
     not {0:?}"
)]
pub struct DatabaseUrlError(String);

impl DatabaseUrl {
    /// The URL to connect with, password included, for a PostgreSQL
    /// database; never print it (print the `DatabaseUrl` itself).
    pub fn postgres_url(&self) -> Option<&str> {
        match self {
            Self::Sqlite => None,
            Self::Postgres(url) => Some(url),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    /// The password of a PostgreSQL URL (percent-decoded), and the URL
    /// without it: for a tool that would otherwise show the password on its
    /// command line (`pg_dump`, which reads it from `PGPASSWORD`).
    pub fn split_password(&self) -> Option<(String, Option<String>)> {
        let url = self.postgres_url()?;
        let after_scheme = url.find("://").map_or(0, |n| n + 3);
        let Some((start, end)) = password_span(url, after_scheme, url.len()) else {
            return Some((url.to_owned(), None));
        };
        let password = percent_decode(&url[start..end]);
        // `user:secret@host` becomes `user@host`.
        let without = format!("{}{}", &url[..start - 1], &url[end..]);
        Some((without, Some(password)))
    }
}

impl FromStr for DatabaseUrl {
    type Err = DatabaseUrlError;

    fn from_str(text: &str) -> Result<Self, DatabaseUrlError> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("sqlite") {
            return Ok(Self::Sqlite);
        }
        let scheme = POSTGRES_SCHEMES
            .iter()
            .find(|s| text.len() >= s.len() && text[..s.len()].eq_ignore_ascii_case(s));
        match scheme {
            Some(_) if !text.chars().any(char::is_whitespace) => Ok(Self::Postgres(text.into())),
            _ => Err(DatabaseUrlError(mask_secrets(text))),
        }
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite => f.write_str("sqlite"),
            Self::Postgres(url) => f.write_str(&mask_url(url)),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// In the file the URL is written as given (the file is the operator's).
impl Serialize for DatabaseUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Sqlite => s.serialize_str("sqlite"),
            Self::Postgres(url) => s.serialize_str(url),
        }
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// `text` with the password of every URL in it (`scheme://user:PASSWORD@…`,
/// `?password=…`) and every other `password=` value replaced by [`MASK`].
pub fn mask_secrets(text: &str) -> String {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("://") {
        let start = from + found + 3;
        // In free text a URL ends at white space or a quote.
        let end = text[start..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            .map_or(text.len(), |n| start + n);
        spans.extend(url_secrets(text, start, end));
        from = end;
    }
    // `password=…` outside URLs too (`host=db password=…`).
    spans.extend(password_values(text, 0, text.len(), |c| {
        c.is_whitespace() || c == '"' || c == '\''
    }));
    apply_mask(text, spans)
}

/// The URL `url` with its password masked (the whole of it is the URL,
/// quotes included).
fn mask_url(url: &str) -> String {
    let start = url.find("://").map_or(0, |n| n + 3);
    apply_mask(url, url_secrets(url, start, url.len()))
}

/// The secrets of the URL `text[start..end]` (from just after its `://`):
/// its password and its query's `password=` values.
fn url_secrets(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let mut spans: Vec<_> = password_span(text, start, end).into_iter().collect();
    spans.extend(password_values(text, start, end, |_| false));
    spans
}

/// The values of `password=` in `text[start..end]`, each ending at `&`, at
/// a character `stop` says ends it, or at `end`.
fn password_values(
    text: &str,
    start: usize,
    end: usize,
    stop: impl Fn(char) -> bool,
) -> Vec<(usize, usize)> {
    let lower = text[..end].to_ascii_lowercase();
    let mut spans = Vec::new();
    let mut from = start;
    while let Some(found) = lower[from..].find("password=") {
        let value = from + found + "password=".len();
        let until = text[value..end]
            .find(|c: char| c == '&' || stop(c))
            .map_or(end, |n| value + n);
        if until > value {
            spans.push((value, until));
        }
        from = until.max(value);
    }
    spans
}

/// `text` with each span (start, end) replaced by [`MASK`]; overlapping
/// spans count once.
fn apply_mask(text: &str, mut spans: Vec<(usize, usize)>) -> String {
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in spans {
        if start < at {
            at = at.max(end);
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str(MASK);
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

/// Where the password is in the URL `text[start..end]` (from just after its
/// `://`): the user information runs to the last `@` before the query, and
/// the password follows its first `:`.
fn password_span(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let url = &text[start..end];
    let before_query = url.find(['?', '#']).unwrap_or(url.len());
    let at = url[..before_query].rfind('@')?;
    let colon = url[..at].find(':')?;
    (colon + 1 < at).then_some((start + colon + 1, start + at))
}

/// `%XX` escapes decoded (a URL's password may hold them); anything that is
/// not a valid escape stays as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DatabaseUrl, DatabaseUrlError> {
        text.parse()
    }

    #[test]
    fn sqlite_and_postgres_urls_are_accepted_and_anything_else_refused() {
        assert_eq!(parse("sqlite"), Ok(DatabaseUrl::Sqlite));
        assert_eq!(parse(" SQLite "), Ok(DatabaseUrl::Sqlite));
        assert_eq!(DatabaseUrl::default(), DatabaseUrl::Sqlite);
        for url in [
            "postgres://hr@db.example.org/handraise",
            "postgresql://hr:secret@10.0.0.5:5433/handraise?sslmode=require",
            "postgres:///handraise?host=/run/postgresql",
        ] {
            assert_eq!(parse(url), Ok(DatabaseUrl::Postgres(url.into())), "{url}");
        }
        for bad in [
            "",
            "mysql://root:hunter2@db/handraise",
            "sqlite:/var/lib/handraise",
            "postgres",
            "host=db user=hr password=hunter2",
            "postgres://hr:hunter2@db/x y",
        ] {
            let err = parse(bad).expect_err(bad).to_string();
            assert!(err.contains("must be `sqlite` or a postgres://"), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn a_password_is_never_shown() {
        let url = parse("postgres://hr:s3cr%40t@db.example.org:5432/handraise?sslmode=require")
            .unwrap_or_default();
        for shown in [url.to_string(), format!("{url:?}")] {
            assert!(!shown.contains("s3cr"), "{shown}");
            assert!(
                shown.contains("postgres://hr:***@db.example.org:5432/handraise?sslmode=require"),
                "{shown}"
            );
        }
        // A password with an unescaped `@` or `/` in it, and one in the query.
        assert_eq!(
            mask_secrets("postgres://hr:a/b@c@db/x"),
            "postgres://hr:***@db/x"
        );
        assert_eq!(
            mask_secrets("at postgres://db/x?user=hr&password=hunter2&sslmode=disable now"),
            "at postgres://db/x?user=hr&password=***&sslmode=disable now"
        );
        // In a quoted line of a configuration file, and with no password at all.
        assert_eq!(
            mask_secrets("1 | database_url = \"mysql://root:hunter2@db/h\"\n  |"),
            "1 | database_url = \"mysql://root:***@db/h\"\n  |"
        );
        assert_eq!(
            mask_secrets("postgres://hr@db/x and https://example.org/a:b@c"),
            "postgres://hr@db/x and https://example.org/a:***@c"
        );
        assert_eq!(parse("sqlite").unwrap_or_default().to_string(), "sqlite");
        // A quote in the password does not end the URL.
        let quoted = DatabaseUrl::Postgres("postgres://hr:pa\"ss@db/x".into());
        assert_eq!(quoted.to_string(), "postgres://hr:***@db/x");
        assert_eq!(
            mask_secrets("host=db password=hunter2 user=hr"),
            "host=db password=*** user=hr"
        );
    }

    #[test]
    fn the_password_can_be_taken_out_of_the_url() {
        let url = parse("postgresql://hr:s3cr%40t%2F@db:5432/handraise").unwrap_or_default();
        assert_eq!(
            url.split_password(),
            Some((
                "postgresql://hr@db:5432/handraise".to_owned(),
                Some("s3cr@t/".to_owned())
            ))
        );
        let url = parse("postgres://hr@db/handraise").unwrap_or_default();
        assert_eq!(
            url.split_password(),
            Some(("postgres://hr@db/handraise".to_owned(), None))
        );
        assert_eq!(DatabaseUrl::Sqlite.split_password(), None);
    }
}
