//! Stores behind fault proxies, apps over them, and the checks every fault test repeats.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gospital::config::Config;
use gospital::store::dynamodb::DynamoRecordStore;
use gospital::store::mysql::{MySqlClinicStore, MySqlDb, MySqlOptions};
use gospital::store::{ClinicStore, RecordStore};
use serde_json::{Value, json};

use crate::dynamo_support::{Emulator, connect, settings_for};
use crate::helpers::{Res, TestApp, s};
use crate::proxy::FaultProxy;
use crate::support::MySqlTestDb;

/// Pool settings for MySQL behind a proxy: the defaults `serve` uses (pool 8, connection wait 2 s, statement
/// 5 s), so a store that hangs meets the 1 s request deadline first, as in production.
const POOL: MySqlOptions = MySqlOptions {
    max_connections: 8,
    acquire_timeout: Duration::from_millis(2000),
    statement_timeout: Duration::from_secs(5),
};

/// A fresh MySQL test database, reached through a fault proxy.
pub struct ProxiedMySql {
    pub proxy: FaultProxy,
    /// The pool through the proxy (what the service uses).
    pub db: MySqlDb,
    /// The test database itself, reached directly: the tests' view of what really got stored.
    pub direct: MySqlTestDb,
}

impl ProxiedMySql {
    /// Needs `GOSPITAL_TEST_MYSQL_URL`: callers are built ignored without it (see `support.rs`).
    pub async fn open(test: &str) -> Self {
        let direct = crate::support::mysql_test_db(test).await;
        let proxy = FaultProxy::start(direct.server_addr()).await;
        let db = MySqlDb::connect(&direct.url_via(proxy.addr()), POOL).await.expect("connect through the proxy");
        Self { proxy, db, direct }
    }

    pub fn clinic(&self) -> Arc<dyn ClinicStore> {
        Arc::new(MySqlClinicStore::new(self.db.clone()))
    }

    /// Rows of `table` as stored, read past the proxy.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&self.direct.db.pool)
            .await
            .expect("count rows directly")
    }
}

/// An in-process DynamoDB emulator with migrated tables, reached through a fault proxy.
pub struct ProxiedDynamo {
    pub proxy: FaultProxy,
    pub store: DynamoRecordStore,
    _emulator: Emulator,
}

impl ProxiedDynamo {
    pub async fn open() -> Self {
        let emulator = Emulator::start().await;
        let upstream: SocketAddr = emulator.endpoint().trim_start_matches("http://").parse().expect("emulator address");
        let proxy = FaultProxy::start(upstream).await;
        let mut settings = settings_for(format!("http://{}", proxy.addr()));
        // Below the request deadline, so a refused emulator is a 503 from the store rather than a 504.
        settings.call_timeout = Duration::from_millis(600);
        let store = connect(settings).await;
        store.migrate().await.expect("migrate through the proxy");
        Self { proxy, store, _emulator: emulator }
    }

    pub fn records(&self) -> Arc<dyn RecordStore> {
        Arc::new(self.store.clone())
    }
}

/// Test defaults with a tweak; the shedder stays off (see `Config::for_tests`).
pub fn config(tweak: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config::for_tests("unused://");
    tweak(&mut config);
    config
}

/// An app over the given stores; the stores' owners stay with the test, so it can cut them.
pub fn app(config: &Config, clinic: Arc<dyn ClinicStore>, records: Arc<dyn RecordStore>) -> TestApp {
    TestApp::over(config, clinic, records, Box::new(()))
}

/// IDs created while every store was up.
pub struct Seed {
    pub patient: String,
    pub doctor: String,
    pub record: String,
    pub invoice: String,
}

/// A patient and doctor (R), and a medical record and invoice for them (D).
pub async fn seed(app: &TestApp, tag: &str) -> Seed {
    let patient = s(&app.create_patient(&format!("{tag}@example.org")).await, "patientId").to_owned();
    let doctor = s(&app.create_doctor(&format!("LIC-{tag}"), "DEPT-001").await, "doctorId").to_owned();
    let rec = app
        .post(
            "/api/v1/medical-records",
            &json!({"patientId": patient, "doctorId": doctor,
                    "visitDate": "2026-11-20T09:30:00Z", "chiefComplaint": "Cough"}),
        )
        .await;
    rec.assert(201);
    let inv = app
        .post(
            "/api/v1/billing/invoices",
            &json!({"patientId": patient, "invoiceDate": "2026-11-25", "dueDate": "2026-12-25",
                    "items": [{"description": "Consultation", "quantity": 1, "unitPrice": 150.00}]}),
        )
        .await;
    inv.assert(201);
    Seed { patient, doctor, record: s(&rec.body, "recordId").to_owned(), invoice: s(&inv.body, "invoiceId").to_owned() }
}

