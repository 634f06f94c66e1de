//! PostgreSQL: the async `tokio-postgres` client behind an r2d2 pool. Each
//! connection is driven by a small runtime the store owns, and the store's
//! synchronous calls wait for their statements with a plain executor, so a
//! call works from any thread (Tokio's blocking pool in the server, a test's
//! runtime, a command's `main`). Each connection keeps its prepared
//! statements.
//!
//! Writes are serialised across every node by one transaction-scoped advisory
//! lock, so that a write sees the same world SQLite's single writer gives it:
//! a repeated client id answers with the first receipt even when two nodes
//! receive the repeat at the same instant, and a quota is never passed by a
//! race. Reads take no lock.

use super::conn::{Backend, Row, Sql, Val, corrupt, dollar_placeholders};
use super::pg_tls::{describe_connect_error, pg_connection};
use super::postgres_schema;
use crate::store::{StoreError, StoreResult};
use bytes::BytesMut;
use futures_executor::block_on;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, GenericClient, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The advisory lock every write transaction holds (any fixed number; "HR").
const WRITE_LOCK: i64 = 0x4852_0001;
/// Connections per node. Each is one PostgreSQL backend process.
const POOL_SIZE: u32 = 16;
/// How long a store call waits for a free connection before it fails.
const POOL_WAIT: Duration = Duration::from_secs(30);
/// Statements cached per connection before the cache is cleared.
const STATEMENT_CACHE: usize = 512;

/// The PostgreSQL database of a store.
pub(super) struct PgDb {
    pool: r2d2::Pool<Manager>,
    config: tokio_postgres::Config,
    /// The URL's `sslrootcert`, for the client programs (`pg_dump`).
    root_cert: Option<PathBuf>,
    /// Drives the connections' sockets. Declared last: dropped after the pool.
    _runtime: Driver,
}

/// The runtime of the connections, shut down without waiting when dropped
/// (which may happen on a runtime thread, where waiting is not allowed).
struct Driver(Option<tokio::runtime::Runtime>);

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// One pooled connection and its prepared statements, keyed by the store's SQL.
pub(super) struct PgConn {
    client: Client,
    statements: HashMap<String, Statement>,
}

struct Manager {
    config: tokio_postgres::Config,
    /// TLS as the URL asks (`pg_tls`).
    tls: MakeRustlsConnect,
    runtime: tokio::runtime::Handle,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = StoreError;

    fn connect(&self) -> Result<PgConn, StoreError> {
        let (config, tls) = (self.config.clone(), self.tls.clone());
        let runtime = self.runtime.clone();
        // Connect on the driving runtime (the socket belongs to its reactor),
        // then leave the connection running there.
        let connected = block_on(self.runtime.spawn(async move {
            let (client, connection) = config.connect(tls).await.map_err(|e| {
                StoreError::Database(format!("PostgreSQL: {}", describe_connect_error(&e)))
            })?;
            runtime.spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "a PostgreSQL connection ended");
                }
            });
            Ok::<_, StoreError>(client)
        }));
        let client =
            connected.map_err(|_| StoreError::Database("the store is closing".into()))??;
        Ok(PgConn {
            client,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), StoreError> {
        block_on(conn.client.simple_query(""))?;
        Ok(())
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.client.is_closed()
    }
}

impl PgDb {
    /// Connects to `url` and applies pending migrations (once, even when
    /// several nodes start together). A first connection is made at once, so
    /// that a server that cannot be reached or trusted is reported now, not
    /// after the pool has tried for [`POOL_WAIT`].
    pub(super) fn open(url: &str) -> StoreResult<Self> {
        let (config, tls) =
            pg_connection(url).map_err(|e| StoreError::Database(format!("database URL: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("handraise-postgres")
            .enable_all()
            .build()?;
        let manager = Manager {
            config: config.clone(),
            tls,
            runtime: runtime.handle().clone(),
        };
        drop(r2d2::ManageConnection::connect(&manager)?);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(POOL_WAIT)
            .error_handler(Box::new(r2d2::LoggingErrorHandler))
            .build(manager)
            .map_err(pool_error)?;
        let db = Self {
            pool,
            config,
            root_cert: super::pg_tls::root_cert(url),
            _runtime: Driver(Some(runtime)),
        };
        db.migrate()?;
        Ok(db)
    }

    fn conn(&self) -> StoreResult<r2d2::PooledConnection<Manager>> {
        self.pool.get().map_err(pool_error)
    }

    /// Applies pending migrations; returns how many.
    pub(super) fn migrate(&self) -> StoreResult<usize> {
        let mut conn = self.conn()?;
        postgres_schema::migrate(&mut conn.client)
    }

    /// The schema version (number of applied migrations).
    pub(super) fn schema_version(&self) -> StoreResult<u32> {
        let conn = self.conn()?;
        postgres_schema::version(&conn.client)
    }

    /// Runs `f` in one transaction holding the write lock.
    pub(super) fn write<T>(&self, f: impl FnOnce(&dyn Sql) -> StoreResult<T>) -> StoreResult<T> {
        self.transaction(false, f)
    }

    /// Runs `f` in one read-only transaction over one snapshot.
    pub(super) fn snapshot<T>(&self, f: impl FnOnce(&dyn Sql) -> StoreResult<T>) -> StoreResult<T> {
        self.transaction(true, f)
    }

    /// A write transaction (holding the write lock) or a read-only one
    /// (repeatable read, no lock), committed when `f` succeeds.
    fn transaction<T>(
        &self,
        read_only: bool,
        f: impl FnOnce(&dyn Sql) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.conn()?;
        let PgConn { client, statements } = &mut *conn;
        let mut builder = client.build_transaction();
        if read_only {
            builder = builder
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true);
        }
        let tx = block_on(builder.start())?;
        if !read_only {
            block_on(tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK]))?;
        }
        let out = f(&Pg {
            client: &tx,
            statements: RefCell::new(statements),
            in_transaction: true,
        })?;
        block_on(tx.commit())?;
        Ok(out)
    }

