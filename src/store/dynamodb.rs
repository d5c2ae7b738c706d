//! DynamoDB adapter of the records store (D): medical records and invoices as DynamoDB items, through the
//! official AWS SDK for Rust.
//!
//! Key design (four tables, on-demand billing):
//!
//! | table (default name)         | partition key     | GSI `PatientIdIndex` (projection ALL)                     |
//! |------------------------------|-------------------|-----------------------------------------------------------|
//! | `gospital-medical-records`   | `recordId` (S)    | `patientId` (S) + `visitDateKey` (S) = `<visitDate>#<recordId>`   |
//! | `gospital-invoices`          | `invoiceId` (S)   | `patientId` (S) + `invoiceDateKey` (S) = `<invoiceDate>#<invoiceId>` |
//! | `gospital-medical-record-history` | `recordId` (S) + sort key `version` (N) | — |
//! | `gospital-idempotency`       | `scope` (S), TTL on `expiresAt` (epoch s) | — |
//!
//! - `visitDate` is RFC 3339 UTC with milliseconds (`2026-03-10T09:15:30.123Z`) and `invoiceDate` is `YYYY-MM-DD`:
//!   both fixed width, so byte order of `<date>#<id>` is the contract order (date, then ID). The ID suffix makes
//!   the index sort key unique per patient, which is what lets a cursor `(sort, id)` be rebuilt into an exact
//!   `ExclusiveStartKey` (`id`, `patientId`, `<sort>#<id>`) and lets ties on the date page without gaps or repeats.
//! - A record date range is a key condition on `visitDateKey` (`>= "<from>"`, `<= "<to>\u{ffff}"`, or BETWEEN),
//!   never a filter; only the invoice `paymentStatus` is a FilterExpression.
//! - Every other attribute is the document itself, mapped exactly from its JSON form (see [`item`]): money is an
//!   `N` attribute holding the decimal text, never an `f64`. `version` (N) sits beside the document.
//! - Writes are conditional: create = `attribute_not_exists(<id>)`; update = `attribute_exists(<id>) AND version =
//!   :expected` (a failed update re-reads strongly to tell `NotFound` from `Stale`). Single-item reads are
//!   strongly consistent. Lists loop over Query pages until the page (plus one look-ahead item) is full or the
//!   index is exhausted, so neither `Limit` nor the 1 MB page cap ever truncates a list silently.
//! - Errors: ConditionalCheckFailed → `Conflict`/`NotFound`/`Stale`; throttling, timeouts, 5xx and connection
//!   failures (after the SDK's standard retries, each call bounded by `call_timeout`) → `Unavailable`; the rest →
//!   `Internal`. AWS error text only ever goes into the `StoreError` text, which is logged, never returned.
//!
//! - A create with an `Idempotency-Key`, and every amendment, is one `TransactWriteItems`: the document and the
//!   idempotency record's completion, or the superseded version into the history and the new one over it.
//!
//! - Every write also stores its audit event's items in the same `TransactWriteItems`, in a fifth table
//!   (`gospital-audit-events`, see [`audit`]).
//!
//! IAM actions: `dynamodb:GetItem`, `dynamodb:PutItem`, `dynamodb:UpdateItem`, `dynamodb:DeleteItem`,
//! `dynamodb:Query` (on the five tables and the `index/PatientIdIndex` of the records, invoices and audit tables),
//! `dynamodb:BatchGetItem` (the audit table), `dynamodb:DescribeTable`, `dynamodb:DescribeTimeToLive`; plus
//! `dynamodb:CreateTable` and `dynamodb:UpdateTimeToLive` for a `migrate` that has to create the tables.

mod audit;
mod item;
mod schema;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use serde::Serialize;
use serde::de::DeserializeOwned;

use self::item::Item;
use self::schema::{TableKind, TableSpec};
use super::idempotency::{Decision, Row, decide};
use super::{
    ClaimOutcome, Completion, CursorKey, DateRange, IdempotencyClaim, IdempotencyStore, InvoiceStore, KeyPage,
    MedicalRecordStore, RecordStore, StoreError, StoreResult, history_key,
};
use crate::audit::AuditEvent;
use crate::domain::formats::{Timestamp, format_date};
use crate::domain::ids::{InvoiceId, PatientId, RecordId};
use crate::domain::invoice::{Invoice, PaymentStatus};
use crate::domain::medical_record::MedicalRecord;

/// Name of the per-patient index on both tables.
pub const PATIENT_INDEX: &str = "PatientIdIndex";
const PATIENT_ATTR: &str = "patientId";
const VERSION_ATTR: &str = "version";
const RECORD_ID_ATTR: &str = "recordId";
const RECORD_SORT_ATTR: &str = "visitDateKey";
const INVOICE_ID_ATTR: &str = "invoiceId";
const INVOICE_SORT_ATTR: &str = "invoiceDateKey";
const SCOPE_ATTR: &str = "scope";
/// The TTL attribute of the idempotency table: epoch seconds after which DynamoDB deletes the item.
const EXPIRES_ATTR: &str = "expiresAt";
/// Items evaluated per Query page when a FilterExpression may discard most of them, so a selective status filter
/// does not cost one round trip per matching item.
const FILTERED_PAGE: i32 = 100;

