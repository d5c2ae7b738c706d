//! MySQL test databases for the contract suites.
//!
//! MySQL tests run against the server named by `GOSPITAL_TEST_MYSQL_URL` (e.g. `mysql://root@127.0.0.1:3306/test`;
//! its database part is ignored). Each test creates its own `gospital_test_<ulid>` database, migrates it and
//! drops it when the [`MySqlTestDb`] is dropped, also when the test panics.
//!
//! Skips are decided when the tests are built: without the variable, build.rs leaves `gospital_mysql_tests` off
//! and every MySQL test carries [`MYSQL_SKIP`] as its `#[ignore]` reason, so `cargo test` lists it as ignored.
//! Each suite keeps one always-run [`assert_mysql_skip_allowed`] test that fails the run when
//! `GOSPITAL_REQUIRE_ALL_BACKENDS=1` (CI) finds the MySQL tests ignored. A MySQL test that runs anyway (`cargo
//! test -- --ignored`, or a binary run without the variable it was built with) fails instead of passing.

use std::time::Duration;

use gospital::store::mysql::{MySqlDb, MySqlOptions};
use sqlx::{AssertSqlSafe, Connection, Executor, MySqlConnection};

/// A migrated database of its own, dropped with this value.
pub struct MySqlTestDb {
    pub db: MySqlDb,
    params: String,
    _guard: DropDatabase,
}

impl MySqlTestDb {
    /// Closes the pool, so the drop that follows has no connections to end first.
    pub async fn close(&self) {
        self.db.close().await;
    }

    pub fn name(&self) -> &str {
        &self._guard.name
    }

    /// The URL of this database, as `DATABASE_URL` would name it.
    pub fn url(&self) -> String {
        format!("{}/{}{}", self._guard.server, self._guard.name, self.params)
    }

    /// The URL of this database with the server's `host:port` replaced by `addr` (a fault proxy in front of it).
    pub fn url_via(&self, addr: std::net::SocketAddr) -> String {
        let (scheme_and_user, _) = self.split_host();
        format!("{scheme_and_user}{addr}/{}{}", self._guard.name, self.params)
    }

    /// The `host:port` of the MySQL server itself.
    pub fn server_addr(&self) -> std::net::SocketAddr {
        let (_, host_port) = self.split_host();
        let host_port = if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:3306") };
        std::net::ToSocketAddrs::to_socket_addrs(&host_port)
            .ok()
            .and_then(|mut a| a.next())
            .unwrap_or_else(|| panic!("GOSPITAL_TEST_MYSQL_URL names no reachable host: {host_port}"))
    }

    /// The server URL split before its host: (`mysql://user@`, `host:port`).
    fn split_host(&self) -> (&str, &str) {
        let server = &self._guard.server;
        let authority = server.find("://").map_or(0, |i| i + 3);
        let host = server[authority..].rfind('@').map_or(authority, |at| authority + at + 1);
        server.split_at(host)
    }
}

/// The pool settings of the contract suites: generous, so only a real hang times out.
pub const TEST_OPTIONS: MySqlOptions = MySqlOptions {
    max_connections: 16,
    acquire_timeout: Duration::from_secs(30),
    statement_timeout: Duration::from_secs(30),
};

/// The `#[ignore]` reason of every MySQL test built without `GOSPITAL_TEST_MYSQL_URL` (the literal is repeated in
/// each `cfg_attr`, which takes no constant).
pub const MYSQL_SKIP: &str = "GOSPITAL_TEST_MYSQL_URL unset at build time";

/// The body of each suite's always-run guard test: passes while the MySQL tests are ignored, unless
/// `GOSPITAL_REQUIRE_ALL_BACKENDS=1` says no backend may be skipped.
pub fn assert_mysql_skip_allowed(suite: &str) {
    if std::env::var("GOSPITAL_REQUIRE_ALL_BACKENDS").as_deref() == Ok("1") {
        panic!(
            "GOSPITAL_REQUIRE_ALL_BACKENDS=1, but the MySQL tests of {suite} were built ignored ({MYSQL_SKIP}): \
             set GOSPITAL_TEST_MYSQL_URL and run cargo test again"
        );
    }
    eprintln!("the MySQL tests of {suite} are ignored: {MYSQL_SKIP}");
}

/// A migrated database of its own for `test`; panics when `GOSPITAL_TEST_MYSQL_URL` is unset (the test should
/// have been built ignored, see the module documentation).
pub async fn mysql_test_db(test: &str) -> MySqlTestDb {
    mysql_test_db_with(test, TEST_OPTIONS).await
}

/// [`mysql_test_db`] with other pool settings.
pub async fn mysql_test_db_with(test: &str, opts: MySqlOptions) -> MySqlTestDb {
    let test_db = mysql_unmigrated_test_db_with(test, opts).await;
    test_db.db.migrate().await.expect("migrate MySQL");
    test_db
}

