//! The database: one connection type for SQLite and PostgreSQL (`#[derive(MultiConnection)]`),
//! a pool, embedded migrations per backend, `Db::run` for reads and `Db::write` for writes, both
//! of which move blocking diesel work off the async workers.
//!
//! Writes: every change runs in `Db::write`, one transaction that holds the write lock from its
//! first statement (SQLite: `BEGIN IMMEDIATE`, with writers of this process queued on one permit
//! so they never poll SQLite's busy handler; PostgreSQL: rows are locked by the stores before they
//! are read). A transaction PostgreSQL aborts to break a conflict (deadlock, serialization
//! failure) is retried from the start a few times; a lock held longer than the busy timeout
//! (`MASTHEAD_DB_BUSY_TIMEOUT_MS`) is answered 503 with `Retry-After`, with nothing written.
//! See docs/architecture.md, "Concurrent writes".

pub mod notify;
pub mod schema;

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend. Queries written with diesel's DSL run on both; SQL that
/// differs (full-text search) matches on the variant.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Which database a URL selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A file path (`sqlite://masthead.db`, `sqlite:///var/lib/masthead.db`) or `:memory:`.
    Sqlite(PathBuf),
    /// A libpq URL, passed on as given.
    Postgres(String),
}

#[derive(Debug, thiserror::Error)]
pub enum DatabaseUrlError {
    #[error("`{0}` is not a database URL: use sqlite://path/to/file.db or postgres://user@host/db")]
    Unsupported(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, DatabaseUrlError> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(DatabaseUrlError::Unsupported(url.to_owned()));
            }
            Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(url.to_owned()))
        } else {
            Err(DatabaseUrlError::Unsupported(url.to_owned()))
        }
    }

    /// A description safe for logs (no password).
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("SQLite file {}", path.display()),
            DatabaseUrl::Postgres(url) => match url::Url::parse(url) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("***"));
                    }
                    format!("PostgreSQL {parsed}")
                }
                Err(_) => "PostgreSQL".to_owned(),
            },
        }
    }
}

/// Why the database could not be opened or prepared; shown to the operator as one line.
#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("cannot open {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error("migrations failed on {target}: {reason}")]
    Migrate { target: String, reason: String },
    #[error(transparent)]
    Url(#[from] DatabaseUrlError),
}

/// Diesel caches named prepared statements per connection (`__diesel_stmt_N`). A pooler in
/// transaction mode that does not track them (PgBouncer before 1.21, or with
/// `max_prepared_statements = 0`) hands one client's statements to another, and the first
/// statements at start fail with "prepared statement … already exists" (measured with Debian's
/// PgBouncer 1.18): say what that means and where the fix is.
fn with_pooler_hint(reason: String) -> String {
    if reason.contains("prepared statement \"__diesel_stmt_") {
        format!(
            "{reason} (a pooler in transaction mode that does not keep prepared statements apart \
             is between us and PostgreSQL: use PgBouncer 1.21 or later with \
             max_prepared_statements set, or session mode; docs/deployment.md)"
        )
    } else {
        reason
    }
}

/// Opens connections for the pool, choosing the backend from the URL itself (the derived
/// `MultiConnection::establish` would try each backend and hide the real error).
#[derive(Debug, Clone)]
pub struct ConnectionFactory {
    url: DatabaseUrl,
    /// How long a statement waits for a lock another connection holds before it gives up
    /// (SQLite `busy_timeout`, PostgreSQL `lock_timeout`).
    busy_timeout: Duration,
}

impl ConnectionFactory {
    pub fn connect(&self) -> Result<DbConn, DbSetupError> {
        let fail = |reason: String| DbSetupError::Connect {
            target: self.url.redacted(),
            reason,
        };
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
                    && !parent.is_dir()
                {
                    return Err(fail(format!("directory {} does not exist", parent.display())));
                }
                let path_str = path.to_string_lossy();
                let mut conn = diesel::SqliteConnection::establish(&path_str)
                    .map_err(|e| fail(format!("{e} (is the directory writable?)")))?;
                // busy_timeout first: switching to WAL may need to wait for another connection.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                    self.busy_timeout.as_millis()
                ))
                .map_err(|e| fail(format!("{e} (is the file and its directory writable?)")))?;
                Ok(DbConn::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => {
                let mut conn = diesel::PgConnection::establish(url)
                    .map_err(|e| fail(e.to_string().trim().replace('\n', " ")))?;
                // A lock held too long (a stuck transaction, a manual LOCK TABLE) fails the
                // waiting statement, and the client gets a 503, instead of hanging the request.
                conn.batch_execute(&format!("SET lock_timeout = {}", self.busy_timeout.as_millis()))
                    .map_err(|e| fail(e.to_string()))?;
                Ok(DbConn::Postgres(conn))
            }
        }
    }
}

