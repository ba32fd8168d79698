//! The service's store: Connect cases and their attachments and references, the durable job queue,
//! the integration log, processed snapshot names, poller cursors and settings.
//!
//! One [`Store`] value is shared by the whole service (it is a cheap clone of a connection pool).
//! SQLite is the default (one file, WAL, created on first start); PostgreSQL is chosen by a
//! `postgres://` URL so that several instances can share one queue. Migrations are applied by
//! [`Store::open`].
//!
//! The SQL is written once for both databases (`$1` placeholders, standard types, no functions of
//! one dialect). The differences live in two places only: the schema files (`migrations/sqlite/`,
//! `migrations/postgres/`: identity columns and the blob type) and the claim query in `jobs.rs`
//! (claiming a job uses `FOR UPDATE SKIP LOCKED` on PostgreSQL).
//!
//! Times are stored as integer milliseconds since the Unix epoch (UTC) and exposed as
//! [`jiff::Timestamp`]; JSON is stored as text.

mod cases;
mod complete;
mod jobs;
mod log;
mod settings;
mod stats;
mod writes;

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use sqlx::Connection;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Notify;

pub use cases::{
    Attachment, AttachmentId, AttachmentMeta, CaseRead, CaseRecord, CaseVersion, StoredCase,
};
pub use complete::{CreateCompleted, CreateCompletion};
pub use jobs::{Claim, Job, JobCounts, JobId, JobKind, JobProgress, JobState, UploadedAttachment};
pub use log::{LogEntry, LogId, LogOutcome, LogQuery, NewLogEntry, UnknownOutcome};
pub use stats::{DurationHistogram, JOB_DURATION_BUCKETS, StoreStats};
pub use writes::{
    FieldsApplied, INTEGRATION_KEY, SnapshotTime, applied_snapshot_time, merge_field_writes,
    record_applied,
};

/// Errors of the store. Messages never contain a connection URL or any stored secret.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database answered with an error or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The database URL is not one this store understands.
    #[error("unsupported database URL: {0}")]
    Url(String),
    /// An attachment is larger than the configured maximum.
    #[error("attachment of {size} bytes exceeds the maximum of {max} bytes")]
    AttachmentTooLarge {
        /// Size of the rejected attachment.
        size: u64,
        /// The configured maximum.
        max: u64,
    },
    /// No case has this reference.
    #[error("no case with reference {0:?}")]
    UnknownCase(String),
    /// The job is no longer held by this claim: its lease expired and another worker took it,
    /// or it was already finished.
    #[error("job {0} is no longer held by this worker")]
    LeaseLost(JobId),
    /// A stored value could not be read back (unknown state name, malformed JSON, bad time).
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
}

/// Result type of the store.
pub type StoreResult<T> = Result<T, StoreError>;

/// Store options.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Largest attachment accepted, in bytes.
    pub max_attachment_bytes: u64,
    /// Connections in the pool (on SQLite, the connections that read; one more writes).
    pub max_connections: u32,
    /// How long an SQLite connection waits for a lock held by another writer.
    pub busy_timeout: Duration,
    /// When an SQLite commit reaches the disk.
    pub sqlite_sync: SqliteSync,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            max_attachment_bytes: 20 * 1024 * 1024,
            max_connections: 8,
            busy_timeout: Duration::from_secs(10),
            sqlite_sync: SqliteSync::Normal,
        }
    }
}

/// When an SQLite commit reaches the disk (the file is always in WAL mode).
///
/// Both keep every committed change when the service's process is killed (`kill -9`, a crash,
/// an out-of-memory kill): a commit is in the write-ahead log, in the operating system's cache,
/// before it returns. They differ only when the machine itself stops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SqliteSync {
    /// Every commit is flushed to the disk before it returns (`synchronous=FULL`): a committed
    /// change also survives an operating system crash and a power loss. Costs a disk flush per
    /// commit (a few commits per case), which bounds the cases created per second.
    Full,
    /// Commits are written to the write-ahead log without waiting for the disk
    /// (`synchronous=NORMAL`), the default: a committed change survives a killed process, but the
    /// last commits (those since the log was last flushed, at a checkpoint) may be lost if the
    /// machine itself crashes or loses power; the file is never corrupted.
    #[default]
    Normal,
}