/// How long [`DynamoRecordStore::check_credentials`] waits for the credential chain.
/// First retry back-off of a failed DynamoDB call (doubled per attempt, with jitter, three attempts in all).
const RETRY_BASE_BACKOFF: Duration = Duration::from_millis(10);

const CREDENTIALS_WAIT: Duration = Duration::from_secs(10);
/// How long [`DynamoRecordStore::check_endpoint`] waits for its one request.
const ENDPOINT_WAIT: Duration = Duration::from_secs(5);

/// Connection settings; the lead maps configuration onto these.
#[derive(Debug, Clone)]
pub struct DynamoSettings {
    /// Emulator or custom endpoint (`http://127.0.0.1:8000`); `None` = the SDK's own resolution (AWS, or
    /// `AWS_ENDPOINT_URL_DYNAMODB`).
    pub endpoint: Option<String>,
    pub region: String,
    pub records_table: String,
    pub invoices_table: String,
    /// Earlier versions of medical records ([history]).
    pub history_table: String,
    /// Idempotency records of the POSTs that create records and invoices ([safe-writes]).
    pub idempotency_table: String,
    /// D's audit trail ([audit]): events, the chain's lease, head and checkpoints.
    pub audit_table: String,
    /// Upper bound of one SDK call, retries included.
    pub call_timeout: Duration,
}

/// The records store on DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoRecordStore {
    client: Client,
    records_table: String,
    invoices_table: String,
    history_table: String,
    idempotency_table: String,
    audit_table: String,
    /// The SDK configuration's credentials, kept for [`Self::check_credentials`] (the client cannot hand them
    /// back).
    credentials: Option<SharedCredentialsProvider>,
}

/// Why [`DynamoRecordStore::check_endpoint`] finds the store unusable: each a one-line reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// The endpoint does not answer (refused, unresolvable, timed out).
    Unreachable(String),
    /// DynamoDB answered but refused the credentials (`code: message`).
    Rejected(String),
}

impl DynamoRecordStore {
    /// Builds a client from the standard AWS configuration chain (credentials, profile, env) plus `settings`.
    /// Sends nothing: use [`Self::migrate`] or [`Self::ensure_tables`] to check the tables.
    pub async fn connect(settings: DynamoSettings) -> StoreResult<Self> {
        Self::connect_with(settings, aws_config::defaults(BehaviorVersion::latest())).await
    }

    /// Like [`Self::connect`] from a caller-prepared loader, e.g. one with static credentials for tests.
    pub async fn connect_with(settings: DynamoSettings, loader: ConfigLoader) -> StoreResult<Self> {
        validate(&settings)?;
        let mut loader = loader.region(Region::new(settings.region.clone()));
        if let Some(endpoint) = &settings.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        Ok(Self::from_sdk_config(&loader.load().await, settings))
    }

    /// Uses an already loaded SDK configuration; timeouts and retries still come from `settings`.
    pub fn from_sdk_config(config: &SdkConfig, settings: DynamoSettings) -> Self {
        // operation_timeout bounds the whole call including the standard mode's retries and back-off.
        let timeouts = TimeoutConfig::builder()
            .operation_timeout(settings.call_timeout)
            .connect_timeout(settings.call_timeout.min(Duration::from_secs(3)))
            .build();
        let conf = aws_sdk_dynamodb::config::Builder::from(config)
            .timeout_config(timeouts)
            // The standard mode's 1 s base back-off made a refused or reset endpoint a ~0.5 s wait (often the
            // whole deadline) before the 503; its retries are for throttling and a dropped connection, which a
            // few tens of milliseconds cover as well inside a 1 s request deadline.
            .retry_config(
                RetryConfig::standard()
                    .with_initial_backoff(RETRY_BASE_BACKOFF)
                    .with_max_backoff(RETRY_BASE_BACKOFF * 8),
            )
            .build();
        Self {
            client: Client::from_conf(conf),
            records_table: settings.records_table,
            invoices_table: settings.invoices_table,
            history_table: settings.history_table,
            idempotency_table: settings.idempotency_table,
            audit_table: settings.audit_table,
            credentials: config.credentials_provider(),
        }
    }

    /// Start-up check, before anything else is opened: the AWS credential chain (environment, profile, web
    /// identity, ECS, instance metadata) yields credentials. `Err` says why not, in one line.
    pub async fn check_credentials(&self) -> Result<(), String> {
        let Some(credentials) = &self.credentials else {
            return Err("no credentials provider is configured".into());
        };
        // The chain may end at the instance metadata endpoint, which off AWS can take long to give up.
        match tokio::time::timeout(CREDENTIALS_WAIT, credentials.provide_credentials()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err(format!("none found within {} s", CREDENTIALS_WAIT.as_secs())),
        }
        Ok(())
    }

