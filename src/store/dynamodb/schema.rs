//! Table definitions: creating missing tables, waiting for them, and refusing tables with another key schema.
//!
//! Three shapes: document tables (records, invoices: an ID partition key and `PatientIdIndex`), the record history
//! (record ID + version), and the idempotency table (scope, with expiry by DynamoDB's TTL).

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableDescription, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};

use super::{PATIENT_ATTR, PATIENT_INDEX, map_sdk_error};
use crate::store::{StoreError, StoreResult};

/// How long `migrate` waits for a new table and its index to become ACTIVE (seconds on AWS, instant locally).
const ACTIVE_WAIT: Duration = Duration::from_secs(300);
const POLL_EVERY: Duration = Duration::from_millis(250);

/// The key design of one table.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec<'a> {
    pub name: &'a str,
    /// Partition key of the table (`recordId`, `invoiceId`, `scope`), a string.
    pub id_attr: &'static str,
    pub kind: TableKind,
}

/// What a table holds beyond its partition key.
#[derive(Debug, Clone, Copy)]
pub enum TableKind {
    /// Documents listed per patient through `PatientIdIndex`, whose sort key is `sort_attr`.
    Documents { sort_attr: &'static str },
    /// One item per version: `range_attr` (N) is the table's sort key.
    Versions { range_attr: &'static str },
    /// Items removed by DynamoDB once the epoch seconds in `ttl_attr` have passed.
    Expiring { ttl_attr: &'static str },
}

impl TableSpec<'_> {
    fn expected(&self) -> String {
        match self.kind {
            TableKind::Documents { sort_attr } => format!(
                "partition key {} (S); GSI {PATIENT_INDEX} on {PATIENT_ATTR} (S, HASH) + {sort_attr} (S, RANGE), \
                 projection ALL",
                self.id_attr
            ),
            TableKind::Versions { range_attr } => {
                format!("partition key {} (S), sort key {range_attr} (N)", self.id_attr)
            }
            TableKind::Expiring { .. } => format!("partition key {} (S)", self.id_attr),
        }
    }
}

/// `DescribeTable`, with a missing table as `None`.
pub async fn describe(client: &Client, name: &str) -> StoreResult<Option<TableDescription>> {
    match client.describe_table().table_name(name).send().await {
        Ok(out) => Ok(out.table),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => Ok(None),
        Err(e) => Err(map_sdk_error("DescribeTable", name, e)),
    }
}

/// Creates the table unless it exists, waits until it and its index are ACTIVE, checks its key schema, and turns
/// on expiry for an expiring table.
pub async fn migrate(client: &Client, spec: TableSpec<'_>) -> StoreResult<()> {
    match describe(client, spec.name).await? {
        Some(table) => check_keys(&table, spec)?,
        None => create(client, spec).await?,
    }
    wait_active(client, spec).await?;
    if let TableKind::Expiring { ttl_attr } = spec.kind {
        enable_ttl(client, spec.name, ttl_attr).await?;
    }
    Ok(())
}

/// Turns on TTL expiry unless it is already on (or being turned on); a second run is a no-op.
async fn enable_ttl(client: &Client, table: &str, attr: &str) -> StoreResult<()> {
    let current = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| map_sdk_error("DescribeTimeToLive", table, e))?;
    let status = current.time_to_live_description().and_then(|d| d.time_to_live_status());
    if matches!(status, Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)) {
        return Ok(());
    }
    let spec = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(attr)
        .build()
        .map_err(|e| StoreError::Internal(format!("TTL definition: {e}")))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec)
        .send()
        .await
        .map_err(|e| map_sdk_error("UpdateTimeToLive", table, e))?;
    Ok(())
}

/// Checks that the table exists with the right keys and is usable, without changing anything.
pub async fn ensure(client: &Client, spec: TableSpec<'_>) -> StoreResult<()> {
    let Some(table) = describe(client, spec.name).await? else {
        return Err(StoreError::Internal(format!(
            "DynamoDB table {} does not exist; run `gospital migrate` (or `serve --migrate`) first",
            spec.name
        )));
    };
    check_keys(&table, spec)?;
    if !is_active(&table) {
        return Err(StoreError::Unavailable(format!("DynamoDB table {} or its index is not ACTIVE yet", spec.name)));
    }
    Ok(())
}

