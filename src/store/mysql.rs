//! MySQL/MariaDB adapters of the relational store (R) and the records store (D), and the connection setup and
//! transaction discipline both share.
//!
//! - One pool. Each new connection gets a statement timeout (MariaDB `max_statement_time`, MySQL
//!   `max_execution_time`) and a short `innodb_lock_wait_timeout`, so a stuck statement or lock wait ends as an
//!   error the port reports as `Unavailable` (503), never as a hung request.
//! - Write transactions serialise competing writers with row locks taken in one global order: patient, then
//!   doctor, then appointment; doctor, then department. Two writers therefore never wait on each other in a cycle;
//!   a deadlock or lock-wait timeout that still happens (InnoDB's gap and foreign-key locks are not fully
//!   ordered) is retried once, then reported as `Unavailable`.
//! - Fail fast when the server is gone (`MySqlDb::checkout`): no ping before a checkout of a connection used in
//!   the last second (one that died since fails its first statement with an I/O error: the 503 the caller should
//!   get anyway), and a checkout that
//!   has to open a connection while the server refuses TCP connections ends at once instead of retrying until the
//!   pool's acquire timeout.
//! - [`Tx`] closes its connection when dropped unfinished (a cancelled request), so no later borrower inherits a
//!   transaction that a cancelled `BEGIN` or statement left open on the server.
//! - No ping when a connection is given back: statements run through [`MySqlDb::run`] and transactions through
//!   [`Tx`] return their connection to a reuse stack (`store::recycle`) once they completed; `acquire` leases go
//!   back through the pool and its ping.
//! - Compared columns are VARBINARY (see `migrations/mysql/0001_clinic.sql`), which MySQL flags as binary; sqlx
//!   refuses to decode those as `String` through its type check, so rows are decoded by name in `rows.rs`.

mod clinic;
mod idempotency;
mod records;
mod rows;

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migrate, MigrateError};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlPool, MySqlPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, Executor, MySql};

use super::recycle::{Lease, Recycler};

pub use records::MySqlRecordStore;

use super::sql::is_mysql_lock_failure;
use super::{StoreError, StoreResult};
use crate::schema::SchemaState;

/// Embedded migrations for MySQL/MariaDB (same file names as the SQLite set).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/mysql");

/// How long a write waits for a row lock before giving up (`innodb_lock_wait_timeout`, whole seconds). Short,
/// because every lock here is held for a few statements only: a long wait means something is wrong.
const LOCK_WAIT_TIMEOUT_SECS: u64 = 5;

/// Connection settings for [`MySqlDb::connect`].
#[derive(Debug, Clone, Copy)]
pub struct MySqlOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// Per statement, enforced by the server; zero disables it.
    pub statement_timeout: Duration,
}

/// The pool over one MySQL/MariaDB database, shared by both MySQL stores.
#[derive(Debug, Clone)]
pub struct MySqlDb {
    pub pool: MySqlPool,
    reach: std::sync::Arc<Reachability>,
    /// Connections reused without the pool's ping on release (see `store::recycle`).
    stack: Recycler<MySql>,
}

/// How long a checkout may wait for the pool before the server's address is probed: a local connect and
/// handshake take ~2 ms, so only a checkout that is opening a connection to a slow or absent server waits longer.
const PROBE_AFTER: Duration = Duration::from_millis(5);
/// Idle time after which a connection is pinged before it is handed out; under load none is idle this long.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);
/// How long one probe's verdict stands, so a burst of checkouts costs the server one TCP connect, not one each.
const PROBE_VERDICT_FOR: Duration = Duration::from_millis(100);

/// Whether the server's TCP address accepts connections, asked only when a checkout is slow.
///
/// Why this exists: when a new connection is refused, sqlx's pool (0.9, `PoolInner::connect`) assumes the server
/// is starting and retries with backoff until `acquire_timeout`, and no pool option turns that off. A hospital's
/// request would then wait out its whole deadline (504) for a database that is plainly down. Racing the checkout
/// against a plain TCP connect turns "refused" (or unreachable, or an unknown host) into an immediate error.
#[derive(Debug)]
struct Reachability {
    /// `None` for a Unix socket (a missing socket file fails the connect at once, without sqlx's retry loop).
    target: Option<(String, u16)>,
    last: std::sync::Mutex<Option<(std::time::Instant, Option<std::io::ErrorKind>)>>,
}