    /// Start-up check: the endpoint answers a `DescribeTable` and accepts the credentials. A missing table
    /// passes: [`Self::ensure_tables`] and [`Self::migrate`] deal with tables.
    pub async fn check_endpoint(&self) -> Result<(), Unusable> {
        // One attempt with a generous bound, so a refused connection is reported as such rather than as the
        // request timeout that the standard retries would run into.
        let once = aws_sdk_dynamodb::config::Builder::new().retry_config(RetryConfig::disabled()).timeout_config(
            TimeoutConfig::builder().operation_timeout(ENDPOINT_WAIT).connect_timeout(ENDPOINT_WAIT).build(),
        );
        let described =
            self.client.describe_table().table_name(&self.records_table).customize().config_override(once).send().await;
        match described {
            Err(SdkError::DispatchFailure(failure)) => Err(Unusable::Unreachable(match failure.as_connector_error() {
                Some(connector) => root_cause(connector),
                None => "the request could not be sent".into(),
            })),
            Err(SdkError::TimeoutError(_)) => {
                Err(Unusable::Unreachable(format!("no answer within {} s", ENDPOINT_WAIT.as_secs())))
            }
            Err(SdkError::ServiceError(ctx))
                if matches!(
                    ctx.err().code(),
                    Some(
                        "UnrecognizedClientException"
                            | "InvalidSignatureException"
                            | "ExpiredTokenException"
                            | "AccessDeniedException"
                            | "MissingAuthenticationTokenException"
                    )
                ) =>
            {
                let code = ctx.err().code().unwrap_or_default();
                Err(Unusable::Rejected(format!("{code}: {}", ctx.err().message().unwrap_or_default())))
            }
            // Anything else, a missing table included, is for the table checks to report in full.
            _ => Ok(()),
        }
    }

    /// The SDK client, for tooling and tests.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn specs(&self) -> [TableSpec<'_>; 5] {
        [
            TableSpec {
                name: &self.records_table,
                id_attr: RECORD_ID_ATTR,
                kind: TableKind::Documents { sort_attr: RECORD_SORT_ATTR },
            },
            TableSpec {
                name: &self.invoices_table,
                id_attr: INVOICE_ID_ATTR,
                kind: TableKind::Documents { sort_attr: INVOICE_SORT_ATTR },
            },
            TableSpec {
                name: &self.history_table,
                id_attr: RECORD_ID_ATTR,
                kind: TableKind::Versions { range_attr: VERSION_ATTR },
            },
            TableSpec {
                name: &self.idempotency_table,
                id_attr: SCOPE_ATTR,
                kind: TableKind::Expiring { ttl_attr: EXPIRES_ATTR },
            },
            TableSpec {
                name: &self.audit_table,
                id_attr: audit::KEY_ATTR,
                kind: TableKind::Documents { sort_attr: audit::SORT_ATTR },
            },
        ]
    }

    /// Creates missing tables (with `PatientIdIndex`) and waits until they are ACTIVE. Existing tables are only
    /// checked: a wrong key schema is `Internal` naming the table. A second run is a no-op.
    pub async fn migrate(&self) -> StoreResult<()> {
        for spec in self.specs() {
            schema::migrate(&self.client, spec).await?;
        }
        Ok(())
    }

    /// Checks that the four tables exist, are ACTIVE and have the expected keys, creating nothing.
    pub async fn ensure_tables(&self) -> StoreResult<()> {
        for spec in self.specs() {
            schema::ensure(&self.client, spec).await?;
        }
        Ok(())
    }
}

/// The innermost cause of a failed dispatch (`Connection refused (os error 111)`), without the SDK's wrappers.
fn root_cause(err: &dyn std::error::Error) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Refuses settings DynamoDB would reject on every call, so start-up fails with a clear message instead.
fn validate(settings: &DynamoSettings) -> StoreResult<()> {
    if settings.region.trim().is_empty() {
        return Err(StoreError::Internal("DynamoDB region is empty".into()));
    }
    let names = [
        &settings.records_table,
        &settings.invoices_table,
        &settings.history_table,
        &settings.idempotency_table,
        &settings.audit_table,
    ];
    for name in names {
        let charset = name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !(3..=255).contains(&name.len()) || !charset {
            return Err(StoreError::Internal(format!(
                "invalid DynamoDB table name {name:?}: 3–255 characters of a-z, A-Z, 0-9, '_', '-', '.'"
            )));
        }
    }
    let distinct: std::collections::HashSet<&String> = names.into_iter().collect();
    if distinct.len() != names.len() {
        return Err(StoreError::Internal(
            "the records, invoices, history, idempotency and audit tables must have five different names".into(),
        ));
    }
    Ok(())
}

/// Maps an SDK failure: transient ones to `Unavailable`, the rest to `Internal`. `op` and `table` only make the
/// (logged) text useful.
fn map_sdk_error<E>(op: &str, table: &str, err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let text = format!("{op} on {table}: {}", DisplayErrorContext(&err));
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(ctx) => {
            ctx.raw().status().is_server_error()
                || matches!(
                    ctx.err().code(),
                    Some(
                        "ThrottlingException"
                            | "ProvisionedThroughputExceededException"
                            | "RequestLimitExceeded"
                            | "LimitExceededException"
                            | "InternalServerError"
                            | "ServiceUnavailable"
                    )
                )
        }
        _ => false,
    };
    if transient { StoreError::Unavailable(text) } else { StoreError::Internal(text) }
}