    /// Runs `f` outside any explicit transaction: each statement on its own.
    pub(super) fn read<T>(&self, f: impl FnOnce(&dyn Sql) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self.conn()?;
        let PgConn { client, statements } = &mut *conn;
        f(&Pg {
            client: &*client,
            statements: RefCell::new(statements),
            in_transaction: false,
        })
    }

    /// A consistent copy of the database at `dest`: `pg_dump` in its custom
    /// format (restored with `pg_restore`). The password goes by the
    /// environment, never on a command line others can read.
    pub(super) fn backup(&self, dest: &Path) -> StoreResult<()> {
        let tmp = super::sqlite::partial_path(dest);
        if tmp.exists() {
            std::fs::remove_file(&tmp)?;
        }
        super::sqlite::owner_only_file(&tmp)?;
        let mut cmd = Command::new(client_program("pg_dump"));
        cmd.arg("--format=custom").arg("--file").arg(&tmp);
        connection_args(&self.config, self.root_cert.as_deref(), &mut cmd);
        let out = cmd.output().map_err(|e| {
            StoreError::Database(format!(
                "cannot run pg_dump (install PostgreSQL's client programs): {e}"
            ))
        })?;
        if !out.status.success() {
            let _ = std::fs::remove_file(&tmp);
            return Err(StoreError::Database(format!(
                "pg_dump failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        std::fs::rename(&tmp, dest)?;
        Ok(())
    }
}

/// `program` of PostgreSQL's client programs: the newest of Debian's
/// versioned directories (which hold them all), else the one on `PATH`.
pub fn client_program(program: &str) -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let path = e.path().join("bin").join(program);
            path.exists().then_some((v, path))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map_or_else(|| PathBuf::from(program), |(_, path)| path)
}

/// The connection of `config` as the client programs' options and
/// environment (`PGPASSWORD`, `PGSSLMODE`, `PGSSLROOTCERT`), the first host
/// only. With the URL's `sslrootcert` the programs check what the store
/// checks (libpq's `verify-full`: the chain against that file and the host);
/// without it libpq's `require` checks no certificate (docs/security.md).
pub fn connection_args(
    config: &tokio_postgres::Config,
    root_cert: Option<&Path>,
    cmd: &mut Command,
) {
    let ssl_mode = match (config.get_ssl_mode(), root_cert) {
        (SslMode::Disable, _) => "disable",
        (SslMode::Require, Some(_)) => "verify-full",
        (SslMode::Require, None) => "require",
        _ => "prefer",
    };
    cmd.env("PGSSLMODE", ssl_mode);
    match root_cert {
        Some(path) => cmd.env("PGSSLROOTCERT", path),
        None => cmd.env_remove("PGSSLROOTCERT"),
    };
    match config.get_hosts().first() {
        Some(Host::Tcp(h)) => {
            cmd.arg("--host").arg(h);
        }
        #[cfg(unix)]
        Some(Host::Unix(p)) => {
            cmd.arg("--host").arg(p);
        }
        None => {}
    }
    if let Some(port) = config.get_ports().first() {
        cmd.arg("--port").arg(port.to_string());
    }
    if let Some(user) = config.get_user() {
        cmd.arg("--username").arg(user);
    }
    if let Some(db) = config.get_dbname() {
        cmd.arg("--dbname").arg(db);
    }
    match config.get_password() {
        Some(pw) => cmd.env("PGPASSWORD", String::from_utf8_lossy(pw).into_owned()),
        None => cmd.env_remove("PGPASSWORD"),
    };
    cmd.arg("--no-password");
}

fn pool_error(e: r2d2::Error) -> StoreError {
    StoreError::Database(format!("no PostgreSQL connection: {e}"))
}

/// A PostgreSQL client or transaction as [`Sql`].
struct Pg<'a, C: GenericClient> {
    client: &'a C,
    statements: RefCell<&'a mut HashMap<String, Statement>>,
    in_transaction: bool,
}

impl<C: GenericClient> Pg<'_, C> {
    fn statement(&self, sql: &str) -> StoreResult<Statement> {
        let mut cache = self.statements.borrow_mut();
        if let Some(s) = cache.get(sql) {
            return Ok(s.clone());
        }
        let stmt = block_on(self.client.prepare(&dollar_placeholders(sql)))?;
        if cache.len() >= STATEMENT_CACHE {
            cache.clear();
        }
        cache.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }
}

impl<C: GenericClient> Pg<'_, C> {
    /// Runs `f`; `None` when it broke a constraint. A failed statement aborts
    /// a PostgreSQL transaction, so in one `f` runs inside a savepoint that is
    /// rolled back on failure and the transaction goes on.
    fn unless_constraint<T>(
        &self,
        f: impl FnOnce(&C) -> Result<T, tokio_postgres::Error>,
    ) -> StoreResult<Option<T>> {
        let client = self.client;
        if self.in_transaction {
            block_on(client.batch_execute("SAVEPOINT handraise_try"))?;
        }
        match f(client) {
            Ok(v) => {
                if self.in_transaction {
                    block_on(client.batch_execute("RELEASE SAVEPOINT handraise_try"))?;
                }
                Ok(Some(v))
            }
            Err(e) if is_constraint(&e) => {
                if self.in_transaction {
                    block_on(client.batch_execute("ROLLBACK TO SAVEPOINT handraise_try"))?;
                }
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

fn refs(params: &[Val]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl<C: GenericClient> Sql for Pg<'_, C> {
    fn query(
        &self,
        sql: &str,
        params: &[Val],
        each: &mut dyn FnMut(&Row<'_>) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let stmt = self.statement(sql)?;
        let rows = block_on(self.client.query(&stmt, &refs(params)))?;
        let mut vals = Vec::new();
        for row in &rows {
            vals.clear();
            for (i, col) in row.columns().iter().enumerate() {
                vals.push(val_at(row, i, col.type_())?);
            }
            each(&Row::new(&vals))?;
        }
        Ok(())
    }

    fn exec(&self, sql: &str, params: &[Val]) -> StoreResult<usize> {
        let stmt = self.statement(sql)?;
        Ok(block_on(self.client.execute(&stmt, &refs(params)))? as usize)
    }

    fn try_exec(&self, sql: &str, params: &[Val]) -> StoreResult<Option<usize>> {
        let stmt = self.statement(sql)?;
        self.unless_constraint(|c| block_on(c.execute(&stmt, &refs(params))).map(|n| n as usize))
    }

    fn try_insert_id(&self, sql: &str, params: &[Val]) -> StoreResult<Option<i64>> {
        let stmt = self.statement(sql)?;
        self.unless_constraint(|c| block_on(c.query_one(&stmt, &refs(params)))?.try_get(0))
    }

    fn backend(&self) -> Backend {
        Backend::Postgres
    }
}

/// Whether `e` is a broken integrity constraint (unique, foreign key, check, not null).
fn is_constraint(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::UNIQUE_VIOLATION
            || *c == SqlState::FOREIGN_KEY_VIOLATION
            || *c == SqlState::CHECK_VIOLATION
            || *c == SqlState::NOT_NULL_VIOLATION
    })
}

/// Column `i` of `row` as a value, by its PostgreSQL type.
fn val_at(row: &tokio_postgres::Row, i: usize, ty: &Type) -> StoreResult<Val> {
    fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Val) -> Val {
        v.map_or(Val::Null, f)
    }
    Ok(match *ty {
        Type::INT8 => opt(row.try_get::<_, Option<i64>>(i)?, Val::Int),
        Type::INT4 => opt(row.try_get::<_, Option<i32>>(i)?, |v| Val::Int(v.into())),
        Type::INT2 => opt(row.try_get::<_, Option<i16>>(i)?, |v| Val::Int(v.into())),
        Type::OID => opt(row.try_get::<_, Option<u32>>(i)?, |v| Val::Int(v.into())),
        Type::BOOL => opt(row.try_get::<_, Option<bool>>(i)?, |v| Val::Int(v.into())),
        Type::FLOAT8 => opt(row.try_get::<_, Option<f64>>(i)?, Val::Real),
        Type::FLOAT4 => opt(row.try_get::<_, Option<f32>>(i)?, |v| Val::Real(v.into())),
        Type::BYTEA => opt(row.try_get::<_, Option<Vec<u8>>>(i)?, Val::Blob),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            opt(row.try_get::<_, Option<String>>(i)?, Val::Text)
        }
        ref other => {
            return Err(corrupt(format!(
                "column {i} has PostgreSQL type {other}, which the store does not read \
                 (cast it in the query)"
            )));
        }
    })
}

impl ToSql for Val {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::UNKNOWN => i.to_string().to_sql(ty, out),
                ref other => Err(format!("an integer cannot be sent as {other}").into()),
            },
            Val::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                ref other => Err(format!("a real cannot be sent as {other}").into()),
            },
            Val::Text(s) => s.as_str().to_sql(ty, out),
            Val::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Database(match e.as_db_error() {
            Some(db) => format!("PostgreSQL: {} ({})", db.message(), db.code().code()),
            None => format!("PostgreSQL: {e}"),
        })
    }
}
