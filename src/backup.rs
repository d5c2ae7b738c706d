//! `gospital backup --to FILE`: a consistent copy of the SQLite database, safe while the server is serving.
//!
//! - `VACUUM INTO` runs as one read transaction on a connection of its own, so the copy is the snapshot of one
//!   moment: every write committed (acknowledged) before it started is in it, none half-done after. In WAL mode
//!   writers go on meanwhile; the copy is a compact single file with nothing pending in a `-wal` file.
//! - The name is reserved first with `create_new`, so an existing file is never overwritten, even one that
//!   appears while the copy runs; anything that fails afterwards removes the partial copy.
//! - SQLite does not fsync the file `VACUUM INTO` writes, so the copy (and its directory) is synced here.
//! - The copy is then opened read-only and must pass `PRAGMA integrity_check` before the command succeeds.
//! - MySQL and DynamoDB hold their data elsewhere: the command refuses them (exit 2) and names the right tool.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::config::{Config, ConfigError, RecordsBackend};
use crate::store::sqlite::schema_state_of;

/// What was written, for the one line the command prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub to: PathBuf,
    pub bytes: u64,
    /// Highest migration in the copy (`None`: an unmigrated database).
    pub schema_version: Option<i64>,
}

impl std::fmt::Display for BackupReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let version = self.schema_version.map_or_else(|| "none".to_owned(), |v| v.to_string());
        write!(
            f,
            "backup written to {} ({} bytes, schema version {version}, integrity_check ok)",
            self.to.display(),
            self.bytes
        )
    }
}

/// Copies the configured SQLite database to `to`. Settings that rule a backup out (another engine, DynamoDB
/// records, an existing `to`) are a [`ConfigError`]; anything that fails while copying is another error.
pub async fn backup(config: &Config, to: &Path) -> anyhow::Result<BackupReport> {
    let source = source(config)?;
    if to.exists() {
        return Err(exists(to).into());
    }
    let reserved = match OpenOptions::new().write(true).create_new(true).open(to) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(exists(to).into()),
        Err(e) => anyhow::bail!("--to: cannot create {}: {e}", to.display()),
    };
    drop(reserved);
    match copy_and_verify(config, &source, to).await {
        Ok(report) => Ok(report),
        Err(e) => {
            // Only this command created the file, so only a failed copy of ours is removed.
            let _ = std::fs::remove_file(to);
            Err(e)
        }
    }
}

/// The SQLite file of the configuration, or why this command cannot copy what is configured.
fn source(config: &Config) -> Result<SqliteConnectOptions, ConfigError> {
    let url = config.resolved_database_url()?;
    let setting = config.database_url_setting();
    if config.records_store == RecordsBackend::Dynamodb {
        return Err(ConfigError(
            "GOSPITAL_RECORDS_STORE=dynamodb: medical records and invoices are in DynamoDB, which `gospital \
             backup` cannot copy: use point-in-time recovery or on-demand backups (aws dynamodb create-backup), and \
             the relational database's own tool (README: Backup and restore)"
                .to_owned(),
        ));
    }
    if url.starts_with("mysql:") {
        return Err(ConfigError(format!(
            "{setting} names MySQL, which `gospital backup` (SQLite only) cannot copy: take a consistent dump with \
             `mariadb-dump --single-transaction --routines --triggers DATABASE > FILE` (mysqldump on MySQL), or \
             use RDS snapshots (README: Backup and restore)"
        )));
    }
    if !url.starts_with("sqlite:") {
        return Err(ConfigError(format!("{setting}: unsupported scheme; expected sqlite://PATH")));
    }
    let options = SqliteConnectOptions::from_str(&url).map_err(|e| ConfigError(format!("{setting}: {e}")))?;
    let file = options.get_filename();
    if file.as_os_str() == ":memory:" || url.contains("mode=memory") {
        return Err(ConfigError(format!("{setting}: an in-memory database has no file to back up")));
    }
    if !file.is_file() {
        return Err(ConfigError(format!("{setting}: no SQLite database at {} to back up", file.display())));
    }
    Ok(options)
}

fn exists(to: &Path) -> ConfigError {
    ConfigError(format!("--to: {} already exists; gospital backup never overwrites a file", to.display()))
}

async fn copy_and_verify(config: &Config, source: &SqliteConnectOptions, to: &Path) -> anyhow::Result<BackupReport> {
    let from = source.get_filename().display().to_string();
    let to_text = to.to_str().ok_or_else(|| anyhow::anyhow!("--to: {} is not valid UTF-8", to.display()))?;
    // Never create the source, and wait for a busy writer as long as the server itself would.
    let mut conn = quiet(source.clone().create_if_missing(false))
        .busy_timeout(std::time::Duration::from_millis(config.sqlite_busy_timeout_ms))
        .connect()
        .await
        .map_err(|e| anyhow::anyhow!("cannot open {from}: {e}"))?;
    sqlx::query("VACUUM INTO ?")
        .bind(to_text)
        .execute(&mut conn)
        .await
        .map_err(|e| anyhow::anyhow!("copying {from} to {}: {e}", to.display()))?;
    let _ = conn.close().await;
    sync(to).map_err(|e| anyhow::anyhow!("cannot sync {}: {e}", to.display()))?;
    let schema_version = verify(to).await?;
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport { to: to.to_owned(), bytes, schema_version })
}

/// Opens the copy read-only and runs `PRAGMA integrity_check`; answers the copy's schema version.
pub async fn verify(copy: &Path) -> anyhow::Result<Option<i64>> {
    // immutable: the copy is a closed file nobody writes, so SQLite needs no -wal/-shm beside it.
    let options = SqliteConnectOptions::new().filename(copy).read_only(true).immutable(true);
    let mut conn = quiet(options).connect().await.map_err(|e| anyhow::anyhow!("cannot open the copy: {e}"))?;
    let report: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .map_err(|e| anyhow::anyhow!("integrity_check of the copy failed to run: {e}"))?;
    if report != ["ok"] {
        let first = report.first().map_or("no answer", String::as_str);
        anyhow::bail!(
            "the copy failed PRAGMA integrity_check ({first}; {} problem(s)) and was removed: check the source",
            report.len()
        );
    }
    let state = schema_state_of(&mut conn).await.map_err(|e| anyhow::anyhow!("reading the copy's schema: {e}"))?;
    let _ = conn.close().await;
    Ok(state.version())
}

/// The backup's connections log nothing: the command's result is its one line.
fn quiet(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options.disable_statement_logging()
}

/// fsync of the file and of its directory (so the new name survives a power cut too).
fn sync(file: &Path) -> std::io::Result<()> {
    std::fs::File::open(file)?.sync_all()?;
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // Directories cannot be opened for syncing everywhere; the file itself is what matters most.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
