//! Where a server's files are (its data directory and its configuration
//! file) and which database a command was told to use (`--database`): the
//! configuration a command reads, and the file `init` writes.

use super::{Config, ConfigError, DatabaseUrl};
use std::path::{Path, PathBuf};

/// Where a server's files are: its data directory and its configuration,
/// and the database given on the command line, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub data_dir: PathBuf,
    pub config_file: PathBuf,
    /// `--database`: wins over the file's `database_url` and the environment.
    pub database: Option<DatabaseUrl>,
}

/// What `init` did to the configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigWrite {
    /// There was none: the default one was written.
    Wrote,
    /// There was one and it stays as it was.
    Kept,
    /// There was one without `database_url`: the key was added to it.
    AddedDatabase,
}

/// The comment at the top of the configuration file `init` writes.
const HEADER: &str = "# HandRaise district server configuration. Every key is optional.\n\
     # Environment variables HANDRAISE_SERVER_<KEY> (upper case) override it.\n\
     # For HTTPS without a proxy: tls_cert = \"cert.pem\" and tls_key = \"key.pem\"\n\
     # (PEM; relative to the data directory; reloaded on SIGHUP).\n";

impl Location {
    /// The configuration file is `config_file` when given (`--config`), else
    /// `DATA_DIR/config.toml`; the data directory is `data_dir` when given,
    /// else the `data_dir` key of that file.
    pub fn resolve(
        data_dir: Option<PathBuf>,
        config_file: Option<PathBuf>,
    ) -> Result<Self, ConfigError> {
        match (data_dir, config_file) {
            (Some(data_dir), None) => Ok(Self {
                config_file: Config::path(&data_dir),
                data_dir,
                database: None,
            }),
            (given, Some(config_file)) => {
                let data_dir = match given {
                    Some(dir) => dir,
                    None => Config::read_file(&config_file)?
                        .data_dir
                        .ok_or_else(|| ConfigError::NoDataDir(Some(config_file.clone())))?,
                };
                Ok(Self {
                    data_dir,
                    config_file,
                    database: None,
                })
            }
            (None, None) => Err(ConfigError::NoDataDir(None)),
        }
    }

    /// This location with the database of `--database`, when given.
    pub fn with_database(self, database: Option<DatabaseUrl>) -> Self {
        Self { database, ..self }
    }

    /// The configuration: the file (defaults when it is absent), then the
    /// environment, then `--database`.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let mut config = Config::read_file(&self.config_file)?;
        config.apply_env(|name| std::env::var(name).ok())?;
        if let Some(database) = &self.database {
            config.database_url = database.clone();
        }
        Ok(config)
    }

    /// `init`'s configuration file. Without one, the default configuration
    /// (naming the data directory when the file is kept outside it, and the
    /// `--database` given). With one, nothing of it is overwritten: a
    /// `--database` it lacks is added to it, one that differs from its
    /// `database_url` is refused.
    pub fn write_default_config(&self) -> Result<ConfigWrite, ConfigError> {
        let path = &self.config_file;
        if path.exists() {
            return self.add_database();
        }
        let outside = self.config_file != Config::path(&self.data_dir);
        let config = Config {
            data_dir: outside.then(|| self.data_dir.clone()),
            database_url: self.database.clone().unwrap_or_default(),
            ..Config::default()
        };
        let text = format!("{HEADER}{}", toml::to_string_pretty(&config)?);
        write_config(path, &text, &config.database_url)?;
        Ok(ConfigWrite::Wrote)
    }

    /// Adds `database_url` (from `--database`) to the existing file when it
    /// has none, as the first setting after its opening comment (a key after
    /// a `[table]` header would belong to that table).
    fn add_database(&self) -> Result<ConfigWrite, ConfigError> {
        let path = &self.config_file;
        let Some(database) = &self.database else {
            return Ok(ConfigWrite::Kept);
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::parse(path, &e))?;
        if table.contains_key("database_url") {
            let current = Config::read_file(path)?.database_url;
            if &current == database {
                return Ok(ConfigWrite::Kept);
            }
            return Err(ConfigError::Invalid(format!(
                "{} already sets database_url = {current:?}, not {database}: edit the file, or \
                 run init without --database",
                path.display()
            )));
        }
        if *database == DatabaseUrl::Sqlite {
            // The default: nothing to write.
            return Ok(ConfigWrite::Kept);
        }
        let line = format!(
            "database_url = {}\n",
            toml::Value::String(database.postgres_url().unwrap_or_default().to_owned())
        );
        let comment_end = text
            .split_inclusive('\n')
            .take_while(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
            .map(str::len)
            .sum::<usize>();
        let mut joined = text[..comment_end].to_owned();
        if !joined.is_empty() && !joined.ends_with('\n') {
            joined.push('\n');
        }
        joined.push_str(&line);
        joined.push_str(&text[comment_end..]);
        write_config(path, &joined, database)?;
        Ok(ConfigWrite::AddedDatabase)
    }
}