impl Reachability {
    /// Resolves with the error when the address refuses (or cannot be reached); pending forever when it accepts.
    async fn refused(&self) -> sqlx::Error {
        let Some((host, port)) = &self.target else { return std::future::pending().await };
        let now = std::time::Instant::now();
        let cached = *self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let verdict = match cached {
            Some((at, verdict)) if now.duration_since(at) < PROBE_VERDICT_FOR => verdict,
            _ => {
                let connect = tokio::net::TcpStream::connect((host.as_str(), *port));
                let verdict = match tokio::time::timeout(Duration::from_secs(1), connect).await {
                    Ok(Ok(_stream)) => None,
                    Ok(Err(e)) => Some(e.kind()),
                    // No answer at all is a stall, which the request's deadline (504) already covers.
                    Err(_) => None,
                };
                *self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((now, verdict));
                verdict
            }
        };
        match verdict {
            Some(kind) => sqlx::Error::Io(std::io::Error::new(kind, "the database server refuses connections")),
            None => std::future::pending().await,
        }
    }
}

impl MySqlDb {
    /// Connects to the database named by a `mysql://user:pass@host:port/db` URL (one connection up front, so a
    /// wrong address or password fails here).
    pub async fn connect(url: &str, opts: MySqlOptions) -> Result<Self, StoreError> {
        // The parser's message never echoes the URL, which may carry a password.
        let connect =
            MySqlConnectOptions::from_str(url).map_err(|e| StoreError::Internal(format!("bad MySQL URL: {e}")))?;
        let statement_timeout = opts.statement_timeout;
        let target = connect.get_socket().is_none().then(|| (connect.get_host().to_owned(), connect.get_port()));
        let reach = std::sync::Arc::new(Reachability { target, last: std::sync::Mutex::new(None) });
        // No ping before a checkout of a busy connection (see the module doc). sqlx also pings every connection
        // it takes back (no option turns that off): the reuse stack in front of it (`run`, `Tx`) skips that.
        let pool = MySqlPoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .test_before_acquire(false)
            // A connection that sat idle through an outage is likely dead: ping those (as HikariCP's
            // `aliveBypassWindow` does), so the first requests after a recovery do not fail on them.
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_IF_IDLE_FOR {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .acquire_timeout(opts.acquire_timeout)
            .after_connect(move |conn, _| Box::pin(configure_session(conn, statement_timeout)))
            .connect_with(connect)
            .await?;
        let stack = Recycler::new(&pool);
        Ok(Self { pool, reach, stack })
    }

    /// Runs `f` on a connection that goes back for reuse without a ping when `f` completes (the hot path: one
    /// checkout per statement group, no extra round trip).
    pub async fn run<T>(
        &self,
        f: impl AsyncFnOnce(&mut MySqlConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        self.stack.run(|| self.checkout(), f).await
    }

    /// A connection that goes back through the pool (with its ping) when dropped, unless recycled.
    pub async fn acquire(&self) -> Result<Lease<MySql>, sqlx::Error> {
        self.stack.lease(|| self.checkout()).await
    }

    /// The pool's sizes, for `db_pool_connections`, connections on the reuse stack counted as idle.
    pub fn pool_stats(&self) -> super::PoolStats {
        super::PoolStats::of("mysql", &self.pool).with_stacked(self.stack.idle())
    }

    /// Closes every connection; the pool's own `close` would wait forever for those on the reuse stack.
    pub async fn close(&self) {
        self.stack.drain();
        self.pool.close().await;
    }

    /// A pooled connection; fails at once when the pool must open one and the server refuses connections.
    async fn checkout(&self) -> Result<PoolConnection<MySql>, sqlx::Error> {
        // Not `try_acquire` first: it skips `before_acquire`, the idle check below.
        let checkout = self.pool.acquire();
        tokio::pin!(checkout);
        if let Ok(conn) = tokio::time::timeout(PROBE_AFTER, &mut checkout).await {
            return conn;
        }
        // A full pool is waiting for a release, not a connect: no probe. Probing then would knock on a healthy
        // server every 100 ms under load, and MySQL counts each knock as a failed handshake towards
        // `max_connect_errors`, which ends in blocking this host.
        if self.pool.size() >= self.pool.options().get_max_connections() {
            return checkout.await;
        }
        tokio::select! {
            biased;
            conn = &mut checkout => conn,
            refused = self.reach.refused() => Err(refused),
        }
    }

    /// Applies the embedded migrations (idempotent).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await.map_err(|e| StoreError::Internal(format!("migration failed: {e}")))
    }

    /// The embedded migrations compared with those this database has applied. Creates nothing: a database
    /// without sqlx's migrations table has applied none.
    pub async fn schema_state(&self) -> Result<SchemaState, StoreError> {
        let mut conn = self.acquire().await?;
        let has_table: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
        )
        .bind(MIGRATOR.table_name.as_ref())
        .fetch_optional(&mut *conn)
        .await?;
        if has_table.is_none() {
            return Ok(SchemaState::compare(&MIGRATOR, &[], None));
        }
        let read = |e: MigrateError| StoreError::Unavailable(format!("cannot read the applied migrations: {e}"));
        let applied = conn.list_applied_migrations(&MIGRATOR.table_name).await.map_err(read)?;
        let dirty = conn.dirty_version(&MIGRATOR.table_name).await.map_err(read)?;
        Ok(SchemaState::compare(&MIGRATOR, &applied, dirty))
    }

