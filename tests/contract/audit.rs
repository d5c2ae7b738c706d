//! The audit port's contract (SECURITY.md §5), stamped on every adapter of D (SQLite, MySQL, DynamoDB) and on R's
//! SQLite adapter beside D in one file: events stored, sequenced by the real sequencer into one contiguous chain
//! with a signed checkpoint, one lease holder at a time, newest-first pages with filters, and `audit verify`'s
//! checks catching each kind of tampering made directly in the database.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use gospital::audit::sequencer::Sequencer;
use gospital::audit::verify::{Kind, Problem, verify};
use gospital::audit::{Action, ActorRecord, AuditEvent, AuditFilter, Chain, CheckpointKey, EventRecord, ResourceType};
use gospital::domain::formats::Timestamp;
use gospital::store::sqlite::{SqliteDb, SqliteOptions};
use gospital::store::sqlite_records::SqliteRecordStore;
use gospital::store::{AuditStore, StoreError};
use sqlx::AssertSqlSafe;

/// A store under test and a way to change its rows behind its back.
struct Backend {
    store: Arc<dyn AuditStore>,
    chain: Chain,
    tamper: Tamper,
    _keep: Box<dyn std::any::Any + Send + Sync>,
}

/// Raw access to the stored trail.
enum Tamper {
    Sqlite(sqlx::SqlitePool),
    MySql(sqlx::MySqlPool),
    Dynamo(aws_sdk_dynamodb::Client, String),
}

impl Tamper {
    async fn sql(&self, statement: String) {
        match self {
            Tamper::Sqlite(pool) => {
                sqlx::query(AssertSqlSafe(statement)).execute(pool).await.expect("tamper");
            }
            Tamper::MySql(pool) => {
                sqlx::query(AssertSqlSafe(statement)).execute(pool).await.expect("tamper");
            }
            Tamper::Dynamo(..) => unreachable!(),
        }
    }

    /// Changes the stored body of the event at `seq` (its outcome 200 becomes 299).
    async fn modify(&self, chain: Chain, seq: i64, id: &str) {
        match self {
            Tamper::Dynamo(client, table) => {
                let item = client.get_item().table_name(table).key("pk", s(id)).send().await.unwrap().item.unwrap();
                let body = item["body"].as_s().unwrap().replace("\"outcome\":200", "\"outcome\":299");
                client
                    .update_item()
                    .table_name(table)
                    .key("pk", s(id))
                    .update_expression("SET body = :b")
                    .expression_attribute_values(":b", s(&body))
                    .send()
                    .await
                    .unwrap();
            }
            _ => {
                self.sql(format!(
                    "UPDATE audit_events SET body = REPLACE(body, '\"outcome\":200', '\"outcome\":299') \
                     WHERE chain = '{chain}' AND seq = {seq}"
                ))
                .await
            }
        }
    }

    async fn delete(&self, chain: Chain, seq: i64, id: &str) {
        match self {
            Tamper::Dynamo(client, table) => {
                client.delete_item().table_name(table).key("pk", s(id)).send().await.unwrap();
                client.delete_item().table_name(table).key("pk", s(&format!("seq#{seq:020}"))).send().await.unwrap();
            }
            _ => self.sql(format!("DELETE FROM audit_events WHERE chain = '{chain}' AND seq = {seq}")).await,
        }
    }

    /// Exchanges the seqs of two events (each keeps its own body and hash).
    async fn swap(&self, chain: Chain, (a, id_a): (i64, &str), (b, id_b): (i64, &str)) {
        match self {
            Tamper::Dynamo(client, table) => {
                for (id, seq) in [(id_a, b), (id_b, a)] {
                    client
                        .update_item()
                        .table_name(table)
                        .key("pk", s(id))
                        .update_expression("SET seq = :s")
                        .expression_attribute_values(":s", AttributeValue::N(seq.to_string()))
                        .send()
                        .await
                        .unwrap();
                    client
                        .update_item()
                        .table_name(table)
                        .key("pk", s(&format!("seq#{seq:020}")))
                        .update_expression("SET eventId = :e")
                        .expression_attribute_values(":e", s(id))
                        .send()
                        .await
                        .unwrap();
                }
            }
            _ => {
                self.sql(format!("UPDATE audit_events SET seq = -1 WHERE chain = '{chain}' AND seq = {a}")).await;
                self.sql(format!("UPDATE audit_events SET seq = {a} WHERE chain = '{chain}' AND seq = {b}")).await;
                self.sql(format!("UPDATE audit_events SET seq = {b} WHERE chain = '{chain}' AND seq = -1")).await;
            }
        }
    }