/// A document type kept by this store, with where its keys live.
trait Document: Serialize + DeserializeOwned {
    const KIND: &'static str;
    const ID_ATTR: &'static str;
    const SORT_ATTR: &'static str;
    fn id(&self) -> &str;
    fn patient(&self) -> &str;
    fn sort_key(&self) -> String;
    fn version(&self) -> i64;
    fn set_version(&mut self, version: i64);
}

/// How a `TransactWriteItems` ended.
enum Transacted {
    Committed,
    /// The condition of the item at this index failed (nothing was written).
    ConditionFailed(usize),
    /// Another transaction was writing the same items at the same moment (nothing was written).
    Conflicted,
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Internal(format!("request definition: {e}"))
}

/// Epoch seconds, rounded up, as DynamoDB's TTL reads them.
fn epoch_seconds(t: Timestamp) -> i64 {
    t.millis().div_euclid(1000) + i64::from(t.millis().rem_euclid(1000) > 0)
}

impl Document for MedicalRecord {
    const KIND: &'static str = "medical record";
    const ID_ATTR: &'static str = RECORD_ID_ATTR;
    const SORT_ATTR: &'static str = RECORD_SORT_ATTR;
    fn id(&self) -> &str {
        self.record_id.as_str()
    }
    fn patient(&self) -> &str {
        self.patient_id.as_str()
    }
    fn sort_key(&self) -> String {
        MedicalRecord::sort_key(self)
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn set_version(&mut self, version: i64) {
        self.version = version;
    }
}

impl Document for Invoice {
    const KIND: &'static str = "invoice";
    const ID_ATTR: &'static str = INVOICE_ID_ATTR;
    const SORT_ATTR: &'static str = INVOICE_SORT_ATTR;
    fn id(&self) -> &str {
        self.invoice_id.as_str()
    }
    fn patient(&self) -> &str {
        self.patient_id.as_str()
    }
    fn sort_key(&self) -> String {
        Invoice::sort_key(self)
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn set_version(&mut self, version: i64) {
        self.version = version;
    }
}

/// The index sort value: unique per patient, ordered by (sort key, ID).
fn index_sort(sort: &str, id: &str) -> String {
    format!("{sort}#{id}")
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// The full item for `doc` at `version`: the document's attributes plus version and index sort key.
fn encode<T: Document>(doc: &T, version: i64) -> StoreResult<Item> {
    let mut item =
        item::to_item(doc).map_err(|e| StoreError::Internal(format!("cannot encode {} {}: {e}", T::KIND, doc.id())))?;
    // The document's own serde already wrote the ID and patient as strings; these keep the key types explicit.
    item.insert(T::ID_ATTR.into(), s(doc.id()));
    item.insert(PATIENT_ATTR.into(), s(doc.patient()));
    item.insert(VERSION_ATTR.into(), AttributeValue::N(version.to_string()));
    item.insert(T::SORT_ATTR.into(), s(index_sort(&doc.sort_key(), doc.id())));
    Ok(item)
}

/// Decodes an item; one that does not parse is corrupt data, reported as `Internal`.
fn decode<T: Document>(mut item: Item) -> StoreResult<(T, String)> {
    let id = match item.get(T::ID_ATTR) {
        Some(AttributeValue::S(id)) => id.clone(),
        _ => return Err(StoreError::Internal(format!("{} item without a string {}", T::KIND, T::ID_ATTR))),
    };
    let corrupt = |what: &str| StoreError::Internal(format!("corrupt {} item {id}: {what}", T::KIND));
    let version = match item.remove(VERSION_ATTR) {
        Some(AttributeValue::N(n)) => n.parse::<i64>().map_err(|_| corrupt("version is not an integer"))?,
        _ => return Err(corrupt("no numeric version")),
    };
    let sort = match item.remove(T::SORT_ATTR) {
        Some(AttributeValue::S(key)) => key.strip_suffix(&format!("#{id}")).map(str::to_owned),
        _ => None,
    }
    .ok_or_else(|| corrupt("missing or malformed index sort key"))?;
    let mut doc: T = item::from_item(&item).map_err(|e| corrupt(&e))?;
    doc.set_version(version);
    Ok((doc, sort))
}

/// Where a list query starts and what it may match.
struct ListQuery<'a> {
    table: &'a str,
    patient: &'a str,
    /// Inclusive bounds on the index sort value.
    low: Option<String>,
    high: Option<String>,
    status: Option<PaymentStatus>,
}

impl DynamoRecordStore {
    /// A conditional create, with its audit event and, with `done`, the idempotency record's completion, in one
    /// `TransactWriteItems`: the document exists exactly when its event (and stored outcome) does.
    async fn put_new<T: Document>(
        &self,
        table: &str,
        doc: &T,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let item = encode(doc, doc.version())?;
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", T::ID_ATTR)
            .build()
            .map_err(build_error)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        if let Some(done) = done {
            items.push(TransactWriteItem::builder().update(self.completion(done)?).build());
        }
        items.extend(self.event_items(event)?);
        match self.transact(&[table, &self.idempotency_table, &self.audit_table], items).await? {
            Transacted::Committed => Ok(()),
            Transacted::ConditionFailed(0) => Err(StoreError::Conflict),
            Transacted::ConditionFailed(1) if done.is_some() => Err(StoreError::ClaimLost),
            Transacted::ConditionFailed(_) => Err(StoreError::Internal("audit event ID already stored".into())),
            Transacted::Conflicted => Err(StoreError::Unavailable(format!("transaction conflict creating in {table}"))),
        }
    }