/// A 504 REQUEST_TIMEOUT naming the request budget.
#[track_caller]
pub fn assert_timeout(res: &Res, budget_ms: u64) {
    res.assert_error(504, "REQUEST_TIMEOUT");
    assert_eq!(res.details(), vec![format!("Timeout: {budget_ms}ms")]);
}

/// Sends `GET path` and times it.
pub async fn timed_get(app: &TestApp, path: &str) -> (Res, Duration) {
    let started = Instant::now();
    let res = app.get(path).await;
    (res, started.elapsed())
}

/// Requests `path` until `open()` says the breaker opened. Until then each answer must be a failure the client
/// can retry (503, or 504 when the store hung past the deadline): never a 200 or a 500.
pub async fn fail_until_open(app: &TestApp, path: &str, open: impl Fn() -> bool) -> usize {
    for attempt in 0..30 {
        if open() {
            return attempt;
        }
        let res = app.get(path).await;
        assert!(matches!(res.status.as_u16(), 503 | 504), "a cut store is a 503/504, got: {} {}", res.status, res.text);
    }
    panic!("the breaker did not open after 30 failed requests");
}

/// Polls `path` every 20 ms until it answers 200; returns how long that took. Panics after `limit`.
pub async fn until_ok(app: &TestApp, path: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let res = app.get(path).await;
        if res.status.as_u16() == 200 {
            return started.elapsed();
        }
        assert!(matches!(res.status.as_u16(), 503 | 504), "while recovering: {} {}", res.status, res.text);
        assert!(started.elapsed() < limit, "{path} did not recover within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The body's `checks.<name>`.
pub fn check<'a>(health: &'a Res, name: &str) -> &'a Value {
    &health.body["checks"][name]
}

/// What a store cut under a steady load looked like from the client.
#[derive(Debug)]
pub struct CutUnderLoad {
    /// Status and latency of the first request sent after the cut.
    pub first: (u16, Duration),
    /// From the cut until the breaker was seen open.
    pub opened_after: Duration,
    /// Statuses of every request after the cut, in order.
    pub statuses: Vec<u16>,
}

/// Sends `GET path` at 50 req/s: half a second of 200s, then `cut`, then on until `open()` holds (at most 3 s).
pub async fn cut_under_steady_load(
    app: &TestApp,
    path: &str,
    cut: impl std::future::Future<Output = ()>,
    open: impl Fn() -> bool,
) -> CutUnderLoad {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for _ in 0..25 {
        tick.tick().await;
        app.get(path).await.assert(200);
    }
    tick.tick().await;
    cut.await;
    let cut_at = Instant::now();
    let mut first = None;
    let mut statuses = Vec::new();
    while !open() {
        assert!(cut_at.elapsed() < Duration::from_secs(3), "the breaker did not open within 3 s: {statuses:?}");
        let (res, took) = timed_get(app, path).await;
        first.get_or_insert((res.status.as_u16(), took));
        statuses.push(res.status.as_u16());
        tick.tick().await;
    }
    CutUnderLoad { first: first.unwrap_or((0, Duration::ZERO)), opened_after: cut_at.elapsed(), statuses }
}

/// The promises of a connection-level cut (refused or reset): the first request after it is a 503 answered
/// within 50 ms, no request waits for its deadline (no 504), and the breaker opens within 1 s at 50 req/s.
#[track_caller]
pub fn assert_noticed_fast(what: &str, cut: &CutUnderLoad) {
    eprintln!(
        "{what}: first answer after the cut {} in {:?}; breaker open after {:?}; statuses {:?}",
        cut.first.0, cut.first.1, cut.opened_after, cut.statuses
    );
    assert_eq!(cut.first.0, 503, "{what}: the first request after the cut");
    assert!(cut.first.1 < Duration::from_millis(50), "{what}: first 503 took {:?}", cut.first.1);
    assert!(cut.statuses.iter().all(|&s| s == 503), "{what}: every answer a fast 503: {:?}", cut.statuses);
    assert!(cut.opened_after < Duration::from_secs(1), "{what}: breaker opened after {:?}", cut.opened_after);
}

/// Held by the tests that open a breaker and then read its process-wide metrics (the state gauges and the
/// transition counters have no per-app label), so two of them never see each other's trips.
pub static BREAKER_METRICS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