    /// Deletes every event from `seq` on, and every stored checkpoint (an intruder would).
    async fn cut_tail(&self, chain: Chain, events: &[AuditEvent], from: i64) {
        match self {
            Tamper::Dynamo(client, table) => {
                for e in events.iter().filter(|e| e.seq.unwrap() >= from) {
                    let seq = e.seq.unwrap();
                    client.delete_item().table_name(table).key("pk", s(&e.record.event_id)).send().await.unwrap();
                    client
                        .delete_item()
                        .table_name(table)
                        .key("pk", s(&format!("seq#{seq:020}")))
                        .send()
                        .await
                        .unwrap();
                }
                let cps = client.scan().table_name(table).send().await.unwrap().items.unwrap_or_default();
                for item in cps.iter().filter(|i| i["pk"].as_s().unwrap().starts_with("checkpoint#")) {
                    client.delete_item().table_name(table).key("pk", item["pk"].clone()).send().await.unwrap();
                }
            }
            _ => {
                self.sql(format!("DELETE FROM audit_events WHERE chain = '{chain}' AND seq >= {from}")).await;
                self.sql(format!("DELETE FROM audit_checkpoints WHERE chain = '{chain}'")).await;
            }
        }
    }

    /// Rewrites the stored checkpoint's hash without being able to sign it.
    async fn forge_checkpoint(&self, chain: Chain, seq: i64) {
        let forged = "f".repeat(64);
        match self {
            Tamper::Dynamo(client, table) => {
                client
                    .update_item()
                    .table_name(table)
                    .key("pk", s(&format!("checkpoint#{seq:020}")))
                    .update_expression("SET #h = :h")
                    .expression_attribute_names("#h", "hash")
                    .expression_attribute_values(":h", s(&forged))
                    .send()
                    .await
                    .unwrap();
            }
            _ => {
                self.sql(format!(
                    "UPDATE audit_checkpoints SET hash = '{forged}' WHERE chain = '{chain}' AND seq = {seq}"
                ))
                .await
            }
        }
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

macro_rules! audit_backend_tests {
    ($backend:ident, $open:path; $($case:ident),+ $(,)?) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $case() {
                    let backend = $open(stringify!($case)).await;
                    super::$case(&backend).await;
                }
            )+
        }
    };
    // MySQL, which this machine may not offer: built ignored without `GOSPITAL_TEST_MYSQL_URL` (see support.rs).
    (optional $backend:ident, $open:path; $($case:ident),+ $(,)?) => {
        mod $backend {
            $(
                #[tokio::test]
                #[cfg_attr(not(gospital_mysql_tests), ignore = "GOSPITAL_TEST_MYSQL_URL unset at build time")]
                async fn $case() {
                    let backend = $open(stringify!($case)).await;
                    super::$case(&backend).await;
                }
            )+
        }
    };
}

macro_rules! audit_cases {
    ($($backend:tt)+) => {
        audit_backend_tests!($($backend)+;
            stored_events_are_sequenced_contiguously_with_a_checkpoint_and_verify,
            one_lease_holder_at_a_time_and_a_lost_lease_places_nothing,
            pages_are_newest_first_and_filtered,
            a_modified_event_is_caught,
            a_deleted_event_is_caught,
            swapped_events_are_caught,
            a_cut_tail_is_caught_by_the_logged_checkpoint,
            a_forged_checkpoint_is_caught,
        );
    };
}

