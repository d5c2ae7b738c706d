//! What the SQL adapters share for revocations (SECURITY.md §4): the statements (the same text on SQLite and
//! MySQL) and the paging of their rows. The table is append-only: no statement here updates or deletes.

use super::{CursorKey, KeyPage, revocation_key};
use crate::domain::formats::Timestamp;
use crate::domain::revocation::Revocation;

pub(crate) const INSERT: &str =
    "INSERT INTO revocations (revocation_id, sub, reason, revoked_at, revoked_by) VALUES (?, ?, ?, ?, ?)";

/// Binds: revoked_at bound, the same bound, revocation_id bound, limit + 1.
pub(crate) const PAGE: &str = "SELECT revocation_id, sub, reason, revoked_at, revoked_by FROM revocations \
     WHERE revoked_at < ? OR (revoked_at = ? AND revocation_id < ?) \
     ORDER BY revoked_at DESC, revocation_id DESC LIMIT ?";

pub(crate) const INDEX: &str = "SELECT sub, MAX(revoked_at) AS revoked_at FROM revocations GROUP BY sub";

#[derive(sqlx::FromRow)]
pub(crate) struct Row {
    revocation_id: String,
    sub: String,
    reason: String,
    revoked_at: i64,
    revoked_by: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct IndexRow {
    pub sub: String,
    pub revoked_at: i64,
}

/// Where a page starts: `(revoked_at, revocation_id)` to continue below; the first page starts above all rows.
pub(crate) fn start(after: Option<&CursorKey>) -> (i64, String) {
    match after.and_then(|k| Some((k.sort.parse::<i64>().ok()?, k.id.clone()))) {
        Some(at) => at,
        None => (i64::MAX, String::new()),
    }
}

/// One page from rows fetched `limit + 1` at a time: the extra row only tells that a next page exists.
pub(crate) fn page(mut rows: Vec<Row>, limit: u32) -> KeyPage<Revocation> {
    let page_len = limit.max(1) as usize;
    let more = rows.len() > page_len;
    rows.truncate(page_len);
    let items: Vec<Revocation> = rows
        .into_iter()
        .map(|r| Revocation {
            id: r.revocation_id,
            sub: r.sub,
            reason: r.reason,
            revoked_at: Timestamp::from_millis(r.revoked_at),
            revoked_by: r.revoked_by,
        })
        .collect();
    let next = if more { items.last().map(revocation_key) } else { None };
    KeyPage { items, next }
}