/// An empty database of its own for `test`, not migrated (start-up schema checks).
pub async fn mysql_unmigrated_test_db(test: &str) -> MySqlTestDb {
    mysql_unmigrated_test_db_with(test, TEST_OPTIONS).await
}

async fn mysql_unmigrated_test_db_with(test: &str, opts: MySqlOptions) -> MySqlTestDb {
    let url = match std::env::var("GOSPITAL_TEST_MYSQL_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!("MySQL test {test} cannot run: GOSPITAL_TEST_MYSQL_URL is unset"),
    };
    let (server, params) = split_url(&url);
    let name = format!("gospital_test_{}", ulid::Ulid::new().to_string().to_lowercase());
    let mut admin = MySqlConnection::connect(&server).await.expect("connect to GOSPITAL_TEST_MYSQL_URL");
    admin.execute(AssertSqlSafe(format!("CREATE DATABASE `{name}`"))).await.expect("create test database");
    let _ = admin.close().await;
    // From here on the database exists, so a failure below must still drop it.
    let guard = DropDatabase { server: server.clone(), name };
    let db = MySqlDb::connect(&format!("{server}/{}{params}", guard.name), opts).await.expect("connect test database");
    MySqlTestDb { db, params, _guard: guard }
}

/// `mysql://user@host:port/db?params` → (`mysql://user@host:port`, `?params`).
fn split_url(url: &str) -> (String, String) {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let (base, params) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    (server.to_owned(), params.to_owned())
}

/// Drops the database when dropped: ends any connection still using it (a panicking test never closed its pool,
/// and an open transaction would make `DROP DATABASE` wait), then drops it. Runs on a thread of its own with its own
/// runtime, because `Drop` cannot await and may run inside the test's runtime.
struct DropDatabase {
    server: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                let mut admin = MySqlConnection::connect(&server).await?;
                let users: Vec<i64> = sqlx::query_scalar(
                    "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
                )
                .bind(&name)
                .fetch_all(&mut admin)
                .await?;
                for id in users {
                    // The connection may end by itself meanwhile; that is what we want anyway.
                    let _ = admin.execute(AssertSqlSafe(format!("KILL {id}"))).await;
                }
                admin.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{name}`"))).await?;
                admin.close().await
            })
        })
        .join();
        let failure = match dropped {
            Ok(Ok(())) => return,
            Ok(Err(e)) => format!("could not drop test database {}: {e}", self.name),
            Err(_) => format!("could not drop test database {}: the cleanup thread panicked", self.name),
        };
        // A leaked database must fail the test, but a second panic while unwinding would abort the whole run.
        if std::thread::panicking() {
            eprintln!("{failure}");
        } else {
            panic!("{failure}");
        }
    }
}

#[test]
fn the_server_part_of_a_test_url_is_kept_with_its_parameters() {
    assert_eq!(
        split_url("mysql://root@127.0.0.1:3306/test?ssl-mode=disabled"),
        ("mysql://root@127.0.0.1:3306".into(), "?ssl-mode=disabled".into())
    );
    assert_eq!(split_url("mysql://u:p@h"), ("mysql://u:p@h".into(), String::new()));
}

#[tokio::test]
#[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
async fn a_test_database_is_dropped_even_when_its_test_panics() {
    let test_db = mysql_test_db("a_test_database_is_dropped_even_when_its_test_panics").await;
    let name = test_db.name().to_owned();
    // A connection inside a transaction, as a failed assertion in the middle of a write would leave it.
    let mut busy = test_db.db.pool.acquire().await.expect("acquire");
    busy.execute("START TRANSACTION").await.expect("begin");
    sqlx::query("SELECT 1 FROM patients FOR UPDATE").execute(&mut *busy).await.expect("lock");

    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _held = (test_db, busy);
        panic!("a failing test");
    }));

    assert!(unwound.is_err());
    let (server, _) = split_url(&std::env::var("GOSPITAL_TEST_MYSQL_URL").expect("set, or we returned above"));
    let mut admin = MySqlConnection::connect(&server).await.expect("connect");
    let left: Vec<String> =
        sqlx::query_scalar("SELECT CAST(SCHEMA_NAME AS CHAR) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?")
            .bind(&name)
            .fetch_all(&mut admin)
            .await
            .expect("list databases");
    assert_eq!(left, Vec::<String>::new());
}

/// A fresh audit event for a write made outside any request (each write stores its own, under a new ID). Leaked,
/// so that concurrent writes in one expression can each borrow their own for as long as they run.
pub fn ev() -> &'static gospital::audit::AuditEvent {
    Box::leak(Box::new(gospital::audit::note::AuditNote::default().write_event(
        "contract-test",
        &[],
        gospital::domain::formats::Timestamp::from_millis(1_700_000_000_000),
    )))
}