audit_cases!(sqlite_d, super::open_sqlite_d);
audit_cases!(sqlite_r, super::open_sqlite_r);
audit_cases!(dynamodb, super::open_dynamodb);
audit_cases!(optional mysql_d, super::open_mysql_d);

async fn sqlite_db() -> (SqliteDb, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    let opts = SqliteOptions {
        busy_timeout: Duration::from_secs(5),
        read_connections: 4,
        acquire_timeout: Duration::from_secs(5),
        synchronous: sqlx::sqlite::SqliteSynchronous::Full,
    };
    let db = SqliteDb::open(&url, opts).await.expect("open SQLite");
    db.migrate().await.expect("migrate SQLite");
    (db, dir)
}

async fn open_sqlite_d(_: &str) -> Backend {
    let (db, dir) = sqlite_db().await;
    Backend {
        tamper: Tamper::Sqlite(db.write.clone()),
        store: Arc::new(SqliteRecordStore::new(db)),
        chain: Chain::D,
        _keep: Box::new(dir),
    }
}

/// R's chain, with D's events stored beside it in the same tables: neither chain may see the other's events.
async fn open_sqlite_r(_: &str) -> Backend {
    let (db, dir) = sqlite_db().await;
    let d = SqliteRecordStore::new(db.clone());
    let others: Vec<AuditEvent> = (0..5).map(|i| event(i, Chain::D)).collect();
    d.insert_audit_events(&others).await.expect("D's events");
    Backend {
        tamper: Tamper::Sqlite(db.write.clone()),
        store: Arc::new(gospital::store::sqlite::SqliteClinicStore::new(db)),
        chain: Chain::R,
        _keep: Box::new((dir, d)),
    }
}

async fn open_mysql_d(test: &str) -> Backend {
    let test_db = crate::support::mysql_test_db(test).await;
    Backend {
        tamper: Tamper::MySql(test_db.db.pool.clone()),
        store: Arc::new(gospital::store::mysql::MySqlRecordStore::new(test_db.db.clone())),
        chain: Chain::D,
        _keep: Box::new(test_db),
    }
}

async fn open_dynamodb(_: &str) -> Backend {
    let backend = crate::dynamo_support::open_dynamodb().await;
    let client = backend.store.client().clone();
    let table = backend.settings.audit_table.clone();
    Backend {
        store: Arc::new(backend.store.clone()),
        chain: Chain::D,
        tamper: Tamper::Dynamo(client, table),
        _keep: Box::new(backend),
    }
}

fn event(i: i64, chain: Chain) -> AuditEvent {
    AuditEvent::new(
        EventRecord {
            event_id: gospital::audit::new_event_id(),
            recorded_at: Timestamp::from_millis(1_764_000_000_000 + i * 1_000),
            actor: ActorRecord {
                sub: format!("user-{}", i % 3),
                roles: vec!["doctor".into()],
                name: None,
                patient_id: None,
            },
            action: if i % 2 == 0 { Action::Read } else { Action::Update },
            outcome: 200,
            method: "GET".into(),
            route: "/api/v1/medical-records/{recordId}".into(),
            resource_type: Some(if i % 4 == 0 { ResourceType::Invoice } else { ResourceType::MedicalRecord }),
            resource_id: None,
            patient_ids: vec![format!("PAT-01M88ZQHVRM9S346Q3D25VT4F{}", i % 2)],
            query: vec![],
            request_id: format!("req-{i}"),
            source_ip: "127.0.0.1".into(),
        },
        chain,
    )
}

fn key() -> Arc<CheckpointKey> {
    static PATH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let path =
        PATH.get_or_init(|| std::env::temp_dir().join(format!("gospital-contract-audit-{}.key", std::process::id())));
    Arc::new(CheckpointKey::load_or_create(path).expect("audit key"))
}