    /// The update that completes a claim, conditional on it still being this attempt's and still pending.
    fn completion(&self, done: &Completion) -> StoreResult<Update> {
        let r = &done.response;
        let mut set = vec!["#state = :done", "#status = :status", "#body = :body", "#exp = :exp"];
        let mut update = Update::builder()
            .table_name(&self.idempotency_table)
            .key(SCOPE_ATTR, s(done.scope.as_str()))
            .condition_expression("#token = :token AND #state = :pending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#body", "body")
            .expression_attribute_names("#exp", EXPIRES_ATTR)
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":done", s("done"))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":status", AttributeValue::N(r.status.to_string()))
            .expression_attribute_values(":body", s(r.body.as_str()))
            .expression_attribute_values(":exp", AttributeValue::N(epoch_seconds(done.expires_at).to_string()))
            .expression_attribute_values(":token", s(done.token.as_str()));
        if let Some(location) = &r.location {
            set.push("#loc = :loc");
            update =
                update.expression_attribute_names("#loc", "location").expression_attribute_values(":loc", s(location));
        }
        if let Some(etag) = &r.etag {
            set.push("#etag = :etag");
            update = update.expression_attribute_names("#etag", "etag").expression_attribute_values(":etag", s(etag));
        }
        update.update_expression(format!("SET {}", set.join(", "))).build().map_err(build_error)
    }

    /// Runs one transaction and tells a committed one from one whose condition failed (and which item's) or one
    /// that collided with another transaction on the same items.
    async fn transact(&self, tables: &[&str], items: Vec<TransactWriteItem>) -> StoreResult<Transacted> {
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(Transacted::Committed),
            Err(e) => {
                if let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) = e.as_service_error() {
                    let reasons = cancel.cancellation_reasons();
                    if let Some(i) = reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed")) {
                        return Ok(Transacted::ConditionFailed(i));
                    }
                    if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
                        return Ok(Transacted::Conflicted);
                    }
                }
                Err(map_sdk_error("TransactWriteItems", &tables.join("+"), e))
            }
        }
    }

    /// A conditional replace with its audit event, in one `TransactWriteItems`.
    async fn put_existing<T: Document>(
        &self,
        table: &str,
        doc: &T,
        version: i64,
        expected: i64,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(encode(doc, version)?))
            .condition_expression("attribute_exists(#id) AND #v = :expected")
            .expression_attribute_names("#id", T::ID_ATTR)
            .expression_attribute_names("#v", VERSION_ATTR)
            .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
            .build()
            .map_err(build_error)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        items.extend(self.event_items(event)?);
        match self.transact(&[table, &self.audit_table], items).await? {
            Transacted::Committed => Ok(()),
            // Items are never deleted, so an item seen now was there at the check: it moved on.
            Transacted::ConditionFailed(0) => match self.get::<T>(table, doc.id()).await? {
                Some(_) => Err(StoreError::Stale),
                None => Err(StoreError::NotFound),
            },
            Transacted::ConditionFailed(_) => Err(StoreError::Internal("audit event ID already stored".into())),
            Transacted::Conflicted => Err(StoreError::Stale),
        }
    }

    async fn get<T: Document>(&self, table: &str, id: &str) -> StoreResult<Option<T>> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .key(T::ID_ATTR, s(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| map_sdk_error("GetItem", table, e))?;
        out.item.map(|item| decode::<T>(item).map(|(doc, _)| doc)).transpose()
    }

    /// Pages newest first through the patient's index entries within the bounds and after `after`, collecting
    /// `limit` items plus one look-ahead that tells whether a next page exists.
    async fn list<T: Document>(
        &self,
        query: ListQuery<'_>,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> StoreResult<KeyPage<T>> {
        // A zero-item page could never carry a cursor, so it would falsely announce the end of the list.
        let page_len = limit.max(1) as usize;
        let mut start = None;
        if let Some(after) = after {
            let from = index_sort(&after.sort, &after.id);
            // Everything left lies strictly below the cursor; at or under the low bound nothing is left, and a
            // cursor above the high bound starts from the top. DynamoDB refuses a start key outside the key range.
            if query.low.as_deref().is_some_and(|low| from.as_str() <= low) {
                return Ok(KeyPage { items: vec![], next: None });
            }
            if query.high.as_deref().is_none_or(|high| from.as_str() <= high) {
                start = Some(HashMap::from([
                    (T::ID_ATTR.to_owned(), s(after.id.as_str())),
                    (PATIENT_ATTR.to_owned(), s(query.patient)),
                    (T::SORT_ATTR.to_owned(), s(from)),
                ]));
            }
        }

        let mut names = HashMap::from([("#p".to_owned(), PATIENT_ATTR.to_owned())]);
        let mut values = HashMap::from([(":p".to_owned(), s(query.patient))]);
        let mut key_condition = "#p = :p".to_owned();
        if query.low.is_some() || query.high.is_some() {
            names.insert("#s".into(), T::SORT_ATTR.into());
        }
        match (&query.low, &query.high) {
            (Some(low), Some(high)) => {
                key_condition.push_str(" AND #s BETWEEN :low AND :high");
                values.insert(":low".into(), s(low.as_str()));
                values.insert(":high".into(), s(high.as_str()));
            }
            (Some(low), None) => {
                key_condition.push_str(" AND #s >= :low");
                values.insert(":low".into(), s(low.as_str()));
            }
            (None, Some(high)) => {
                key_condition.push_str(" AND #s <= :high");
                values.insert(":high".into(), s(high.as_str()));
            }
            (None, None) => {}
        }
        let filter = query.status.map(|status| {
            names.insert("#st".into(), "paymentStatus".into());
            values.insert(":st".into(), s(status.as_str()));
            "#st = :st".to_owned()
        });

        let mut rows: Vec<(T, String)> = Vec::with_capacity(page_len + 1);
        loop {
            let wanted = i32::try_from(page_len + 1 - rows.len()).unwrap_or(i32::MAX);
            let batch = if filter.is_some() { wanted.max(FILTERED_PAGE) } else { wanted };
            let out = self
                .client
                .query()
                .table_name(query.table)
                .index_name(PATIENT_INDEX)
                .key_condition_expression(key_condition.as_str())
                .set_filter_expression(filter.clone())
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(false)
                .limit(batch)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| map_sdk_error("Query", query.table, e))?;
            for item in out.items.unwrap_or_default() {
                if rows.len() > page_len {
                    break;
                }
                rows.push(decode::<T>(item)?);
            }
            // The cursor comes from the last kept item, so items of this response past the look-ahead are simply
            // read again next time; nothing is skipped.
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() && rows.len() <= page_len => start = Some(key),
                _ => break,
            }
        }

        let next = if rows.len() > page_len {
            rows.truncate(page_len);
            rows.last().map(|(doc, sort)| CursorKey { sort: sort.clone(), id: doc.id().to_owned() })
        } else {
            None
        };
        Ok(KeyPage { items: rows.into_iter().map(|(doc, _)| doc).collect(), next })
    }
}

