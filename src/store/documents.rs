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