/// `n` events stored and placed by one sequencer round; the chain as stored afterwards.
async fn chain_of(b: &Backend, n: i64) -> Vec<AuditEvent> {
    let events: Vec<AuditEvent> = (0..n).map(|i| event(i, b.chain)).collect();
    b.store.insert_audit_events(&events[..n as usize / 2]).await.expect("insert");
    b.store.insert_audit_events(&events[n as usize / 2..]).await.expect("insert");
    let sequencer = Sequencer::new(b.chain, b.store.clone(), key(), "instance-a".into());
    let round = sequencer.round().await.expect("round");
    assert!(round.held);
    assert_eq!(round.placed, n as u64);
    assert_eq!(round.checkpoints, 1, "the first checkpoint is due at once");
    b.store.audit_chain(0, 10_000).await.expect("chain")
}

async fn verdict(
    b: &Backend,
    external: &[gospital::audit::Checkpoint],
) -> Result<gospital::audit::verify::Report, Problem> {
    verify(b.store.as_ref(), b.chain, &key(), external).await.expect("readable")
}

async fn stored_events_are_sequenced_contiguously_with_a_checkpoint_and_verify(b: &Backend) {
    let chain = chain_of(b, 40).await;
    assert_eq!(chain.len(), 40);
    for (i, e) in chain.iter().enumerate() {
        assert_eq!(e.seq, Some(i as i64 + 1));
        assert_eq!(e.store, b.chain);
    }
    assert_eq!(b.store.count_unsequenced_audit_events().await.unwrap(), 0);
    let head = b.store.audit_head().await.unwrap().expect("head");
    assert_eq!((head.seq, Some(head.hash.as_str())), (40, chain[39].hash.as_deref()));
    let report = verdict(b, &[]).await.expect("an untouched chain verifies");
    assert_eq!((report.events, report.checkpoints, report.pending), (40, 1, 0));
    // More events, a later round: the chain goes on from its head.
    b.store.insert_audit_events(&[event(100, b.chain)]).await.unwrap();
    assert_eq!(verdict(b, &[]).await.unwrap().pending, 1, "an unsequenced event is counted, not judged");
    let sequencer = Sequencer::new(b.chain, b.store.clone(), key(), "instance-a".into());
    assert_eq!(sequencer.round().await.unwrap().placed, 1);
    assert_eq!(b.store.audit_chain(40, 10).await.unwrap()[0].seq, Some(41));
    assert!(verdict(b, &[]).await.is_ok());
}

async fn one_lease_holder_at_a_time_and_a_lost_lease_places_nothing(b: &Backend) {
    let t = Timestamp::from_millis;
    let now = chrono::Utc::now().timestamp_millis();
    assert!(b.store.acquire_audit_lease("a", t(now), t(now + 5_000)).await.unwrap());
    assert!(!b.store.acquire_audit_lease("b", t(now + 1_000), t(now + 6_000)).await.unwrap(), "a holds it");
    assert!(b.store.acquire_audit_lease("a", t(now + 1_000), t(now + 6_000)).await.unwrap(), "a renews");
    assert!(b.store.acquire_audit_lease("b", t(now + 6_000), t(now + 11_000)).await.unwrap(), "expired: b takes over");
    let e = event(1, b.chain);
    b.store.insert_audit_events(std::slice::from_ref(&e)).await.unwrap();
    let (placed, _) = gospital::audit::sequencer::place(None, std::slice::from_ref(&e));
    let lost = b.store.sequence_audit_events("a", t(now + 6_500), t(now + 11_500), &placed).await;
    assert!(matches!(lost, Err(StoreError::ClaimLost)), "{lost:?}");
    assert_eq!(b.store.count_unsequenced_audit_events().await.unwrap(), 1, "nothing placed");
    b.store.sequence_audit_events("b", t(now + 6_500), t(now + 11_500), &placed).await.expect("the holder places");
    let again = b.store.sequence_audit_events("b", t(now + 7_000), t(now + 12_000), &placed).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "a seq is given once: {again:?}");
}