/// Writes the configuration file; owner-only (on Unix) when its database URL
/// holds a password.
fn write_config(path: &Path, text: &str, database: &DatabaseUrl) -> Result<(), ConfigError> {
    let failed = |source| ConfigError::Write {
        path: path.to_owned(),
        source,
    };
    let secret = database
        .split_password()
        .is_some_and(|(_, password)| password.is_some());
    std::fs::write(path, text).map_err(failed)?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(failed)?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn postgres(url: &str) -> DatabaseUrl {
        DatabaseUrl::Postgres(url.into())
    }

    #[test]
    fn init_with_a_database_writes_it_and_later_commands_read_it()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let url = postgres("postgres://hr:pa\"ss@127.0.0.1:5432/district");
        let at = |database| {
            Location::resolve(Some(dir.path().to_owned()), None).map(|l| l.with_database(database))
        };
        assert_eq!(
            at(Some(url.clone()))?.write_default_config()?,
            ConfigWrite::Wrote
        );
        // Without the flag, the file's choice.
        assert_eq!(at(None)?.config()?.database_url, url);
        // The flag wins over the file.
        assert_eq!(
            at(Some(DatabaseUrl::Sqlite))?.config()?.database_url,
            DatabaseUrl::Sqlite
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(Config::path(dir.path()))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "a password in it: owner-only");
        }
        // The same again changes nothing; another database is refused.
        assert_eq!(
            at(Some(url.clone()))?.write_default_config()?,
            ConfigWrite::Kept
        );
        let other = postgres("postgres://hr:hunter2@10.0.0.9/other");
        let err = at(Some(other))?
            .write_default_config()
            .expect_err("another database")
            .to_string();
        assert!(err.contains("already sets database_url"), "{err}");
        assert!(!err.contains("hunter2") && !err.contains("pa\"ss"), "{err}");
        Ok(())
    }

    #[test]
    fn a_database_is_added_to_an_existing_file_keeping_its_settings()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = Config::path(dir.path());
        let before = "# ours\n\nlisten = \"0.0.0.0:9\"\n\n[oidc]\nissuer = \"https://idp\"\n";
        std::fs::write(&file, before)?;
        let url = postgres("postgresql://hr@db/district");
        let here = Location::resolve(Some(dir.path().to_owned()), None)?;
        let with = here.clone().with_database(Some(url.clone()));
        assert_eq!(with.write_default_config()?, ConfigWrite::AddedDatabase);
        let text = std::fs::read_to_string(&file)?;
        assert_eq!(
            text,
            "# ours\n\ndatabase_url = \"postgresql://hr@db/district\"\nlisten = \"0.0.0.0:9\"\n\n\
             [oidc]\nissuer = \"https://idp\"\n"
        );
        let table: toml::Table = toml::from_str(&text)?;
        assert_eq!(
            table.get("database_url").and_then(|v| v.as_str()),
            url.postgres_url()
        );
        assert!(table.contains_key("listen") && table.contains_key("oidc"));
        assert!(
            !table["oidc"]
                .as_table()
                .is_some_and(|t| t.contains_key("database_url"))
        );
        // Without --database, or with the default, the file is kept as it is.
        std::fs::write(&file, before)?;
        assert_eq!(here.write_default_config()?, ConfigWrite::Kept);
        let sqlite = here.with_database(Some(DatabaseUrl::Sqlite));
        assert_eq!(sqlite.write_default_config()?, ConfigWrite::Kept);
        assert_eq!(std::fs::read_to_string(&file)?, before);
        Ok(())
    }
}
