//! SQLite adapter of the records store (D): medical records and invoices as JSON documents, keyed like
//! the DynamoDB items (partition key = ID; patient + sort key for the per-patient lists).

use super::sqlite::SqliteDb;

/// The records store on SQLite (same file as the relational store).
#[derive(Debug, Clone)]
pub struct SqliteRecordStore {
    db: SqliteDb,
}

impl SqliteRecordStore {
    pub fn new(db: SqliteDb) -> Self {
        Self { db }
    }
}