impl ManageConnection for ConnectionFactory {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        ConnectionFactory::connect(self)
            .map_err(|e| r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(e.to_string())))
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
    }
}

pub type Pool = r2d2::Pool<ConnectionFactory>;
pub type PooledConn = r2d2::PooledConnection<ConnectionFactory>;

/// How long a statement waits for another connection's lock unless configured.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a write waits for its turn (SQLite's one writer, or a pooled connection) before
/// the client is told to retry (503).
const WRITE_WAIT: Duration = Duration::from_secs(10);

/// How many times a write is run in all when the database aborts it to resolve a conflict.
const WRITE_ATTEMPTS: u32 = 4;

/// The handle every part of the server uses to reach the database.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    url: DatabaseUrl,
    /// Permits for writers, first come first served. SQLite allows one writer at a time, so
    /// it has one permit and writers take turns instead of racing for the file lock;
    /// PostgreSQL has half the pool, so reads always find a free connection.
    writer: Arc<tokio::sync::Semaphore>,
    busy_timeout: Duration,
    /// Told the surrogate keys a write made stale, right after it commits (the response cache).
    after_commit: Arc<OnceLock<AfterCommit>>,
    /// Names this process in the purge notices it sends other instances (PostgreSQL).
    instance: Arc<str>,
}

/// What a committed write reports: the surrogate keys its changes made stale.
pub type AfterCommit = Box<dyn Fn(&[String]) + Send + Sync>;

