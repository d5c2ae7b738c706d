//! DynamoDB backends for the records contract suite.
//!
//! By default each test gets its own in-process stand-in for DynamoDB ([`FakeDynamo`]): an axum server that speaks
//! the DynamoDB JSON protocol (`X-Amz-Target: DynamoDB_20120810.*`) for exactly the operations and expression forms
//! the adapter uses, strictly (anything else is a `ValidationException`), so the real SDK client, signing, error
//! parsing and retries all run. Why not the `dynoxide-rs` emulator in-process: it links `rusqlite` 0.36
//! (`libsqlite3-sys` 0.34) while sqlx 0.8 links `libsqlite3-sys` 0.30, and cargo allows one `links = "sqlite3"`
//! package per build. To run the same suite against a real emulator or DynamoDB Local, set
//! `GOSPITAL_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:8000`; every test then uses its own, uniquely named tables.
//!
//! The stand-in mimics the DynamoDB behaviours the adapter must survive: a Query page stops after `Limit`
//! evaluated items *or* a small size cap (standing in for the 1 MB limit), returns `LastEvaluatedKey` whenever it
//! stopped early (even with nothing left), applies `FilterExpression` after `Limit`, refuses an
//! `ExclusiveStartKey` outside the key condition, and reports a new table as CREATING until it is described.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gospital::store::RecordStore;
use gospital::store::dynamodb::{DynamoRecordStore, DynamoSettings};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

/// Items a Query page evaluates at most, whatever its `Limit`: stands in for DynamoDB's 1 MB page cap.
pub const PAGE_CAP: usize = 7;

/// A store on fresh tables, and the server behind it when it is in-process.
pub struct DynamoBackend {
    pub store: DynamoRecordStore,
    pub settings: DynamoSettings,
    pub fake: Option<FakeDynamo>,
}

impl DynamoBackend {
    pub fn store(&self) -> &dyn RecordStore {
        &self.store
    }
}

/// Table names unique within this process and across runs against a shared external endpoint.
fn unique_tables() -> (String, String) {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tag = format!("{}-{}-{n}", std::process::id(), ulid::Ulid::new().to_string().to_lowercase());
    (format!("test-records-{tag}"), format!("test-invoices-{tag}"))
}

/// A store over static test credentials (set on the loader, not in the shared process environment).
pub async fn connect(settings: DynamoSettings) -> DynamoRecordStore {
    let credentials = aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "contract-tests");
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).credentials_provider(credentials);
    DynamoRecordStore::connect_with(settings, loader).await.expect("connect DynamoDB store")
}

/// Fresh tables (not yet created) on the external endpoint or a new in-process stand-in.
pub async fn unmigrated() -> DynamoBackend {
    let (fake, endpoint) = match std::env::var("GOSPITAL_TEST_DYNAMODB_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => (None, endpoint),
        _ => {
            let fake = FakeDynamo::start().await;
            let endpoint = fake.endpoint();
            (Some(fake), endpoint)
        }
    };
    let (records_table, invoices_table) = unique_tables();
    let settings = DynamoSettings {
        endpoint: Some(endpoint),
        region: "us-east-1".into(),
        records_table,
        invoices_table,
        call_timeout: Duration::from_secs(10),
    };
    DynamoBackend { store: connect(settings.clone()).await, settings, fake }
}

/// The contract suite's `$open`: fresh, migrated tables.
pub async fn open_dynamodb() -> DynamoBackend {
    let backend = unmigrated().await;
    backend.store.migrate().await.expect("migrate DynamoDB tables");
    backend
}

// ---- the in-process stand-in ----

type Item = Map<String, Value>;

#[derive(Default)]
struct Table {
    description: Value,
    id_attr: String,
    /// (partition, sort) attribute names of each GSI.
    indexes: HashMap<String, (String, String)>,
    items: BTreeMap<String, Item>,
    active: bool,
}

#[derive(Default)]
struct Fake {
    tables: HashMap<String, Table>,
    /// When set, every request fails with this status and error code (to test error mapping).
    failure: Option<(StatusCode, String)>,
}

