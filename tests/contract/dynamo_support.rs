//! DynamoDB backends for the records contract suite.
//!
//! Each test starts its own in-process DynamoDB emulator ([`Emulator`]: the `dynoxide` server over an in-memory
//! database, on `127.0.0.1:0`, stopped when dropped) and talks to it through the real SDK client, so signing,
//! error parsing and retries all run. To run the same suite against another emulator or DynamoDB Local, set
//! `GOSPITAL_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:8000`; every test then uses its own, uniquely named tables,
//! deleted when the test's backend is dropped.
//!
//! Faults a healthy emulator never produces (throttling, 5xx, a request it rejects) come from an
//! [`ErrorResponder`]: a server that answers every request with one fixed DynamoDB error, nothing else.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use gospital::store::RecordStore;
use gospital::store::dynamodb::{DynamoRecordStore, DynamoSettings};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A store on fresh tables, and whatever serves them.
pub struct DynamoBackend {
    pub store: DynamoRecordStore,
    pub settings: DynamoSettings,
    /// Held only to stop the emulator, or delete the external tables, when the test ends.
    _emulator: Option<Emulator>,
    _tables: Option<DropTables>,
}

impl DynamoBackend {
    pub fn store(&self) -> &dyn RecordStore {
        &self.store
    }
}

/// A tag for table names, unique within this process and across runs against a shared external endpoint.
fn unique_tag() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{}-{n}", std::process::id(), ulid::Ulid::new().to_string().to_lowercase())
}

/// Settings for fresh tables behind `endpoint`.
pub fn settings_for(endpoint: String) -> DynamoSettings {
    let tag = unique_tag();
    DynamoSettings {
        endpoint: Some(endpoint),
        region: "us-east-1".into(),
        records_table: format!("test-records-{tag}"),
        invoices_table: format!("test-invoices-{tag}"),
        history_table: format!("test-history-{tag}"),
        idempotency_table: format!("test-idempotency-{tag}"),
        audit_table: format!("test-audit-{tag}"),
        call_timeout: Duration::from_secs(10),
    }
}

/// A store over static test credentials (set on the loader, not in the shared process environment).
pub async fn connect(settings: DynamoSettings) -> DynamoRecordStore {
    let credentials = aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "contract-tests");
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).credentials_provider(credentials);
    DynamoRecordStore::connect_with(settings, loader).await.expect("connect DynamoDB store")
}

/// Fresh tables (not yet created) on the external endpoint or a new in-process emulator.
pub async fn unmigrated() -> DynamoBackend {
    let (emulator, tables, settings) = match std::env::var("GOSPITAL_TEST_DYNAMODB_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => {
            let settings = settings_for(endpoint);
            (None, Some(DropTables(settings.clone())), settings)
        }
        _ => {
            let emulator = Emulator::start().await;
            let settings = settings_for(emulator.endpoint());
            (Some(emulator), None, settings)
        }
    };
    DynamoBackend { store: connect(settings.clone()).await, settings, _emulator: emulator, _tables: tables }
}

/// The contract suite's `$open`: fresh, migrated tables.
pub async fn open_dynamodb() -> DynamoBackend {
    let backend = unmigrated().await;
    backend.store.migrate().await.expect("migrate DynamoDB tables");
    backend
}

/// The `dynoxide` emulator on an in-memory database, serving 127.0.0.1 until dropped.
pub struct Emulator {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Emulator {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the DynamoDB emulator");
        let addr = listener.local_addr().expect("local addr");
        let db = dynoxide::Database::memory().expect("in-memory emulator database");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = dynoxide::server::serve_with_shutdown(listener, db, shutdown).await {
                eprintln!("DynamoDB emulator on {addr}: {e}");
            }
        });
        Self { addr, stop: Some(stop) }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Deletes a test's tables on an external endpoint when dropped (best effort: a leftover table only costs space).
/// Runs on a thread of its own with its own runtime and client, because `Drop` cannot await.
struct DropTables(DynamoSettings);

impl Drop for DropTables {
    fn drop(&mut self) {
        let settings = self.0.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                let store = connect(settings.clone()).await;
                let tables = [
                    &settings.records_table,
                    &settings.invoices_table,
                    &settings.history_table,
                    &settings.idempotency_table,
                    &settings.audit_table,
                ];
                for table in tables {
                    let _ = store.client().delete_table().table_name(table).send().await;
                }
            });
        })
        .join();
    }
}

