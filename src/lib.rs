//! Gospital: hospital-management HTTP API. `build_app` wires configuration, stores and the router.

pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod middleware;
pub mod state;
pub mod store;

use std::sync::Arc;

use anyhow::Context as _;

use crate::clock::Clock;
use crate::config::{Config, RecordsBackend};
use crate::state::AppState;
use crate::store::sqlite::{SqliteClinicStore, SqliteDb, SqliteOptions};
use crate::store::sqlite_records::SqliteRecordStore;

/// Opens the configured stores (migrating when asked, and always for SQLite) and returns the state.
pub async fn build_state(config: &Config, clock: Arc<dyn Clock>, migrate: bool) -> anyhow::Result<AppState> {
    let settings = config.settings().map_err(anyhow::Error::msg)?;
    if config.records_store == RecordsBackend::Dynamodb {
        anyhow::bail!("GOSPITAL_RECORDS_STORE: dynamodb is not available in this build yet; use sql");
    }
    let url = config.resolved_database_url().map_err(anyhow::Error::msg)?;
    let url = url.as_str();
    let Some(_) = url.strip_prefix("sqlite:") else {
        if url.starts_with("mysql:") {
            anyhow::bail!("DATABASE_URL: mysql is not available in this build yet; use sqlite://PATH");
        }
        anyhow::bail!("DATABASE_URL: unsupported scheme in {:?}; expected sqlite://PATH", redact_url(url));
    };
    let opts = SqliteOptions {
        busy_timeout: std::time::Duration::from_millis(config.sqlite_busy_timeout_ms),
        read_connections: config.db_pool_size,
        acquire_timeout: std::time::Duration::from_millis(config.db_acquire_timeout_ms),
    };
    let db = SqliteDb::open(url, opts)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("DATABASE_URL: cannot open SQLite database")?;
    // SQLite is embedded, so it is always brought up to date (DESIGN.md §2).
    let _ = migrate;
    db.migrate().await.map_err(|e| anyhow::anyhow!("{e}")).context("DATABASE_URL: migrations failed")?;
    Ok(AppState {
        clinic: Arc::new(SqliteClinicStore::new(db.clone())),
        records: Arc::new(SqliteRecordStore::new(db)),
        clock,
        settings: Arc::new(settings),
    })
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