/// A DynamoDB stand-in on 127.0.0.1, stopped when dropped.
pub struct FakeDynamo {
    addr: std::net::SocketAddr,
    state: Arc<Mutex<Fake>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeDynamo {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeDynamo {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake DynamoDB");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(Fake::default()));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, state, task }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Makes every later request fail with `status` and the error `code` (None: back to normal).
    pub fn fail_with(&self, failure: Option<(StatusCode, &str)>) {
        let mut fake = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        fake.failure = failure.map(|(status, code)| (status, code.to_owned()));
    }
}

struct Failure(StatusCode, &'static str, String);

fn validation(message: impl Into<String>) -> Failure {
    Failure(StatusCode::BAD_REQUEST, "ValidationException", message.into())
}

fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"), "message": message });
    (status, [("content-type", "application/x-amz-json-1.0")], body.to_string()).into_response()
}

async fn handle(State(state): State<Arc<Mutex<Fake>>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let mut fake = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((status, code)) = &fake.failure {
        return error_response(*status, code, "injected failure");
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, "SerializationException", &e.to_string()),
    };
    let result = match target.strip_prefix("DynamoDB_20120810.") {
        Some("CreateTable") => create_table(&mut fake, &request),
        Some("DescribeTable") => describe_table(&mut fake, &request),
        Some("PutItem") => put_item(&mut fake, &request),
        Some("GetItem") => get_item(&fake, &request),
        Some("Query") => query(&fake, &request),
        _ => Err(Failure(StatusCode::BAD_REQUEST, "UnknownOperationException", target.clone())),
    };
    match result {
        Ok(body) => {
            (StatusCode::OK, [("content-type", "application/x-amz-json-1.0")], body.to_string()).into_response()
        }
        Err(Failure(status, code, message)) => error_response(status, code, &message),
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Result<&'a str, Failure> {
    v.get(key).and_then(Value::as_str).ok_or_else(|| validation(format!("missing {key}")))
}

fn table_mut<'a>(fake: &'a mut Fake, request: &Value) -> Result<&'a mut Table, Failure> {
    let name = str_field(request, "TableName")?;
    fake.tables
        .get_mut(name)
        .ok_or_else(|| Failure(StatusCode::BAD_REQUEST, "ResourceNotFoundException", format!("table {name}")))
}

fn table<'a>(fake: &'a Fake, request: &Value) -> Result<&'a Table, Failure> {
    let name = str_field(request, "TableName")?;
    fake.tables
        .get(name)
        .ok_or_else(|| Failure(StatusCode::BAD_REQUEST, "ResourceNotFoundException", format!("table {name}")))
}

/// (HASH attribute, RANGE attribute) of a KeySchema.
fn key_names(schema: &Value) -> (String, String) {
    let find = |kind: &str| {
        schema
            .as_array()
            .into_iter()
            .flatten()
            .find(|k| k["KeyType"] == kind)
            .and_then(|k| k["AttributeName"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    (find("HASH"), find("RANGE"))
}

fn create_table(fake: &mut Fake, request: &Value) -> Result<Value, Failure> {
    let name = str_field(request, "TableName")?.to_owned();
    if fake.tables.contains_key(&name) {
        return Err(Failure(StatusCode::BAD_REQUEST, "ResourceInUseException", format!("table {name} exists")));
    }
    let (id_attr, _) = key_names(&request["KeySchema"]);
    let mut indexes = HashMap::new();
    let mut gsis = vec![];
    for gsi in request["GlobalSecondaryIndexes"].as_array().into_iter().flatten() {
        indexes.insert(str_field(gsi, "IndexName")?.to_owned(), key_names(&gsi["KeySchema"]));
        let mut described = gsi.clone();
        described["IndexStatus"] = json!("CREATING");
        gsis.push(described);
    }
    let mut description = json!({
        "TableName": name,
        "TableStatus": "CREATING",
        "KeySchema": request["KeySchema"],
        "AttributeDefinitions": request["AttributeDefinitions"],
        "BillingModeSummary": { "BillingMode": request["BillingMode"] },
        "ItemCount": 0,
    });
    if !gsis.is_empty() {
        description["GlobalSecondaryIndexes"] = Value::Array(gsis);
    }
    let out = json!({ "TableDescription": description });
    fake.tables.insert(name, Table { description, id_attr, indexes, active: false, ..Table::default() });
    Ok(out)
}

/// The first describe still says CREATING, so `migrate` really has to wait.
fn describe_table(fake: &mut Fake, request: &Value) -> Result<Value, Failure> {
    let table = table_mut(fake, request)?;
    let out = json!({ "Table": table.description });
    if !table.active {
        table.active = true;
        table.description["TableStatus"] = json!("ACTIVE");
        for gsi in table.description["GlobalSecondaryIndexes"].as_array_mut().into_iter().flatten() {
            gsi["IndexStatus"] = json!("ACTIVE");
        }
    }
    Ok(out)
}

/// Resolves `#name` and `:value` placeholders; literal names are allowed as in DynamoDB.
struct Expr<'a> {
    names: &'a Value,
    values: &'a Value,
}

impl Expr<'_> {
    fn name(&self, token: &str) -> Result<String, Failure> {
        if token.starts_with('#') {
            return self.names[token].as_str().map(str::to_owned).ok_or_else(|| validation(format!("unbound {token}")));
        }
        Ok(token.to_owned())
    }

    fn value(&self, token: &str) -> Result<Value, Failure> {
        if !token.starts_with(':') {
            return Err(validation(format!("expected a value placeholder, got {token}")));
        }
        self.values.get(token).cloned().ok_or_else(|| validation(format!("unbound {token}")))
    }
}

/// Orders two attribute values of the same scalar type (S by bytes, N numerically).
fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    if let (Some(x), Some(y)) = (a["S"].as_str(), b["S"].as_str()) {
        return Some(x.as_bytes().cmp(y.as_bytes()));
    }
    let number = |v: &Value| v["N"].as_str().and_then(|n| Decimal::from_str(n).ok());
    Some(number(a)?.cmp(&number(b)?))
}