    /// The schema version (highest migration applied successfully), as `/health` reports it.
    pub async fn schema_version(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.schema_state().await?.version())
    }

    /// A read-write transaction.
    async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Tx::begin(self, "START TRANSACTION").await
    }

    /// A read-only transaction whose reads all see one snapshot, taken now.
    async fn begin_snapshot(&self) -> Result<Tx, sqlx::Error> {
        Tx::begin(self, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY").await
    }
}

/// Session settings of every pooled connection: the statement timeout and the lock wait timeout.
async fn configure_session(conn: &mut MySqlConnection, statement_timeout: Duration) -> Result<(), sqlx::Error> {
    let version: String = sqlx::query_scalar("SELECT VERSION()").fetch_one(&mut *conn).await?;
    let timeout = if version.contains("MariaDB") {
        format!("max_statement_time = {:.3}", statement_timeout.as_secs_f64())
    } else {
        // MySQL's counterpart bounds SELECTs only; writes are bounded by the lock wait timeout.
        format!("max_execution_time = {}", statement_timeout.as_millis())
    };
    // Built from numbers and fixed text only.
    let sql = format!("SET SESSION {timeout}, SESSION innodb_lock_wait_timeout = {LOCK_WAIT_TIMEOUT_SECS}");
    conn.execute(sqlx::raw_sql(AssertSqlSafe(sql))).await?;
    Ok(())
}

/// A failure inside a transaction: a database error (which may be a retryable lock failure) or a port error the
/// transaction decided on (a rule, a version, a missing row).
#[derive(Debug)]
enum TxError {
    Sql(sqlx::Error),
    Store(StoreError),
}

impl From<sqlx::Error> for TxError {
    fn from(err: sqlx::Error) -> Self {
        Self::Sql(err)
    }
}

