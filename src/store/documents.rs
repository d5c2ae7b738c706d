//! JSON documents of the SQL records stores (SQLite and MySQL): the document is the serde_json form of the domain
//! struct, decoded straight back into it (never through `serde_json::Value`, so money keeps its exact text), with
//! `version` kept beside it in its own column.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{StoreError, StoreResult};
use crate::domain::invoice::Invoice;
use crate::domain::medical_record::MedicalRecord;

/// A document type kept by the SQL records stores.
pub(crate) trait Document: Serialize + DeserializeOwned {
    /// Names the document in error messages.
    const KIND: &'static str;
    fn set_version(&mut self, version: i64);
}

impl Document for MedicalRecord {
    const KIND: &'static str = "medical record";
    fn set_version(&mut self, version: i64) {
        self.version = version;
    }
}

impl Document for Invoice {
    const KIND: &'static str = "invoice";
    fn set_version(&mut self, version: i64) {
        self.version = version;
    }
}

pub(crate) fn encode<T: Document>(doc: &T) -> StoreResult<String> {
    serde_json::to_string(doc).map_err(|e| StoreError::Internal(format!("cannot encode {}: {e}", T::KIND)))
}

/// Decodes a stored document; one that no longer parses is corrupt data, reported as `Internal`.
pub(crate) fn decode<T: Document>(id: &str, version: i64, text: &str) -> StoreResult<T> {
    let mut doc: T = serde_json::from_str(text)
        .map_err(|e| StoreError::Internal(format!("corrupt {} document {id}: {e}", T::KIND)))?;
    doc.set_version(version);
    Ok(doc)
}

/// One page of history rows `(record ID, version, doc)` fetched `limit + 1` at a time, newest first: the extra row
/// only tells that a next page exists.
pub(crate) fn history_page(
    mut rows: Vec<(String, i64, String)>,
    limit: u32,
) -> StoreResult<super::KeyPage<MedicalRecord>> {
    let page_len = limit.max(1) as usize;
    let more = rows.len() > page_len;
    rows.truncate(page_len);
    let items = rows
        .into_iter()
        .map(|(id, version, doc)| decode::<MedicalRecord>(&id, version, &doc))
        .collect::<StoreResult<Vec<_>>>()?;
    let next = if more { items.last().map(super::history_key) } else { None };
    Ok(super::KeyPage { items, next })
}