/// Evaluates `term AND term ...` where a term is `attribute_exists(x)`, `attribute_not_exists(x)` or
/// `x op :v` (op one of = < <= > >=), or `x BETWEEN :a AND :b`.
fn matches(item: Option<&Item>, expression: &str, expr: &Expr<'_>) -> Result<bool, Failure> {
    let tokens: Vec<&str> = expression.split_whitespace().collect();
    let mut i = 0;
    let mut all = true;
    while i < tokens.len() {
        let token = tokens[i];
        let holds = if let Some(inner) =
            token.strip_prefix("attribute_exists(").or_else(|| token.strip_prefix("attribute_not_exists("))
        {
            let name = expr.name(inner.strip_suffix(')').ok_or_else(|| validation("unclosed function"))?)?;
            let exists = item.is_some_and(|item| item.contains_key(&name));
            i += 1;
            if token.starts_with("attribute_exists(") { exists } else { !exists }
        } else {
            let name = expr.name(token)?;
            let actual = item.and_then(|item| item.get(&name));
            let op = *tokens.get(i + 1).ok_or_else(|| validation("dangling operand"))?;
            let first = expr.value(tokens.get(i + 2).ok_or_else(|| validation("missing operand"))?)?;
            let ord = actual.and_then(|a| compare(a, &first));
            i += 3;
            match op {
                "=" => actual.is_some_and(|a| ord == Some(std::cmp::Ordering::Equal) || a == &first),
                "<" => ord.is_some_and(|o| o.is_lt()),
                "<=" => ord.is_some_and(|o| o.is_le()),
                ">" => ord.is_some_and(|o| o.is_gt()),
                ">=" => ord.is_some_and(|o| o.is_ge()),
                "BETWEEN" => {
                    if tokens.get(i) != Some(&"AND") {
                        return Err(validation("BETWEEN without AND"));
                    }
                    let second = expr.value(tokens.get(i + 1).ok_or_else(|| validation("missing operand"))?)?;
                    i += 2;
                    let upper = actual.and_then(|a| compare(a, &second));
                    ord.is_some_and(|o| o.is_ge()) && upper.is_some_and(|o| o.is_le())
                }
                other => return Err(validation(format!("unsupported operator {other}"))),
            }
        };
        all &= holds;
        match tokens.get(i) {
            None => {}
            Some(&"AND") => i += 1,
            Some(other) => return Err(validation(format!("unsupported token {other}"))),
        }
    }
    Ok(all)
}

fn expr(request: &Value) -> Expr<'_> {
    Expr { names: &request["ExpressionAttributeNames"], values: &request["ExpressionAttributeValues"] }
}

fn put_item(fake: &mut Fake, request: &Value) -> Result<Value, Failure> {
    let table = table_mut(fake, request)?;
    let item = request["Item"].as_object().cloned().ok_or_else(|| validation("missing Item"))?;
    let id = item
        .get(&table.id_attr)
        .and_then(|v| v["S"].as_str())
        .ok_or_else(|| validation("the item has no string partition key"))?
        .to_owned();
    if let Some(condition) = request["ConditionExpression"].as_str()
        && !matches(table.items.get(&id), condition, &expr(request))?
    {
        return Err(Failure(
            StatusCode::BAD_REQUEST,
            "ConditionalCheckFailedException",
            "The conditional request failed".into(),
        ));
    }
    table.items.insert(id, item);
    Ok(json!({}))
}

fn get_item(fake: &Fake, request: &Value) -> Result<Value, Failure> {
    let table = table(fake, request)?;
    let id = request["Key"][&table.id_attr]["S"].as_str().ok_or_else(|| validation("bad Key"))?;
    Ok(match table.items.get(id) {
        Some(item) => json!({ "Item": item }),
        None => json!({}),
    })
}

