//! Error mapping and helpers shared by every sqlx-based adapter (SQLite today, MySQL next).

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
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // SQLite: 5 BUSY, 6 LOCKED (and their extended codes), 10 IOERR, 13 FULL.
            // MySQL: 1205 lock wait timeout, 1213 deadlock, 2006/2013 server gone or lost.
            let transient = matches!(
                code.as_str(),
                "5" | "6" | "10" | "13" | "261" | "262" | "517" | "1205" | "1213" | "2006" | "2013"
            ) || code.starts_with("10") && code.len() > 2 && db.message().contains("disk I/O");
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

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        map_sqlx(err)
    }
}

/// Escapes `%`, `_` and `\` so user text matches literally inside `LIKE ... ESCAPE '\'`.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escape(r"50%_a\b"), r"50\%\_a\\b");
    }
}