#[async_trait]
impl MedicalRecordStore for DynamoRecordStore {
    async fn insert_record(
        &self,
        record: &MedicalRecord,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        self.put_new(&self.records_table, record, done, event).await
    }

    async fn get_record(&self, id: &RecordId) -> StoreResult<Option<MedicalRecord>> {
        self.get(&self.records_table, id.as_str()).await
    }

    /// One `TransactWriteItems`: the version read goes into the history table (never over an existing entry) and
    /// the record is replaced, conditional on still being at that version.
    async fn amend_record(
        &self,
        previous: &MedicalRecord,
        next: &MedicalRecord,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let keep = Put::builder()
            .table_name(&self.history_table)
            .set_item(Some(encode(previous, previous.version)?))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", RECORD_ID_ATTR)
            .build()
            .map_err(build_error)?;
        let replace = Put::builder()
            .table_name(&self.records_table)
            .set_item(Some(encode(next, next.version)?))
            .condition_expression("attribute_exists(#id) AND #v = :expected")
            .expression_attribute_names("#id", RECORD_ID_ATTR)
            .expression_attribute_names("#v", VERSION_ATTR)
            .expression_attribute_values(":expected", AttributeValue::N(previous.version.to_string()))
            .build()
            .map_err(build_error)?;
        let mut items =
            vec![TransactWriteItem::builder().put(keep).build(), TransactWriteItem::builder().put(replace).build()];
        items.extend(self.event_items(event)?);
        match self.transact(&[&self.history_table, &self.records_table, &self.audit_table], items).await? {
            Transacted::Committed => Ok(()),
            // Items are never deleted, so a record seen now was there at the check: it moved on.
            Transacted::ConditionFailed(_) => {
                match self.get::<MedicalRecord>(&self.records_table, next.record_id.as_str()).await? {
                    Some(_) => Err(StoreError::Stale),
                    None => Err(StoreError::NotFound),
                }
            }
            Transacted::Conflicted => Err(StoreError::Stale),
        }
    }

    async fn list_record_history(
        &self,
        id: &RecordId,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> StoreResult<KeyPage<MedicalRecord>> {
        let page_len = limit.max(1) as usize;
        let below = after.and_then(|k| k.sort.parse::<i64>().ok()).unwrap_or(i64::MAX);
        let mut items: Vec<MedicalRecord> = Vec::with_capacity(page_len + 1);
        let mut start = None;
        loop {
            let wanted = i32::try_from(page_len + 1 - items.len()).unwrap_or(i32::MAX);
            let out = self
                .client
                .query()
                .table_name(&self.history_table)
                .key_condition_expression("#id = :id AND #v < :below")
                .expression_attribute_names("#id", RECORD_ID_ATTR)
                .expression_attribute_names("#v", VERSION_ATTR)
                .expression_attribute_values(":id", s(id.as_str()))
                .expression_attribute_values(":below", AttributeValue::N(below.to_string()))
                .scan_index_forward(false)
                .consistent_read(true)
                .limit(wanted)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| map_sdk_error("Query", &self.history_table, e))?;
            for item in out.items.unwrap_or_default() {
                if items.len() > page_len {
                    break;
                }
                items.push(decode::<MedicalRecord>(item)?.0);
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() && items.len() <= page_len => start = Some(key),
                _ => break,
            }
        }
        let next = if items.len() > page_len {
            items.truncate(page_len);
            items.last().map(history_key)
        } else {
            None
        };
        Ok(KeyPage { items, next })
    }

