//! Gospital: hospital-management HTTP API. `build_app` wires configuration, stores and the router.

pub mod audit;
pub mod auth;
pub mod backup;
pub mod clock;
pub mod config;
pub mod deadline;
pub mod domain;
pub mod error;
pub mod healthcheck;
pub mod http;
pub mod middleware;
pub mod schema;
pub mod service;
pub mod state;
pub mod store;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;
use sqlx::migrate::Migrator;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};

use crate::auth::cache::CachingVerifier;
use crate::auth::local::{LocalVerifier, SigningKey};
use crate::auth::oidc::OidcVerifier;
use crate::auth::rate::PrincipalLimiter;
use crate::auth::{Auth, AuthMode, TokenVerifier};
use crate::clock::Clock;
use crate::config::{Config, ConfigError, RecordsBackend};
use crate::schema::SchemaState;
use crate::state::AppState;
use crate::store::dynamodb::{DynamoRecordStore, DynamoSettings, Unusable};
use crate::store::mysql::{MySqlClinicStore, MySqlDb, MySqlOptions, MySqlRecordStore};
use crate::store::sqlite::{SqliteClinicStore, SqliteDb, SqliteOptions};
use crate::store::sqlite_records::SqliteRecordStore;
use crate::store::{ClinicStore, RecordStore, StoreError};

/// Opens the configured stores and returns the state. SQLite is always migrated (it is embedded); MySQL and
/// DynamoDB only when `migrate` is set, so production schema changes stay a deliberate step (DESIGN.md §2), and
/// without it `serve` refuses a MySQL database whose migrations do not match the binary's.
///
/// Every error is one line naming the setting at fault. What the settings alone show to be wrong (a bad value,
/// a URL without a database, no AWS credentials) is checked before anything is opened and comes back as a
/// [`ConfigError`] (the binary exits 2); what needed the outside world (an unreachable database, a schema to
/// migrate, a missing table) is any other error (exit 1).
pub async fn build_state(
    config: &Config,
    clock: Arc<dyn Clock>,
    migrate: bool,
    auth: Auth,
) -> anyhow::Result<AppState> {
    let settings = config.settings()?;
    let (clinic, records) = open_stores(config, migrate).await?;
    let audit_key = audit_key(config)?;
    Ok(AppState::new(clinic, records, clock, Arc::new(settings), auth, audit_key))
}

/// The configured stores, bare (no guards, nothing started), checked and migrated as [`build_state`] says.
pub async fn open_stores(
    config: &Config,
    migrate: bool,
) -> anyhow::Result<(Arc<dyn ClinicStore>, Arc<dyn RecordStore>)> {
    let settings = config.settings()?;
    let url = config.resolved_database_url()?;
    let relational = Relational::from_url(config, &url)?;
    let dynamo = match config.records_store {
        RecordsBackend::Sql => None,
        RecordsBackend::Dynamodb => Some(dynamo_store(config, settings.request_timeout).await?),
    };
    let (clinic, sql_records): (Arc<dyn ClinicStore>, Arc<dyn RecordStore>) = match relational {
        Relational::Sqlite => {
            let opts = SqliteOptions {
                busy_timeout: Duration::from_millis(config.sqlite_busy_timeout_ms),
                read_connections: config.db_pool_size,
                acquire_timeout: Duration::from_millis(config.db_acquire_timeout_ms),
                synchronous: match config.sqlite_synchronous {
                    crate::config::SqliteDurability::Full => sqlx::sqlite::SqliteSynchronous::Full,
                    crate::config::SqliteDurability::Normal => sqlx::sqlite::SqliteSynchronous::Normal,
                },
            };
            let db = SqliteDb::open(&url, opts).await.map_err(|e| {
                anyhow::anyhow!("{}: cannot open SQLite database {url}: {e}", config.database_url_setting())
            })?;
            // SQLite migrates on every start, so missing migrations do not stop it; unknown, failed or edited ones do.
            let state = db.schema_state().await.map_err(|e| unreadable_schema(config, &e))?;
            let newer = matches!(state, SchemaState::Ahead { .. });
            check_schema(config, state, &crate::store::sqlite::MIGRATOR, true)?;
            // A newer release's database (served with GOSPITAL_ALLOW_NEWER_SCHEMA) already holds our migrations,
            // which come before its own; sqlx would refuse to migrate it for the versions it does not know.
            if !newer {
                db.migrate()
                    .await
                    .map_err(|e| anyhow::anyhow!("{}: SQLite migrations failed: {e}", config.database_url_setting()))?;
            }
            (Arc::new(SqliteClinicStore::new(db.clone())), Arc::new(SqliteRecordStore::new(db)))
        }
        Relational::MySql => {
            let opts = MySqlOptions {
                max_connections: config.db_pool_size,
                acquire_timeout: Duration::from_millis(config.db_acquire_timeout_ms),
                statement_timeout: Duration::from_millis(config.db_statement_timeout_ms),
            };
            let db = match MySqlDb::connect(&url, opts).await {
                Ok(db) => db,
                Err(e) => {
                    let why = mysql_connect_failure(&url).await.unwrap_or_else(|| e.to_string());
                    anyhow::bail!("{}: cannot connect to {}: {why}", config.database_url_setting(), redact_url(&url));
                }
            };
            if migrate {
                db.migrate()
                    .await
                    .map_err(|e| anyhow::anyhow!("{}: MySQL migrations failed: {e}", config.database_url_setting()))?;
            } else {
                let state = db.schema_state().await.map_err(|e| unreadable_schema(config, &e))?;
                check_schema(config, state, &crate::store::mysql::MIGRATOR, false)?;
            }
            (Arc::new(MySqlClinicStore::new(db.clone())), Arc::new(MySqlRecordStore::new(db)))
        }
    };
    let records: Arc<dyn RecordStore> = match dynamo {
        None => sql_records,
        Some(store) => {
            let target = match &config.dynamodb_endpoint {
                Some(endpoint) => format!("{} {endpoint}", config::setting("dynamodb_endpoint")),
                None => format!("DynamoDB in {} {}", config::setting("aws_region"), config.resolved_region()),
            };
            match store.check_endpoint().await {
                Ok(()) => {}
                Err(Unusable::Unreachable(why)) => anyhow::bail!("{target} does not answer: {why}"),
                Err(Unusable::Rejected(why)) => anyhow::bail!("{target} refused the AWS credentials: {why}"),
            }
            if migrate {
                store.migrate().await.map_err(|e| anyhow::anyhow!("DynamoDB tables: migration failed: {e}"))?;
            } else {
                store.ensure_tables().await.map_err(|e| anyhow::anyhow!("DynamoDB tables: {e}"))?;
            }
            Arc::new(store)
        }
    };
    Ok((clinic, records))
}