async fn pages_are_newest_first_and_filtered(b: &Backend) {
    let chain = chain_of(b, 12).await;
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = b.store.list_audit_events(&AuditFilter::default(), 5, after.as_ref()).await.unwrap();
        seen.extend(page.items.iter().map(|e| e.record.request_id.clone()));
        match page.next {
            Some(k) => after = Some(k),
            None => break,
        }
    }
    let want: Vec<String> = (0..12).rev().map(|i| format!("req-{i}")).collect();
    assert_eq!(seen, want, "newest first, every event once");
    let page = b.store.list_audit_events(&AuditFilter::default(), 100, None).await.unwrap();
    assert!(page.items.iter().all(|e| e.seq.is_some() && e.hash.is_some()), "listed events show their place");
    let filter = AuditFilter {
        patient_id: Some("PAT-01M88ZQHVRM9S346Q3D25VT4F0".into()),
        actor_sub: Some("user-0".into()),
        from_ms: Some(chain[1].record.recorded_at.millis()),
        to_ms: Some(chain[10].record.recorded_at.millis()),
        ..AuditFilter::default()
    };
    let got: Vec<String> = b
        .store
        .list_audit_events(&filter, 100, None)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.record.request_id)
        .collect();
    // Even i (patient …F0), i % 3 == 0 (user-0), 1 ≤ i ≤ 10: 6.
    assert_eq!(got, vec!["req-6"]);
    let filter = AuditFilter {
        resource_type: Some(ResourceType::Invoice),
        action: Some(Action::Read),
        ..AuditFilter::default()
    };
    let got: Vec<String> = b
        .store
        .list_audit_events(&filter, 2, None)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.record.request_id)
        .collect();
    assert_eq!(got, vec!["req-8", "req-4"]);
    // A cursor already below `from` leaves nothing (DynamoDB would refuse the reversed key range).
    let late = AuditFilter { from_ms: Some(chain[5].record.recorded_at.millis()), ..AuditFilter::default() };
    let below = gospital::audit::event_key(&chain[2]);
    let page = b.store.list_audit_events(&late, 10, Some(&below)).await.expect("an empty page, not an error");
    assert!(page.items.is_empty() && page.next.is_none());
}

async fn a_modified_event_is_caught(b: &Backend) {
    let chain = chain_of(b, 10).await;
    b.tamper.modify(b.chain, 4, &chain[3].record.event_id).await;
    assert_eq!(verdict(b, &[]).await, Err(Problem { store: b.chain, seq: 4, kind: Kind::Modified }));
}

async fn a_deleted_event_is_caught(b: &Backend) {
    let chain = chain_of(b, 10).await;
    b.tamper.delete(b.chain, 5, &chain[4].record.event_id).await;
    assert_eq!(verdict(b, &[]).await, Err(Problem { store: b.chain, seq: 5, kind: Kind::Missing }));
}

async fn swapped_events_are_caught(b: &Backend) {
    let chain = chain_of(b, 10).await;
    b.tamper.swap(b.chain, (3, &chain[2].record.event_id), (7, &chain[6].record.event_id)).await;
    assert_eq!(verdict(b, &[]).await, Err(Problem { store: b.chain, seq: 3, kind: Kind::Reordered }));
}

async fn a_cut_tail_is_caught_by_the_logged_checkpoint(b: &Backend) {
    let chain = chain_of(b, 10).await;
    let logged = b.store.audit_checkpoints().await.unwrap();
    assert_eq!(logged.last().map(|c| c.seq), Some(10));
    b.tamper.cut_tail(b.chain, &chain, 8).await;
    assert!(verdict(b, &[]).await.is_ok(), "without the copy, a cut tail looks like a shorter chain");
    assert_eq!(verdict(b, &logged).await, Err(Problem { store: b.chain, seq: 8, kind: Kind::Truncated }));
}

async fn a_forged_checkpoint_is_caught(b: &Backend) {
    chain_of(b, 10).await;
    b.tamper.forge_checkpoint(b.chain, 10).await;
    assert_eq!(verdict(b, &[]).await, Err(Problem { store: b.chain, seq: 10, kind: Kind::BadSignature }));
}
