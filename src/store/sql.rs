//! Error mapping and helpers shared by every sqlx-based adapter (SQLite and MySQL/MariaDB).

use super::StoreError;

/// Maps a sqlx error to the port's error: unique violations are conflicts; pool, I/O, timeouts and
/// lock contention mean the store is unavailable; the rest is internal.
pub fn map_sqlx(err: sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                return StoreError::Conflict;
            }
            // MySQL's `code()` is the SQLSTATE, shared by unrelated errors; its error number tells them apart.
            if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
                let number = my.number();
                let what = format!("database error {number}: {}", my.message());
                return if mysql_transient(number) {
                    StoreError::Unavailable(what)
                } else {
                    StoreError::Internal(what)
                };
            }
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // SQLite: 5 BUSY, 6 LOCKED (and their extended codes), 10 IOERR, 13 FULL.
            let transient = matches!(code.as_str(), "5" | "6" | "10" | "13" | "261" | "262" | "517")
                || code.starts_with("10") && code.len() > 2 && db.message().contains("disk I/O");
            if transient {
                StoreError::Unavailable(format!("database error {code}: {}", db.message()))
            } else {
                StoreError::Internal(format!("database error {code}: {}", db.message()))
            }
        }
        sqlx::Error::Io(e) => StoreError::Unavailable(format!("i/o: {e}")),
        sqlx::Error::PoolTimedOut => StoreError::Unavailable("connection pool timed out".into()),
        sqlx::Error::PoolClosed => StoreError::Unavailable("connection pool closed".into()),
        sqlx::Error::WorkerCrashed => StoreError::Unavailable("database worker crashed".into()),
        sqlx::Error::Tls(e) => StoreError::Unavailable(format!("tls: {e}")),
        sqlx::Error::Protocol(e) => StoreError::Unavailable(format!("protocol: {e}")),
        other => StoreError::Internal(other.to_string()),
    }
}

/// MySQL/MariaDB error numbers that mean "try again later", not "this request is wrong".
fn mysql_transient(number: u16) -> bool {
    matches!(
        number,
        // Too many connections (server-wide, per user), server shutting down.
        1040 | 1203 | 1053
        // Lock wait timeout, deadlock (both left after the adapter's one retry).
        | 1205 | 1213
        // Query killed or interrupted; MariaDB max_statement_time, MySQL max_execution_time exceeded.
        | 1317 | 1969 | 3024
        // Connection killed (MariaDB); server gone away or lost mid-query.
        | 1927 | 2006 | 2013
        // Read-only server or option (a replica or a failover in progress).
        | 1290 | 1836
    )
}

/// True for the lock failures a transaction may simply run again: deadlock (1213) and lock wait timeout (1205).
pub fn is_mysql_lock_failure(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .is_some_and(|my| matches!(my.number(), 1205 | 1213)),
        _ => false,
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        map_sqlx(err)
    }
}