thread_local! {
    /// The keys the write running on this thread has marked stale so far; `None` outside
    /// `Db::write`.
    static STALE_KEYS: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Marks surrogate keys (`article:<id>`, `tag:<slug>`, `articles`, …) as made stale by the write
/// in progress. They are handed to the after-commit hook once that write commits, and dropped
/// if it rolls back. `events::record` calls this for every event's keys; writes that change
/// what readers see without an event of §7 (a user's display name) call it themselves.
pub fn mark_stale(keys: impl IntoIterator<Item = String>) {
    STALE_KEYS.with(|stale| match stale.borrow_mut().as_mut() {
        Some(collected) => collected.extend(keys),
        None => tracing::debug!("stale keys outside Db::write (a CLI write): left to the cache TTL"),
    });
}

impl Db {
    /// Opens the database: one direct connection first so a wrong path, a read-only directory or
    /// a server that is down is reported at once with its real cause, then the pool.
    pub fn open(database_url: &str, pool_size: u32) -> Result<Self, DbSetupError> {
        Self::open_with(database_url, pool_size, DEFAULT_BUSY_TIMEOUT)
    }

    /// [`Db::open`] with the lock wait of every connection (`MASTHEAD_DB_BUSY_TIMEOUT_MS`).
    pub fn open_with(
        database_url: &str,
        pool_size: u32,
        busy_timeout: Duration,
    ) -> Result<Self, DbSetupError> {
        let url = DatabaseUrl::parse(database_url)?;
        let factory = ConnectionFactory {
            url: url.clone(),
            busy_timeout,
        };
        let probe = factory.connect()?;
        drop(probe);
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(5))
            .test_on_check_out(false)
            .build_unchecked(factory);
        // SQLite: one writer. PostgreSQL: writers may use at most half the pool, so a burst of
        // saves (each holding a connection while it waits for row locks) never leaves the
        // readers without connections.
        let writers = match url {
            DatabaseUrl::Sqlite(_) => 1,
            DatabaseUrl::Postgres(_) => (pool_size / 2).max(1) as usize,
        };
        let writer = Arc::new(tokio::sync::Semaphore::new(writers));
        Ok(Db {
            pool,
            url,
            writer,
            busy_timeout,
            after_commit: Arc::new(OnceLock::new()),
            instance: Arc::from(uuid::Uuid::new_v4().simple().to_string()),
        })
    }

    /// Sets what every committed write of this handle (and its clones) reports its stale
    /// surrogate keys to. Set once; later calls are ignored.
    pub fn after_commit(&self, hook: AfterCommit) {
        let _ = self.after_commit.set(hook);
    }

    /// This process's name in purge notices (`db::notify`).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.url, DatabaseUrl::Postgres(_))
    }

    /// Applies pending migrations of this backend.
    pub fn migrate(&self) -> Result<Vec<String>, DbSetupError> {
        let fail = |reason: String| DbSetupError::Migrate {
            target: self.url.redacted(),
            reason: with_pooler_hint(reason),
        };
        let mut conn = self.pool.get().map_err(|e| fail(e.to_string()))?;
        let applied = match &mut *conn {
            DbConn::Sqlite(c) => c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|versions| versions.iter().map(|v| v.to_string()).collect::<Vec<_>>()),
            DbConn::Postgres(c) => {
                // Several instances may start at once: serialise their migrations (waiting as
                // long as another instance's migrations take).
                let _ = c.batch_execute("SET lock_timeout = 0");
                let _ = c.batch_execute("SELECT pg_advisory_lock(7310642)");
                let result = c
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|versions| versions.iter().map(|v| v.to_string()).collect::<Vec<_>>());
                let _ = c.batch_execute("SELECT pg_advisory_unlock(7310642)");
                let _ = c.batch_execute(&format!("SET lock_timeout = {}", self.busy_timeout.as_millis()));
                result
            }
        }
        .map_err(|e| fail(e.to_string()))?;
        Ok(applied)
    }

    /// A pooled connection, for blocking contexts (CLI, start-up).
    pub fn get(&self) -> Result<PooledConn, StoreError> {
        self.pool
            .get()
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Runs blocking database work on actix's blocking thread pool, never on an async worker.
    /// The work fails with its caller's error type (`StoreError`, a domain error, `ApiError`):
    /// anything a store error converts into.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        E: Failure,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get().map_err(|e| StoreError::Unavailable(e.to_string()))?;
            work(&mut conn)
        })
        .await
        .map_err(|e| E::from(StoreError::Internal(e.to_string())))?
    }

    /// Runs database work that writes: one transaction holding the write lock from its start,
    /// committed when `work` returns `Ok`, rolled back (nothing half-written) when it returns an
    /// error. `work` may run more than once: when the database aborts the transaction to resolve
    /// a conflict with another writer it is retried from the start, so it must not consume its
    /// inputs (clone them inside).
    pub async fn write<T, E, F>(&self, mut work: F) -> Result<T, E>
    where
        F: FnMut(&mut DbConn) -> Result<T, E> + Send + 'static,
        E: Failure,
        T: Send + 'static,
    {
        let turn = tokio::time::timeout(WRITE_WAIT, self.writer.clone().acquire_owned())
            .await
            .map_err(|_| StoreError::Busy("waited too long to write".into()))?
            .map_err(|e| StoreError::Internal(format!("write permit: {e}")))?;
        let pool = self.pool.clone();
        let after_commit = self.after_commit.clone();
        let instance = self.instance.clone();
        actix_web::web::block(move || {
            // The permit lives as long as the work, even if the request is cancelled meanwhile.
            let _turn = turn;
            let mut conn = pool
                .get_timeout(WRITE_WAIT)
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            let mut attempt = 1;
            loop {
                STALE_KEYS.with(|stale| *stale.borrow_mut() = Some(Vec::new()));
                let outcome = write_transaction(&mut conn, &mut work, &instance);
                let stale = STALE_KEYS
                    .with(|stale| stale.borrow_mut().take())
                    .unwrap_or_default();
                match outcome {
                    Err(err) if err.is_retryable() && attempt < WRITE_ATTEMPTS => {
                        tracing::debug!(attempt, "write aborted by the database; retrying");
                        std::thread::sleep(retry_pause(attempt));
                        attempt += 1;
                    }
                    Ok(value) => {
                        // Committed: what it made stale goes before the response does.
                        if let (Some(hook), false) = (after_commit.get(), stale.is_empty()) {
                            hook(&stale);
                        }
                        return Ok(value);
                    }
                    Err(err) => return Err(err),
                }
            }
        })
        .await
        .map_err(|e| E::from(StoreError::Internal(e.to_string())))?
    }

    /// Whether the database answers a trivial query within a short time (for `/readyz`).
    pub fn check_ready(&self) -> Result<(), String> {
        if let DatabaseUrl::Sqlite(path) = &self.url {
            // An open SQLite connection keeps working on a deleted file; writes would then be lost.
            if path.as_os_str() != ":memory:" && !path.exists() {
                return Err(format!("database file {} is gone", path.display()));
            }
        }
        let mut conn = self
            .pool
            .get_timeout(Duration::from_secs(2))
            .map_err(|e| e.to_string())?;
        conn.batch_execute("SELECT 1").map_err(|e| e.to_string())
    }
}

/// A short pause before a retried write, growing with the attempt, with jitter so that
/// writers that collided do not collide again in step.
fn retry_pause(attempt: u32) -> Duration {
    use rand::Rng;
    let base = 5u64 << attempt.min(6);
    Duration::from_millis(base + rand::thread_rng().gen_range(0..=base))
}