/// The checkpoint signing key: `GOSPITAL_AUDIT_KEY` when set, else `GOSPITAL_AUDIT_KEY_FILE` (created when missing).
pub fn audit_key(config: &Config) -> anyhow::Result<Arc<audit::CheckpointKey>> {
    let from_env = std::env::var(audit::KEY_ENV).is_ok_and(|v| !v.trim().is_empty());
    let setting = if from_env { audit::KEY_ENV.to_owned() } else { config::setting("audit_key_file") };
    audit::CheckpointKey::configured(&config.audit_key_file)
        .map(Arc::new)
        .map_err(|e| anyhow::anyhow!("{setting}: {e}"))
}

/// The relational engine a database URL names, checked as far as the URL alone allows.
enum Relational {
    Sqlite,
    MySql,
}

impl Relational {
    fn from_url(config: &Config, url: &str) -> Result<Self, ConfigError> {
        let setting = config.database_url_setting();
        if url.starts_with("sqlite:") {
            return Ok(Self::Sqlite);
        }
        if !url.starts_with("mysql:") {
            return Err(ConfigError(format!(
                "{setting}: unsupported scheme in {}; expected sqlite://PATH or mysql://user:pass@host:port/db",
                redact_url(url)
            )));
        }
        // The parser's message never echoes the URL, which may carry a password.
        let options = MySqlConnectOptions::from_str(url).map_err(|e| {
            ConfigError(format!("{setting}: not a MySQL URL ({e}); expected mysql://user:pass@host:port/db"))
        })?;
        // Without a database every statement fails with "No database selected": refuse it here instead.
        if options.get_database().is_none_or(str::is_empty) {
            return Err(ConfigError(format!(
                "{setting}: {} names no database; expected mysql://user:pass@host:port/DATABASE",
                redact_url(url)
            )));
        }
        Ok(Self::MySql)
    }
}

/// Stops start-up when the database's migrations do not match the binary's: one line saying what to run.
/// `migrates_next` (SQLite): the binary migrates right after this, so only unknown, failed or edited migrations
/// stop it.
fn check_schema(config: &Config, state: SchemaState, migrator: &Migrator, migrates_next: bool) -> anyhow::Result<()> {
    if migrates_next && matches!(state, SchemaState::Behind { .. }) {
        return Ok(());
    }
    if let (SchemaState::Ahead { version, .. }, true) = (&state, config.allow_newer_schema) {
        tracing::warn!(
            schema_version = version,
            "serving a database migrated by a newer release (GOSPITAL_ALLOW_NEWER_SCHEMA)"
        );
    }
    match state.refusal(migrator, config.allow_newer_schema) {
        Some(why) => anyhow::bail!("{}: {why}", config.database_url_setting()),
        None => Ok(()),
    }
}