/// Answers every request with one fixed DynamoDB error (`status`, `__type` = `code`): a fault injector for one
/// error path, not a stand-in database. Stopped when dropped.
pub struct ErrorResponder {
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl ErrorResponder {
    pub async fn start(status: StatusCode, code: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the error responder");
        let addr = listener.local_addr().expect("local addr");
        let body = serde_json::json!({
            "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
            "message": "injected failure",
        })
        .to_string();
        let app = Router::new().fallback(move || {
            let body = body.clone();
            async move { (status, [(CONTENT_TYPE, "application/x-amz-json-1.0")], body) }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, task }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ErrorResponder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ---- DynamoDB-only cases: tables, the 1 MB page cap, error mapping ----

mod dynamodb_tables {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    };
    use axum::http::StatusCode;
    use gospital::domain::formats::parse_timestamp;
    use gospital::domain::ids::{DoctorId, PatientId, RecordId};
    use gospital::domain::medical_record::MedicalRecord;
    use gospital::store::dynamodb::PATIENT_INDEX;
    use gospital::store::{DateRange, MedicalRecordStore, StoreError};

    use super::{ErrorResponder, connect, open_dynamodb, settings_for, unmigrated};

    #[tokio::test]
    async fn migrate_creates_both_tables_with_the_index_and_a_second_run_is_a_no_op() {
        let backend = unmigrated().await;
        let refused = backend.store.ensure_tables().await;
        assert!(matches!(&refused, Err(StoreError::Internal(m)) if m.contains(&backend.settings.records_table)));

        backend.store.migrate().await.expect("first migrate");
        backend.store.migrate().await.expect("second migrate");
        // A second process over the same tables sees them ready without creating anything.
        connect(backend.settings.clone()).await.ensure_tables().await.expect("tables ready");

        for name in [&backend.settings.records_table, &backend.settings.invoices_table] {
            let table = backend.store.client().describe_table().table_name(name).send().await.expect("describe");
            let table = table.table.expect("description");
            assert_eq!(table.table_status(), Some(&TableStatus::Active));
            let index = table.global_secondary_indexes().iter().find(|i| i.index_name() == Some(PATIENT_INDEX));
            assert!(index.is_some(), "{name} has no {PATIENT_INDEX}");
        }
    }

    #[tokio::test]
    async fn an_existing_table_with_another_key_schema_is_refused_by_name() {
        let backend = unmigrated().await;
        let name = &backend.settings.invoices_table;
        let key = KeySchemaElement::builder().attribute_name("id").key_type(KeyType::Hash).build().expect("key");
        let attr = AttributeDefinition::builder()
            .attribute_name("id")
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute");
        backend
            .store
            .client()
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key)
            .attribute_definitions(attr)
            .send()
            .await
            .expect("create a foreign table");

        let migrated = backend.store.migrate().await;
        let ensured = backend.store.ensure_tables().await;

        for result in [migrated, ensured] {
            match result {
                Err(StoreError::Internal(message)) => {
                    assert!(message.contains(name.as_str()) && message.contains("wrong key schema"), "{message}")
                }
                other => panic!("expected a key-schema refusal, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_list_spanning_several_1_mb_query_pages_is_not_cut() {
        // Items of ~300 KB: a Query page stops at 1 MB after a few of them, whatever its Limit.
        let backend = open_dynamodb().await;
        let patient = PatientId::generate();
        let bulky = "x".repeat(300 * 1024);
        let mut ids = vec![];
        for day in 1..=8 {
            let at = parse_timestamp(&format!("2026-03-{day:02}T09:00:00.000Z")).expect("valid timestamp");
            let record = MedicalRecord {
                record_id: RecordId::generate(),
                patient_id: patient.clone(),
                doctor_id: DoctorId::generate(),
                doctor_name: "Dr. Gregory House".into(),
                appointment_id: None,
                visit_date: at,
                chief_complaint: "Headache".into(),
                diagnosis: None,
                symptoms: vec![],
                treatment: None,
                prescriptions: vec![],
                lab_results: vec![],
                vital_signs: None,
                notes: Some(bulky.clone()),
                follow_up_date: None,
                amendment_reason: None,
                version: 1,
                created_at: at,
                updated_at: at,
            };
            backend
                .store
                .insert_record(
                    &record,
                    None,
                    &gospital::audit::note::AuditNote::default().write_event("bulky", &[], record.created_at),
                )
                .await
                .expect("insert a bulky record");
            ids.push(record.record_id);
        }

        // The emulator really caps a page: one Query with room for all eight returns fewer, and a start key.
        let one_query = backend
            .store
            .client()
            .query()
            .table_name(&backend.settings.records_table)
            .index_name(PATIENT_INDEX)
            .key_condition_expression("patientId = :p")
            .expression_attribute_values(":p", AttributeValue::S(patient.as_str().to_owned()))
            .limit(20)
            .send()
            .await
            .expect("one raw Query");
        let (count, more) = (one_query.count(), one_query.last_evaluated_key().is_some());
        assert!(count < 8 && more, "one Query returned {count} items, start key: {more}");

        let page = backend.store.list_patient_records(&patient, DateRange::default(), 10, None).await.expect("list");

        ids.reverse();
        assert_eq!(page.items.iter().map(|r| r.record_id.clone()).collect::<Vec<_>>(), ids);
        assert!(page.next.is_none());
    }

    #[tokio::test]
    async fn throttling_and_server_errors_are_unavailable_and_hide_nothing_else() {
        for (status, code) in [
            (StatusCode::BAD_REQUEST, "ThrottlingException"),
            (StatusCode::BAD_REQUEST, "ProvisionedThroughputExceededException"),
            (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
            (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
        ] {
            let responder = ErrorResponder::start(status, code).await;
            let store = connect(settings_for(responder.endpoint())).await;
            let got = store.get_record(&RecordId::generate()).await;
            assert!(matches!(got, Err(StoreError::Unavailable(_))), "{code}: {got:?}");
        }
        let responder = ErrorResponder::start(StatusCode::BAD_REQUEST, "ValidationException").await;
        let store = connect(settings_for(responder.endpoint())).await;
        let got = store.list_patient_records(&PatientId::generate(), DateRange::default(), 10, None).await;
        assert!(matches!(got, Err(StoreError::Internal(_))), "{got:?}");
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_unavailable() {
        // Bind then drop a listener: nothing accepts on that port any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let settings = gospital::store::dynamodb::DynamoSettings {
            call_timeout: std::time::Duration::from_secs(3),
            ..settings_for(format!("http://127.0.0.1:{port}"))
        };
        let store = connect(settings).await;
        let got = gospital::store::RecordStore::ping(&store).await;
        assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
    }
}