/// Which SQL dialect backs the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (a file).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

pub(crate) enum Backend {
    /// SQLite: `read` serves the reads; `write`, one connection, every statement that writes, so
    /// that writers queue in the service instead of sleeping in SQLite's busy handler.
    Sqlite {
        read: SqliteConnections,
        write: SqliteConnections,
    },
    Postgres(PgPool),
}

/// A fixed set of SQLite connections, each used by one caller at a time.
///
/// Not an sqlx pool: a pool checks every connection it takes back (a round trip to the
/// connection's thread after every use, which doubled the thread switches of a statement), and a
/// connection to a local file needs no such check. A caller that is cancelled mid-statement or
/// mid-transaction leaves nothing behind: the connection's thread finishes or rolls back the
/// command before it runs the next caller's.
pub(crate) struct SqliteConnections {
    connections: Box<[tokio::sync::Mutex<Option<SqliteConnection>>]>,
    next: AtomicUsize,
}

impl SqliteConnections {
    async fn open(options: &SqliteConnectOptions, n: u32) -> StoreResult<SqliteConnections> {
        let mut connections = Vec::new();
        for _ in 0..n.max(1) {
            let connection = SqliteConnection::connect_with(options).await?;
            connections.push(tokio::sync::Mutex::new(Some(connection)));
        }
        Ok(SqliteConnections {
            connections: connections.into_boxed_slice(),
            next: AtomicUsize::new(0),
        })
    }

    /// A free connection, else the next one in turn once it is free.
    pub(crate) async fn acquire(
        &self,
    ) -> StoreResult<tokio::sync::MappedMutexGuard<'_, SqliteConnection>> {
        let n = self.connections.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let free = (0..n).find_map(|i| self.connections[(start + i) % n].try_lock().ok());
        let guard = match free {
            Some(guard) => guard,
            None => self.connections[start].lock().await,
        };
        tokio::sync::MutexGuard::try_map(guard, Option::as_mut)
            .map_err(|_| StoreError::Database(sqlx::Error::PoolClosed))
    }

    async fn close(&self) {
        for slot in &self.connections {
            if let Some(connection) = slot.lock().await.take() {
                // Closing only fails when the connection is broken already.
                let _ = connection.close().await;
            }
        }
    }
}

/// Runs `$body` with `$pool` bound to an executor for reads: an SQLite connection
/// (`&mut SqliteConnection`) or the PostgreSQL pool. The body is compiled once per backend, so the
/// same runtime-checked query text and bindings serve both; it may use `$pool` once.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.inner.backend {
            $crate::service::store::Backend::Sqlite { read, .. } => {
                #[allow(unused_imports)]
                use sqlx::Connection as _;
                let mut connection = read.acquire().await?;
                let $pool = &mut *connection;
                $body
            }
            $crate::service::store::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Runs `$body` with `$pool` bound to an executor for statements that write: the single SQLite
/// writer connection, or the PostgreSQL pool. The body may use `$pool` once.
macro_rules! with_writer {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.inner.backend {
            $crate::service::store::Backend::Sqlite { write, .. } => {
                #[allow(unused_imports)]
                use sqlx::Connection as _;
                let mut connection = write.acquire().await?;
                let $pool = &mut *connection;
                $body
            }
            $crate::service::store::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_writer;

struct Inner {
    backend: Backend,
    config: StoreConfig,
    /// Woken on every enqueue, so that an idle worker of this process starts at once.
    enqueued: Notify,
}

/// The store. Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the URL: it may hold a password.
        f.debug_struct("Store")
            .field("dialect", &self.dialect())
            .finish_non_exhaustive()
    }
}

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "initial",
    include_str!("../../../migrations/sqlite/0001_initial.sql"),
)];

const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "initial",
    include_str!("../../../migrations/postgres/0001_initial.sql"),
)];