    async fn list_patient_records(
        &self,
        patient: &PatientId,
        range: DateRange,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> StoreResult<KeyPage<MedicalRecord>> {
        // Index values start with the UTC visit date, so "<from>" sorts before every value of that day and
        // "<to>\u{ffff}" after every value of that day ('T' and all ID characters are below U+FFFF).
        let query = ListQuery {
            table: &self.records_table,
            patient: patient.as_str(),
            low: range.from.map(format_date),
            high: range.to.map(|to| format!("{}\u{ffff}", format_date(to))),
            status: None,
        };
        self.list(query, limit, after).await
    }
}

#[async_trait]
impl InvoiceStore for DynamoRecordStore {
    async fn insert_invoice(
        &self,
        invoice: &Invoice,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        self.put_new(&self.invoices_table, invoice, done, event).await
    }

    async fn get_invoice(&self, id: &InvoiceId) -> StoreResult<Option<Invoice>> {
        self.get(&self.invoices_table, id.as_str()).await
    }

    async fn update_invoice(&self, invoice: &Invoice, expected_version: i64, event: &AuditEvent) -> StoreResult<()> {
        self.put_existing(&self.invoices_table, invoice, invoice.version, expected_version, event).await
    }

    async fn list_patient_invoices(
        &self,
        patient: &PatientId,
        status: Option<PaymentStatus>,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> StoreResult<KeyPage<Invoice>> {
        let query = ListQuery { table: &self.invoices_table, patient: patient.as_str(), low: None, high: None, status };
        self.list(query, limit, after).await
    }
}

/// The idempotency item as [`decide`] reads it; `None` for an item that is not one.
fn idempotency_row(item: &Item) -> Option<Row> {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    };
    let number = |name: &str| match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse::<i64>().ok(),
        _ => None,
    };
    Some(Row {
        fingerprint: text("fingerprint")?,
        state: text("state")?,
        token: text("token")?,
        lease_until: number("leaseUntil")?,
        expires_at: number(EXPIRES_ATTR)?.saturating_mul(1000),
        status: number("status"),
        location: text("location"),
        etag: text("etag"),
        body: text("body"),
    })
}

#[async_trait]
impl IdempotencyStore for DynamoRecordStore {
    /// One conditional PutItem: it claims a free key or one whose claim or outcome is dead, and otherwise returns
    /// the item that stopped it, which is then reported.
    async fn claim_idempotency(&self, claim: &IdempotencyClaim) -> StoreResult<ClaimOutcome> {
        let table = &self.idempotency_table;
        let item = HashMap::from([
            (SCOPE_ATTR.to_owned(), s(claim.scope.as_str())),
            ("fingerprint".to_owned(), s(claim.fingerprint.as_str())),
            ("state".to_owned(), s("pending")),
            ("token".to_owned(), s(claim.token.as_str())),
            ("leaseUntil".to_owned(), AttributeValue::N(claim.lease_until.millis().to_string())),
            (EXPIRES_ATTR.to_owned(), AttributeValue::N(epoch_seconds(claim.lease_until).to_string())),
        ]);
        let result = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(#scope) OR #exp <= :now_s OR (#state = :pending AND #lease <= :now_ms)",
            )
            .expression_attribute_names("#scope", SCOPE_ATTR)
            .expression_attribute_names("#exp", EXPIRES_ATTR)
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#lease", "leaseUntil")
            .expression_attribute_values(":now_s", AttributeValue::N(claim.now.millis().div_euclid(1000).to_string()))
            .expression_attribute_values(":now_ms", AttributeValue::N(claim.now.millis().to_string()))
            .expression_attribute_values(":pending", s("pending"))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(ClaimOutcome::Claimed),
            Err(e) => e,
        };
        let Some(failed) = err.as_service_error().and_then(|e| match e {
            aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => Some(c),
            _ => None,
        }) else {
            return Err(map_sdk_error("PutItem", table, err));
        };
        let found = match failed.item() {
            Some(item) => Some(item.clone()),
            // An endpoint that does not return the item: read it, strongly.
            None => {
                self.client
                    .get_item()
                    .table_name(table)
                    .key(SCOPE_ATTR, s(claim.scope.as_str()))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| map_sdk_error("GetItem", table, e))?
                    .item
            }
        };
        let Some(row) = found.as_ref().and_then(idempotency_row) else {
            return Err(StoreError::Unavailable("idempotency item changed during its claim".into()));
        };
        match decide(row, claim.now.millis())? {
            Decision::Report(outcome) => Ok(outcome),
            // The condition refused what `decide` calls dead only at the boundary instant: claim again shortly.
            Decision::TakeOver { .. } => Err(StoreError::Unavailable("idempotency claim at its lease boundary".into())),
        }
    }

    async fn release_idempotency(&self, scope: &str, token: &str) -> StoreResult<()> {
        let table = &self.idempotency_table;
        let result = self
            .client
            .delete_item()
            .table_name(table)
            .key(SCOPE_ATTR, s(scope))
            .condition_expression("#token = :token AND #state = :pending")
            .expression_attribute_names("#token", "token")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":token", s(token))
            .expression_attribute_values(":pending", s("pending"))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Completed, or no longer this attempt's: nothing to give up.
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(()),
            Err(e) => Err(map_sdk_error("DeleteItem", table, e)),
        }
    }

    /// DynamoDB's TTL removes expired items by itself (`expiresAt`); until it does, a claim treats them as absent.
    async fn purge_idempotency(&self, _now: Timestamp, _limit: u32) -> StoreResult<u64> {
        Ok(0)
    }
}