async fn create(client: &Client, spec: TableSpec<'_>) -> StoreResult<()> {
    let internal = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Internal(format!("table definition: {e}"));
    let key = |name: &str, kind: KeyType| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
    let attr = |name: &str, kind: ScalarAttributeType| {
        AttributeDefinition::builder().attribute_name(name).attribute_type(kind).build()
    };
    let mut create = client
        .create_table()
        .table_name(spec.name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(spec.id_attr, KeyType::Hash).map_err(internal)?)
        .attribute_definitions(attr(spec.id_attr, ScalarAttributeType::S).map_err(internal)?);
    match spec.kind {
        TableKind::Documents { sort_attr } => {
            let index = GlobalSecondaryIndex::builder()
                .index_name(PATIENT_INDEX)
                .key_schema(key(PATIENT_ATTR, KeyType::Hash).map_err(internal)?)
                .key_schema(key(sort_attr, KeyType::Range).map_err(internal)?)
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .map_err(internal)?;
            create = create
                .attribute_definitions(attr(PATIENT_ATTR, ScalarAttributeType::S).map_err(internal)?)
                .attribute_definitions(attr(sort_attr, ScalarAttributeType::S).map_err(internal)?)
                .global_secondary_indexes(index);
        }
        TableKind::Versions { range_attr } => {
            create = create
                .key_schema(key(range_attr, KeyType::Range).map_err(internal)?)
                .attribute_definitions(attr(range_attr, ScalarAttributeType::N).map_err(internal)?);
        }
        TableKind::Expiring { .. } => {}
    }
    match create.send().await {
        Ok(_) => Ok(()),
        // Another migrate created it first; the wait and the key check below still apply.
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => Ok(()),
        Err(e) => Err(map_sdk_error("CreateTable", spec.name, e)),
    }
}

async fn wait_active(client: &Client, spec: TableSpec<'_>) -> StoreResult<()> {
    let deadline = tokio::time::Instant::now() + ACTIVE_WAIT;
    loop {
        if let Some(table) = describe(client, spec.name).await? {
            check_keys(&table, spec)?;
            if is_active(&table) {
                return Ok(());
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(StoreError::Unavailable(format!(
                "DynamoDB table {} did not become ACTIVE within {ACTIVE_WAIT:?}",
                spec.name
            )));
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// The table is ACTIVE, and so is its `PatientIdIndex` when it has one.
fn is_active(table: &TableDescription) -> bool {
    table.table_status() == Some(&TableStatus::Active)
        && table
            .global_secondary_indexes()
            .iter()
            .filter(|i| i.index_name() == Some(PATIENT_INDEX))
            .all(|i| i.index_status() == Some(&IndexStatus::Active))
}

/// Refuses a table whose keys differ from `spec`: reads and conditional writes would silently mean something else.
pub fn check_keys(table: &TableDescription, spec: TableSpec<'_>) -> StoreResult<()> {
    let keys = |elements: &[KeySchemaElement]| -> Vec<(String, String)> {
        elements.iter().map(|k| (k.attribute_name().to_owned(), k.key_type().as_str().to_owned())).collect()
    };
    let pair = |name: &str, kind: KeyType| (name.to_owned(), kind.as_str().to_owned());
    let typed = |name: &str, kind: ScalarAttributeType| {
        table.attribute_definitions().iter().any(|d| d.attribute_name() == name && d.attribute_type() == &kind)
    };
    let table_keys = keys(table.key_schema());
    let index = table.global_secondary_indexes().iter().find(|i| i.index_name() == Some(PATIENT_INDEX));
    let index_keys = index.map(|i| keys(i.key_schema())).unwrap_or_default();
    let ok = typed(spec.id_attr, ScalarAttributeType::S)
        && match spec.kind {
            TableKind::Documents { sort_attr } => {
                let projection_all = index
                    .and_then(|i| i.projection())
                    .is_some_and(|p| p.projection_type() == Some(&ProjectionType::All));
                table_keys == [pair(spec.id_attr, KeyType::Hash)]
                    && index_keys == [pair(PATIENT_ATTR, KeyType::Hash), pair(sort_attr, KeyType::Range)]
                    && projection_all
                    && typed(PATIENT_ATTR, ScalarAttributeType::S)
                    && typed(sort_attr, ScalarAttributeType::S)
            }
            TableKind::Versions { range_attr } => {
                table_keys == [pair(spec.id_attr, KeyType::Hash), pair(range_attr, KeyType::Range)]
                    && typed(range_attr, ScalarAttributeType::N)
            }
            TableKind::Expiring { .. } => table_keys == [pair(spec.id_attr, KeyType::Hash)],
        };
    if ok {
        return Ok(());
    }
    Err(StoreError::Internal(format!(
        "DynamoDB table {} has the wrong key schema: expected {}; found table keys {table_keys:?}, \
         {PATIENT_INDEX} keys {index_keys:?}",
        spec.name,
        spec.expected()
    )))
}