fn migrator(migrations: &[(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

impl Store {
    /// Opens the store named by `url` and applies pending migrations.
    ///
    /// `postgres://…` or `postgresql://…` opens PostgreSQL; `sqlite://PATH`, `sqlite:PATH` or a bare
    /// path opens (and creates if missing) an SQLite file.
    pub async fn open(url: &str, config: StoreConfig) -> StoreResult<Store> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)
                .map_err(|_| StoreError::Url("not a valid PostgreSQL URL".into()))?;
            let pool = PgPoolOptions::new()
                .max_connections(config.max_connections.max(1))
                .connect_with(options)
                .await?;
            migrator(POSTGRES_MIGRATIONS).run(&pool).await?;
            return Ok(Store::from_backend(Backend::Postgres(pool), config));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() || path.contains("://") {
            return Err(StoreError::Url(
                "expected postgres://…, sqlite://PATH or a file path".into(),
            ));
        }
        Store::open_sqlite(Path::new(path), config).await
    }

    /// Opens (creating if missing) the SQLite file at `path` and applies pending migrations.
    pub async fn open_sqlite(path: &Path, config: StoreConfig) -> StoreResult<Store> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL (the default): a committed enqueue survives a killed process. FULL: it also
            // survives a power loss, at the cost of a disk flush per commit.
            .synchronous(match config.sqlite_sync {
                SqliteSync::Full => SqliteSynchronous::Full,
                SqliteSync::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(config.busy_timeout)
            .foreign_keys(true);
        // One connection writes: SQLite admits one writer at a time anyway, and a writer that
        // finds the lock taken sleeps in the busy handler (1 ms, 2 ms, 5 ms, …) where a queue
        // for the connection wakes the next writer at once. The busy timeout still covers another
        // process writing to the same file.
        let write = SqliteConnections::open(&options, 1).await?;
        {
            let mut connection = write.acquire().await?;
            migrator(SQLITE_MIGRATIONS).run(&mut *connection).await?;
        }
        let read = SqliteConnections::open(&options, config.max_connections).await?;
        Ok(Store::from_backend(Backend::Sqlite { read, write }, config))
    }

    fn from_backend(backend: Backend, config: StoreConfig) -> Store {
        Store {
            inner: Arc::new(Inner {
                backend,
                config,
                enqueued: Notify::new(),
            }),
        }
    }

    /// The dialect in use.
    pub fn dialect(&self) -> Dialect {
        match self.inner.backend {
            Backend::Sqlite { .. } => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The configuration the store was opened with.
    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// Signalled (`notify_one`) on every enqueue through this `Store` or a clone of it, so that an
    /// idle worker of this process starts at once instead of at its next poll: one worker per job,
    /// not every idle worker racing for it (the permit is kept when no worker is waiting, and passed
    /// on when the worker it woke has found a job already).
    pub fn enqueue_signal(&self) -> &Notify {
        &self.inner.enqueued
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        match &self.inner.backend {
            Backend::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn millis(at: Timestamp) -> i64 {
    at.as_millisecond()
}

/// A stored millisecond count back to a timestamp.
pub(crate) fn timestamp(ms: i64) -> StoreResult<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(|e| StoreError::Corrupt(format!("time {ms}: {e}")))
}

/// `at + delay`, saturating at the largest representable time.
pub fn after(at: Timestamp, delay: Duration) -> Timestamp {
    let ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
    let sum = at.as_millisecond().saturating_add(ms);
    Timestamp::from_millisecond(sum).unwrap_or(Timestamp::MAX)
}

fn now_ms() -> i64 {
    millis(Timestamp::now())
}

fn to_json_text<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("JSON: {e}")))
}

fn from_json_text<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Serde helpers writing timestamps as RFC 3339 text.
pub(crate) mod rfc3339 {
    use jiff::Timestamp;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(at: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(at)
    }

    pub mod option {
        use jiff::Timestamp;
        use serde::Serializer;

        pub fn serialize<S: Serializer>(at: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => s.collect_str(at),
                None => s.serialize_none(),
            }
        }
    }
}