#[async_trait]
impl RecordStore for DynamoRecordStore {
    fn backend(&self) -> &'static str {
        "dynamodb"
    }

    /// A GetItem of a key that is never written: a cheap data-plane read (unlike DescribeTable, which has a low
    /// account-wide rate limit) that still proves credentials, network and table.
    async fn ping(&self) -> StoreResult<()> {
        self.client
            .get_item()
            .table_name(&self.records_table)
            .key(RECORD_ID_ATTR, s("gospital-ping"))
            .projection_expression("#id")
            .expression_attribute_names("#id", RECORD_ID_ATTR)
            .send()
            .await
            .map_err(|e| map_sdk_error("GetItem", &self.records_table, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_dynamodb::operation::get_item::GetItemError;

    use super::*;

    #[test]
    fn index_sort_values_order_like_the_contract() {
        // Fixed-width dates make "<date>#<id>" byte order equal to (date, id) order.
        let a = index_sort("2026-03-10T09:00:00.000Z", "REC-01B");
        let b = index_sort("2026-03-10T09:00:00.000Z", "REC-01C");
        let c = index_sort("2026-03-10T09:00:00.001Z", "REC-01A");
        assert!(a < b && b < c);
        let high = format!("{}\u{ffff}", "2026-03-10");
        assert!(c.as_str() < high.as_str() && "2026-03-10" < a.as_str());
        assert!(high.as_str() < "2026-03-11");
    }

    /// A GetItem service error as the SDK builds it from a response with `status` and error `code`.
    fn service_error(status: u16, code: &str) -> SdkError<GetItemError, HttpResponse> {
        let meta = ErrorMetadata::builder().code(code).message("injected").build();
        let status = status.try_into().expect("valid status");
        SdkError::service_error(GetItemError::generic(meta), HttpResponse::new(status, "{}".into()))
    }

    #[test]
    fn throttling_timeouts_5xx_and_connection_failures_are_unavailable() {
        let transient = [
            service_error(400, "ThrottlingException"),
            service_error(400, "ProvisionedThroughputExceededException"),
            service_error(400, "RequestLimitExceeded"),
            service_error(400, "LimitExceededException"),
            service_error(500, "InternalServerError"),
            service_error(503, "ServiceUnavailable"),
            service_error(502, "SomethingNew"),
            SdkError::timeout_error("operation timed out"),
            SdkError::dispatch_failure(ConnectorError::io("connection refused".into())),
        ];
        for err in transient {
            let mapped = map_sdk_error("GetItem", "records", err);
            assert!(matches!(mapped, StoreError::Unavailable(_)), "{mapped:?}");
        }
    }

    #[test]
    fn rejected_requests_are_internal() {
        for code in ["ValidationException", "ResourceNotFoundException", "AccessDeniedException"] {
            let mapped = map_sdk_error("GetItem", "records", service_error(400, code));
            assert!(
                matches!(&mapped, StoreError::Internal(text) if text.starts_with("GetItem on records")),
                "{mapped:?}"
            );
        }
        let unbuildable = SdkError::<GetItemError, HttpResponse>::construction_failure("missing table name");
        assert!(matches!(map_sdk_error("GetItem", "records", unbuildable), StoreError::Internal(_)));
    }

    #[test]
    fn settings_are_validated_before_any_call() {
        let ok = DynamoSettings {
            endpoint: None,
            region: "eu-west-1".into(),
            records_table: "gospital-medical-records".into(),
            invoices_table: "gospital-invoices".into(),
            history_table: "gospital-medical-record-history".into(),
            idempotency_table: "gospital-idempotency".into(),
            audit_table: "gospital-audit-events".into(),
            call_timeout: Duration::from_secs(2),
        };
        assert!(validate(&ok).is_ok());
        for bad in [
            DynamoSettings { region: " ".into(), ..ok.clone() },
            DynamoSettings { records_table: "ab".into(), ..ok.clone() },
            DynamoSettings { invoices_table: "bad name".into(), ..ok.clone() },
            DynamoSettings { invoices_table: ok.records_table.clone(), ..ok.clone() },
            DynamoSettings { idempotency_table: ok.history_table.clone(), ..ok.clone() },
        ] {
            assert!(matches!(validate(&bad), Err(StoreError::Internal(_))), "{bad:?}");
        }
    }
}