/// One write transaction: `BEGIN IMMEDIATE` on SQLite, so the write lock is taken before the
/// first read and a later write can never fail with `SQLITE_BUSY` (a deferred transaction that
/// reads, then writes after another writer committed, fails at once whatever `busy_timeout`
/// says); a plain `BEGIN` on PostgreSQL, where stores lock the rows they change.
///
/// On PostgreSQL the keys the work marked stale go out to the other instances with
/// `pg_notify` in the same transaction (`db::notify`): delivered when, and only if, it commits.
fn write_transaction<T, E, F>(conn: &mut DbConn, work: &mut F, instance: &str) -> Result<T, E>
where
    F: FnMut(&mut DbConn) -> Result<T, E>,
    E: From<StoreError>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    match conn {
        DbConn::Sqlite(inner) => AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")
            .map_err(StoreError::from)?,
        DbConn::Postgres(inner) => {
            AnsiTransactionManager::begin_transaction(inner).map_err(StoreError::from)?
        }
    }
    let outcome = work(conn).and_then(|value| {
        if let DbConn::Postgres(pg) = conn {
            let stale = STALE_KEYS
                .with(|stale| stale.borrow().clone())
                .unwrap_or_default();
            if !stale.is_empty() {
                notify::send(pg, instance, &stale).map_err(E::from)?;
            }
        }
        Ok(value)
    });
    match outcome {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn).map_err(StoreError::from)?;
            Ok(value)
        }
        Err(err) => {
            // A failed rollback leaves the connection marked broken; the pool then drops it.
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
            Err(err)
        }
    }
}

/// What a store function can fail with; handlers turn it into a problem response.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database aborted the work to resolve a conflict with another writer (PostgreSQL
    /// deadlock or serialization failure): safe to run again from the start.
    #[error("write conflict: {0}")]
    Retry(String),
    /// A lock stayed taken beyond the busy timeout (SQLite busy, PostgreSQL lock timeout).
    #[error("database busy: {0}")]
    Busy(String),
    /// PostgreSQL refused text holding a NUL character. Inputs are checked for it before any
    /// query runs; this is the last line for a value that slipped past the checks.
    #[error("text must not contain NUL characters")]
    NulInText,
    /// The media store (local disk or S3) failed while a database write depended on it; the
    /// transaction is rolled back, so no row points at a missing object.
    #[error("media storage failed: {0}")]
    MediaUnavailable(String),
    /// A fault of ours around the database work (the blocking task panicked, a value did not
    /// serialize).
    #[error("internal: {0}")]
    Internal(String),
    #[error("database error: {0}")]
    Query(diesel::result::Error),
}

impl From<diesel::result::Error> for StoreError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::NotFound => StoreError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::Conflict(info.constraint_name().unwrap_or(info.message()).to_owned())
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                StoreError::Unavailable(info.message().to_owned())
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
                StoreError::Retry(info.message().to_owned())
            }
            Error::DatabaseError(_, info) if info.message().contains("deadlock detected") => {
                StoreError::Retry(info.message().to_owned())
            }
            Error::DatabaseError(_, info) if is_busy(info.message()) => {
                StoreError::Busy(info.message().to_owned())
            }
            // PostgreSQL text cannot hold NUL; a value that slipped past validation is the
            // client's bad input, not a server fault.
            Error::DatabaseError(_, info) if info.message().contains("invalid byte sequence") => {
                StoreError::NulInText
            }
            other => StoreError::Query(other),
        }
    }
}

/// Messages of errors that say "a lock stayed taken longer than we wait": SQLite's
/// `SQLITE_BUSY`/`SQLITE_LOCKED` family after `busy_timeout`, PostgreSQL's `lock_timeout`.
fn is_busy(message: &str) -> bool {
    const BUSY: [&str; 5] = [
        "database is locked",
        "database table is locked",
        "database schema is locked",
        "lock timeout",
        "could not obtain lock",
    ];
    BUSY.iter().any(|t| message.contains(t))
}

impl StoreError {
    /// A fault of ours around the database work, with its cause for the log.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        StoreError::Internal(cause.to_string())
    }
}

/// What database work may fail with: anything a [`StoreError`] converts into, which says
/// whether it is the database's request to run the transaction again (`write` then retries).
pub trait Failure: From<StoreError> + Send + 'static {
    /// True when the database aborted the work to resolve a conflict with another writer.
    fn is_retryable(&self) -> bool;
}

impl Failure for StoreError {
    fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Retry(_))
    }
}

/// Backend-specific SQL helpers.
impl DbConn {
    pub fn is_postgres(&self) -> bool {
        matches!(self, DbConn::Postgres(_))
    }
}

#[cfg(test)]
mod tests {
    use super::with_pooler_hint;

    #[test]
    fn a_pooler_sharing_prepared_statements_is_named_in_the_start_up_error() {
        // The message Debian's PgBouncer 1.18 in transaction mode gave on the second start.
        let hinted = with_pooler_hint(r#"prepared statement "__diesel_stmt_1" already exists"#.into());
        assert!(
            hinted.contains("PgBouncer 1.21") && hinted.contains("docs/deployment.md"),
            "{hinted}"
        );
        let other = "relation \"articles\" does not exist".to_owned();
        assert_eq!(with_pooler_hint(other.clone()), other);
    }
}
