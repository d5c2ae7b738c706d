//! Gospital: hospital-management HTTP API. `build_app` wires configuration, stores and the router.

pub mod clock;
pub mod config;
pub mod deadline;
pub mod domain;
pub mod error;
pub mod healthcheck;
pub mod http;
pub mod middleware;
pub mod service;
pub mod state;
pub mod store;

use std::sync::Arc;

use std::time::Duration;

use crate::clock::Clock;
use crate::config::{Config, RecordsBackend};
use crate::state::AppState;
use crate::store::dynamodb::{DynamoRecordStore, DynamoSettings};
use crate::store::mysql::{MySqlClinicStore, MySqlDb, MySqlOptions, MySqlRecordStore};
use crate::store::sqlite::{SqliteClinicStore, SqliteDb, SqliteOptions};
use crate::store::sqlite_records::SqliteRecordStore;
use crate::store::{ClinicStore, RecordStore};

/// Opens the configured stores and returns the state. SQLite is always migrated (it is embedded); MySQL and
/// DynamoDB only when `migrate` is set, so production schema changes stay a deliberate step (DESIGN.md §2).
/// Every error names the setting at fault.
pub async fn build_state(config: &Config, clock: Arc<dyn Clock>, migrate: bool) -> anyhow::Result<AppState> {
    let settings = config.settings().map_err(anyhow::Error::msg)?;
    let url = config.resolved_database_url().map_err(anyhow::Error::msg)?;
    let (clinic, sql_records): (Arc<dyn ClinicStore>, Arc<dyn RecordStore>) = if url.starts_with("sqlite:") {
        let opts = SqliteOptions {
            busy_timeout: Duration::from_millis(config.sqlite_busy_timeout_ms),
            read_connections: config.db_pool_size,
            acquire_timeout: Duration::from_millis(config.db_acquire_timeout_ms),
        };
        let db = SqliteDb::open(&url, opts)
            .await
            .map_err(|e| anyhow::anyhow!("DATABASE_URL: cannot open SQLite database {url}: {e}"))?;
        db.migrate().await.map_err(|e| anyhow::anyhow!("DATABASE_URL: SQLite migrations failed: {e}"))?;
        (Arc::new(SqliteClinicStore::new(db.clone())), Arc::new(SqliteRecordStore::new(db)))
    } else if url.starts_with("mysql:") {
        let opts = MySqlOptions {
            max_connections: config.db_pool_size,
            acquire_timeout: Duration::from_millis(config.db_acquire_timeout_ms),
            statement_timeout: Duration::from_millis(config.db_statement_timeout_ms),
        };
        let db = MySqlDb::connect(&url, opts)
            .await
            .map_err(|e| anyhow::anyhow!("DATABASE_URL: cannot connect to {}: {e}", redact_url(&url)))?;
        if migrate {
            db.migrate().await.map_err(|e| anyhow::anyhow!("DATABASE_URL: MySQL migrations failed: {e}"))?;
        }
        (Arc::new(MySqlClinicStore::new(db.clone())), Arc::new(MySqlRecordStore::new(db)))
    } else {
        anyhow::bail!("DATABASE_URL: unsupported scheme in {}; expected sqlite://PATH or mysql://…", redact_url(&url));
    };
    let records: Arc<dyn RecordStore> = match config.records_store {
        RecordsBackend::Sql => sql_records,
        RecordsBackend::Dynamodb => {
            let dynamo = DynamoSettings {
                endpoint: config.dynamodb_endpoint.clone(),
                region: config.resolved_region(),
                records_table: config.medical_records_table.clone(),
                invoices_table: config.invoices_table.clone(),
                history_table: config.medical_record_history_table.clone(),
                idempotency_table: config.idempotency_table.clone(),
                call_timeout: settings.request_timeout,
            };
            let store = DynamoRecordStore::connect(dynamo)
                .await
                .map_err(|e| anyhow::anyhow!("GOSPITAL_RECORDS_STORE=dynamodb: cannot configure DynamoDB: {e}"))?;
            if migrate {
                store.migrate().await.map_err(|e| anyhow::anyhow!("DynamoDB tables: migration failed: {e}"))?;
            } else {
                store.ensure_tables().await.map_err(|e| anyhow::anyhow!("DynamoDB tables: {e}"))?;
            }
            Arc::new(store)
        }
    };
    Ok(AppState::new(clinic, records, clock, Arc::new(settings)))
}

/// Builds the full application router over freshly opened stores.
pub async fn build_app(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<(axum::Router, AppState)> {
    let state = build_state(config, clock, config.migrate).await?;
    Ok((http::router(state.clone()), state))
}

/// Hides a password in a database URL before it is printed.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme + 3], &creds[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