impl From<StoreError> for TxError {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

impl From<TxError> for StoreError {
    fn from(err: TxError) -> Self {
        match err {
            TxError::Sql(e) => e.into(),
            TxError::Store(e) => e,
        }
    }
}

type TxResult<T> = Result<T, TxError>;

/// Runs `attempt` once more if it failed on a deadlock or lock-wait timeout; a second lock failure maps to
/// `Unavailable` like any other (see `sql::map_sqlx`). Each attempt must be a whole transaction.
async fn retry_on_lock_failure<T, F, Fut>(mut attempt: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = TxResult<T>>,
{
    match attempt().await {
        Err(TxError::Sql(e)) if is_mysql_lock_failure(&e) => {
            tracing::info!(error = %e, "MySQL lock failure, retrying the transaction once");
            attempt().await.map_err(StoreError::from)
        }
        other => other.map_err(StoreError::from),
    }
}

/// A transaction on one pooled connection, ended by [`Tx::finish`].
///
/// Dropped unfinished, it closes the connection instead of returning it to the pool: the server then rolls back.
/// sqlx's own `Transaction` cannot do this safely here, because a `BEGIN` cancelled after it reached the server
/// leaves the connection inside a transaction that sqlx does not know about, and later plain reads on that
/// connection would then keep seeing one old snapshot.
///
/// Finished, its connection goes back for reuse without a ping (`store::recycle`): after COMMIT or ROLLBACK
/// answered, the session is in a known state.
struct Tx {
    conn: Option<Lease<MySql>>,
    finished: bool,
}

impl Tx {
    async fn begin(db: &MySqlDb, statement: &'static str) -> Result<Self, sqlx::Error> {
        let conn = db.acquire().await?;
        let mut tx = Self { conn: Some(conn), finished: false };
        tx.conn().execute(sqlx::raw_sql(statement)).await?;
        Ok(tx)
    }

    fn conn(&mut self) -> &mut MySqlConnection {
        self.conn.as_mut().expect("a transaction holds its connection until dropped")
    }

    /// Commits after `Ok`, rolls back after `Err`, and hands `outcome` back; a failed commit replaces an `Ok`.
    async fn finish<T>(mut self, outcome: TxResult<T>) -> TxResult<T> {
        let end = if outcome.is_ok() { "COMMIT" } else { "ROLLBACK" };
        match self.conn().execute(sqlx::raw_sql(end)).await {
            Ok(_) => {
                self.finished = true;
                outcome
            }
            Err(e) => outcome.and(Err(e.into())),
        }
    }
}

impl Tx {
    /// As [`Tx::finish`], storing `event` in chain `chain` first when the write succeeded, so the write and its
    /// audit event commit together or not at all.
    async fn finish_audited<T>(
        mut self,
        outcome: TxResult<T>,
        chain: crate::audit::Chain,
        event: &crate::audit::AuditEvent,
    ) -> TxResult<T> {
        let outcome = match outcome {
            Ok(value) => audit::insert(self.conn(), chain, event).await.map(|()| value).map_err(TxError::from),
            Err(e) => Err(e),
        };
        self.finish(outcome).await
    }

    /// Commits: the form the shared audit statements use (`crate::store::audit`).
    async fn commit(self) -> Result<(), sqlx::Error> {
        self.finish(Ok(())).await.map_err(|e| match e {
            TxError::Sql(e) => e,
            TxError::Store(e) => sqlx::Error::Protocol(e.to_string()),
        })
    }
}

impl std::ops::Deref for Tx {
    type Target = MySqlConnection;
    fn deref(&self) -> &MySqlConnection {
        self.conn.as_ref().expect("a transaction holds its connection until dropped")
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut MySqlConnection {
        self.conn()
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else { return };
        if self.finished {
            conn.recycle();
        } else {
            conn.pooled().close_on_drop();
        }
    }
}

/// The relational store on MySQL/MariaDB.
#[derive(Debug, Clone)]
pub struct MySqlClinicStore {
    db: MySqlDb,
}

impl MySqlClinicStore {
    pub fn new(db: MySqlDb) -> Self {
        Self { db }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_urls_parse_with_the_credentials_intact() {
        let url = crate::config::dsn_to_url("us@r:p@ss:w/rd@tcp(h:3310)/db").expect("converts");
        let opts = MySqlConnectOptions::from_str(&url).expect("parses");
        assert_eq!((opts.get_host(), opts.get_port(), opts.get_username()), ("h", 3310, "us@r"));
        assert_eq!(opts.get_database(), Some("db"));
    }
}

/// Audit events inside a write's transaction (the statements are shared with SQLite).
pub(crate) mod audit {
    crate::store::audit::sql_insert_event!(insert, sqlx::MySqlConnection);
}

crate::store::audit::sql_audit_store!(
    MySqlClinicStore,
    crate::audit::Chain::R,
    |s| s.db.begin(),
    &mut *s.db.acquire().await?,
    &mut *s.db.acquire().await?
);

crate::store::audit::sql_audit_store!(
    MySqlRecordStore,
    crate::audit::Chain::D,
    |s| s.db.begin(),
    &mut *s.db.acquire().await?,
    &mut *s.db.acquire().await?
);