/// Why a single connection to `url` fails: the pool only reports that it timed out waiting for one.
async fn mysql_connect_failure(url: &str) -> Option<String> {
    let options = MySqlConnectOptions::from_str(url).ok()?;
    match tokio::time::timeout(Duration::from_secs(5), MySqlConnection::connect_with(&options)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            None
        }
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some("no answer within 5 s".to_owned()),
    }
}

fn unreadable_schema(config: &Config, e: &StoreError) -> anyhow::Error {
    anyhow::anyhow!("{}: cannot read the applied migrations: {e}", config.database_url_setting())
}

/// The DynamoDB store, with its settings checked and its credentials loaded; contacts DynamoDB itself not yet.
async fn dynamo_store(config: &Config, call_timeout: Duration) -> anyhow::Result<DynamoRecordStore> {
    let settings = DynamoSettings {
        endpoint: config.dynamodb_endpoint.clone(),
        region: config.resolved_region(),
        records_table: config.medical_records_table.clone(),
        invoices_table: config.invoices_table.clone(),
        history_table: config.medical_record_history_table.clone(),
        idempotency_table: config.idempotency_table.clone(),
        audit_table: config.audit_events_table.clone(),
        call_timeout,
    };
    let store = DynamoRecordStore::connect(settings).await.map_err(|e| {
        let why = match e {
            StoreError::Internal(why) => why,
            other => other.to_string(),
        };
        ConfigError(format!(
            "GOSPITAL_RECORDS_STORE=dynamodb: {why} (AWS_REGION, MEDICAL_RECORDS_TABLE, INVOICES_TABLE)"
        ))
    })?;
    if let Err(why) = store.check_credentials().await {
        return Err(no_credentials(&why).into());
    }
    Ok(store)
}

fn no_credentials(why: &str) -> ConfigError {
    ConfigError(format!(
        "GOSPITAL_RECORDS_STORE=dynamodb needs AWS credentials and none were found ({why}): set \
         AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with an IAM role (a local emulator \
         accepts any key)"
    ))
}

/// Builds the full application router over freshly opened stores. Settings and authentication are checked
/// before any store is contacted.
pub async fn build_app(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<(axum::Router, AppState)> {
    config.settings()?;
    let auth = build_auth(config)?;
    let state = build_state(config, clock, config.migrate, auth).await?;
    Ok((http::router(state.clone()), state))
}

/// The configured authentication (SECURITY.md §1): the local key (read, or created on first start), the OIDC
/// verifier (its keys load in the background), or mode `off`, which only a loopback listen address may use.
pub fn build_auth(config: &Config) -> anyhow::Result<Auth> {
    // `auth_disabled` is set below, before the state (whose guards install the recorder otherwise) exists: a
    // value set with no recorder is lost.
    crate::middleware::metrics::install();
    // Every reason from the start, so a dashboard shows 0 rather than "No data" until the first failure.
    for reason in crate::middleware::auth::FAILURE_REASONS {
        metrics::counter!("auth_failures_total", "reason" => *reason).absolute(0);
    }
    let mode = config.auth_mode();
    let verifier: Arc<dyn TokenVerifier> = match mode {
        AuthMode::Off => {
            let addr = config.listen_addr();
            if !addr.ip().is_loopback() {
                return Err(ConfigError(format!(
                    "{}: off is allowed only on a loopback listen address, and {} is not one; use local or oidc",
                    config::setting("auth"),
                    addr.ip()
                ))
                .into());
            }
            tracing::warn!("GOSPITAL_AUTH=off: every request is served as anonymous with every staff role");
            metrics::gauge!("auth_disabled").set(1.0);
            return Ok(Auth::off());
        }
        AuthMode::Local => {
            let key =
                SigningKey::load_or_create(&config.auth_key_file).map_err(|e| ConfigError::of("auth_key_file", e))?;
            Arc::new(LocalVerifier::new(key))
        }
        AuthMode::Oidc => OidcVerifier::start(config.oidc_settings()?)?,
    };
    metrics::gauge!("auth_disabled").set(0.0);
    let verifier: Arc<dyn TokenVerifier> = Arc::new(CachingVerifier::new(verifier));
    let limiter = PrincipalLimiter::new(config.rate_limit_per_second, config.rate_limit_burst).map(Arc::new);
    Ok(Auth { mode, verifier: Some(verifier), revocations: Arc::default(), limiter })
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