fn query(fake: &Fake, request: &Value) -> Result<Value, Failure> {
    let table = table(fake, request)?;
    let index = str_field(request, "IndexName")?;
    let (hash, range) = table.indexes.get(index).ok_or_else(|| validation(format!("no index {index}")))?;
    let e = expr(request);
    let key_condition = str_field(request, "KeyConditionExpression")?;
    // The key condition must start with equality on the index partition key and touch only key attributes.
    let tokens: Vec<&str> = key_condition.split_whitespace().collect();
    if tokens.len() < 3 || e.name(tokens[0])? != *hash || tokens[1] != "=" {
        return Err(validation("the key condition must start with partition = :value"));
    }
    if tokens.len() > 3 && (tokens[3] != "AND" || tokens.len() < 7 || e.name(tokens[4])? != *range) {
        return Err(validation("the second key condition must be on the sort key"));
    }
    let forward = request["ScanIndexForward"].as_bool().unwrap_or(true);
    let limit = request["Limit"].as_u64().map_or(usize::MAX, |l| l as usize);
    if limit == 0 {
        return Err(validation("Limit must be at least 1"));
    }

    let mut candidates: Vec<&Item> = vec![];
    for item in table.items.values() {
        if item.contains_key(range) && matches(Some(item), key_condition, &e)? {
            candidates.push(item);
        }
    }
    // Index sort values are unique per partition in this design, so the sort value alone orders the page.
    candidates.sort_by(|a, b| a[range.as_str()]["S"].as_str().cmp(&b[range.as_str()]["S"].as_str()));
    if !forward {
        candidates.reverse();
    }
    if let Some(start) = request.get("ExclusiveStartKey").and_then(Value::as_object) {
        let start_range = start.get(range).and_then(|v| v["S"].as_str()).ok_or_else(|| validation("bad start key"))?;
        if start.get(hash).is_none() || start.get(&table.id_attr).is_none() || start.len() != 3 {
            return Err(validation("the start key must hold the table and index keys"));
        }
        let probe: Item = start.clone();
        if !matches(Some(&probe), key_condition, &e)? {
            return Err(validation("The provided starting key is outside query boundaries"));
        }
        candidates.retain(|item| {
            let at = item[range.as_str()]["S"].as_str().unwrap_or_default();
            if forward { at > start_range } else { at < start_range }
        });
    }

    let evaluated = candidates.len().min(limit).min(PAGE_CAP);
    let stopped_early = evaluated < candidates.len() || evaluated == limit || evaluated == PAGE_CAP;
    let mut items = vec![];
    for item in &candidates[..evaluated] {
        let keep = match request["FilterExpression"].as_str() {
            Some(filter) => matches(Some(item), filter, &e)?,
            None => true,
        };
        if keep {
            items.push(Value::Object((*item).clone()));
        }
    }
    let mut out = json!({ "Count": items.len(), "ScannedCount": evaluated, "Items": items });
    if stopped_early && let Some(last) = candidates[..evaluated].last() {
        let key: Item = [hash.as_str(), range.as_str(), table.id_attr.as_str()]
            .iter()
            .filter_map(|k| last.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect();
        out["LastEvaluatedKey"] = Value::Object(key);
    }
    Ok(out)
}

// ---- DynamoDB-only cases: tables, paging under the page cap, error mapping ----

mod dynamodb_tables {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    };
    use axum::http::StatusCode;
    use gospital::domain::ids::{PatientId, RecordId};
    use gospital::store::dynamodb::PATIENT_INDEX;
    use gospital::store::{DateRange, MedicalRecordStore, StoreError};

    use super::{connect, open_dynamodb, unmigrated};

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
    async fn throttling_and_server_errors_are_unavailable_and_hide_nothing_else() {
        let backend = open_dynamodb().await;
        let Some(fake) = &backend.fake else { return };
        let store = &backend.store;
        for (status, code) in [
            (StatusCode::BAD_REQUEST, "ThrottlingException"),
            (StatusCode::BAD_REQUEST, "ProvisionedThroughputExceededException"),
            (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
            (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
        ] {
            fake.fail_with(Some((status, code)));
            let got = store.get_record(&RecordId::generate()).await;
            assert!(matches!(got, Err(StoreError::Unavailable(_))), "{code}: {got:?}");
        }
        fake.fail_with(Some((StatusCode::BAD_REQUEST, "ValidationException")));
        let got = store.list_patient_records(&PatientId::generate(), DateRange::default(), 10, None).await;
        assert!(matches!(got, Err(StoreError::Internal(_))), "{got:?}");
        fake.fail_with(None);
        store.get_record(&RecordId::generate()).await.expect("healthy again");
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_unavailable() {
        // Bind then drop a listener: nothing accepts on that port any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let backend = unmigrated().await;
        let settings = gospital::store::dynamodb::DynamoSettings {
            endpoint: Some(format!("http://127.0.0.1:{port}")),
            call_timeout: std::time::Duration::from_secs(3),
            ..backend.settings.clone()
        };
        let store = connect(settings).await;
        let got = gospital::store::RecordStore::ping(&store).await;
        assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
    }
}
