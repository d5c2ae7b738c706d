//! Records store (D) on MySQL/MariaDB: medical records and invoices as JSON documents, with the same tables,
//! derived columns and keyset order as the SQLite adapter (`sqlite_records.rs`), whose invariants hold here too:
//! derived columns are rewritten from the document on every write, `version` lives only in its column, documents
//! decode straight into the domain structs (exact money), nothing is upserted.
//!
//! Every write is one transaction with its audit event: inserts also complete their idempotency claim, amendments
//! keep their history entry. An invoice update that matched nothing is resolved to `NotFound` or `Stale` by a
//! second read, which is exact because rows are never deleted. Lists are keyset-paged on `(sort_key, id)`
//! descending.

use async_trait::async_trait;
use sqlx::mysql::MySqlRow;
use sqlx::{MySql, QueryBuilder, Row};

use super::rows::{FromMySql, decode, text};
use super::{MySqlDb, TxError, TxResult, idempotency, retry_on_lock_failure};
use crate::audit::Chain;
use crate::domain::formats::{Timestamp, format_date};
use crate::domain::ids::{InvoiceId, PatientId, RecordId};
use crate::domain::invoice::{Invoice, PaymentStatus};
use crate::domain::medical_record::MedicalRecord;
use crate::store::documents::{self as documents, Document, encode, history_page};
use crate::store::{
    AuditEvent, ClaimOutcome, Completion, CursorKey, DateRange, IdempotencyClaim, IdempotencyStore, InvoiceStore,
    KeyPage, MedicalRecordStore, RecordStore, StoreError, StoreResult,
};

/// The records store on MySQL/MariaDB (same database as the relational store).
#[derive(Debug, Clone)]
pub struct MySqlRecordStore {
    pub(super) db: MySqlDb,
}

impl MySqlRecordStore {
    pub fn new(db: MySqlDb) -> Self {
        Self { db }
    }
}

/// A stored document with its key and version, as every read selects it.
struct DocRow {
    id: String,
    sort_key: String,
    version: i64,
    doc: String,
}

impl FromMySql for DocRow {
    fn from_mysql(row: &MySqlRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: text(row, "id")?,
            sort_key: text(row, "sort_key")?,
            version: row.try_get("version")?,
            doc: text(row, "doc")?,
        })
    }
}

/// Decodes a row; a document that no longer parses is corrupt data, reported as `Internal`.
fn decode_doc<T: Document>(row: DocRow) -> StoreResult<T> {
    documents::decode(&row.id, row.version, &row.doc)
}

impl MySqlRecordStore {
    async fn get_doc<T: Document>(&self, sql: &'static str, id: &str) -> StoreResult<Option<T>> {
        let row =
            self.db.run(async |c| sqlx::query(sql).bind(id).try_map(decode::<DocRow>).fetch_optional(c).await).await?;
        row.map(decode_doc).transpose()
    }

    /// Runs a single-statement write (`query` binds everything) with its audit event, in one transaction; a write
    /// that matched no row is told apart as `NotFound` or `Stale` by `exists_sql`.
    async fn write_once(
        &self,
        sql: &'static str,
        binds: &[WriteArg<'_>],
        exists_sql: (&'static str, &str),
        event: &AuditEvent,
    ) -> TxResult<()> {
        let mut tx = self.db.begin().await?;
        let outcome: TxResult<()> = async {
            let conn = tx.conn();
            let done = bound(sqlx::query(sql), binds).execute(&mut *conn).await?;
            if done.rows_affected() == 0 {
                let (exists_sql, id) = exists_sql;
                let exists: Option<i64> = sqlx::query_scalar(exists_sql).bind(id).fetch_optional(conn).await?;
                return Err(TxError::Store(if exists.is_some() { StoreError::Stale } else { StoreError::NotFound }));
            }
            Ok(())
        }
        .await;
        tx.finish_audited(outcome, Chain::D, event).await
    }

    /// Inserts a document and completes its idempotency claim in one transaction.
    async fn insert_once(
        &self,
        sql: &'static str,
        binds: &[WriteArg<'_>],
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> TxResult<()> {
        let mut tx = self.db.begin().await?;
        let outcome: TxResult<()> = async {
            let conn = tx.conn();
            bound(sqlx::query(sql), binds).execute(&mut *conn).await?;
            idempotency::complete(conn, done).await
        }
        .await;
        tx.finish_audited(outcome, Chain::D, event).await
    }

    /// Copies the record's stored row (at `expected`) into its history and replaces it, in one transaction that
    /// holds the record's row lock throughout.
    async fn amend_once(&self, id: &str, expected: i64, update: &[WriteArg<'_>], event: &AuditEvent) -> TxResult<()> {
        let mut tx = self.db.begin().await?;
        let outcome: TxResult<()> = async {
            let conn = tx.conn();
            let version: Option<i64> =
                sqlx::query_scalar("SELECT version FROM medical_records WHERE record_id = ? FOR UPDATE")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
            match version {
                None => return Err(StoreError::NotFound.into()),
                Some(v) if v != expected => return Err(StoreError::Stale.into()),
                Some(_) => {}
            }
            let kept = sqlx::query(
                "INSERT INTO medical_record_history (record_id, version, doc) \
                 SELECT record_id, version, doc FROM medical_records WHERE record_id = ? AND version = ?",
            )
            .bind(id)
            .bind(expected)
            .execute(&mut *conn)
            .await;
            match kept.map_err(StoreError::from) {
                Ok(_) => {}
                // That version is already in the history: the record has moved past it.
                Err(StoreError::Conflict) => return Err(StoreError::Stale.into()),
                Err(e) => return Err(e.into()),
            }
            let sql = "UPDATE medical_records SET patient_id = ?, sort_key = ?, visit_day = ?, version = ?, doc = ? \
                       WHERE record_id = ? AND version = ?";
            bound(sqlx::query(sql), update).execute(conn).await?;
            Ok(())
        }
        .await;
        tx.finish_audited(outcome, Chain::D, event).await
    }

    /// Finishes a list query whose `WHERE` is already pushed: adds the cursor, order and limit, and fetches one row
    /// more than `limit` to learn whether a next page exists.
    async fn fetch_page<T: Document>(
        &self,
        mut query: QueryBuilder<MySql>,
        id_column: &'static str,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> StoreResult<KeyPage<T>> {
        // A zero-item page could never carry a cursor, so it would falsely announce the end of the list.
        let limit = limit.max(1);
        if let Some(after) = after {
            query
                .push(" AND (sort_key, ")
                .push(id_column)
                .push(") < (")
                .push_bind(after.sort.as_str())
                .push(", ")
                .push_bind(after.id.as_str())
                .push(")");
        }
        query.push(" ORDER BY sort_key DESC, ").push(id_column).push(" DESC LIMIT ").push_bind(i64::from(limit) + 1);
        let mut rows = self.db.run(async |c| query.build().try_map(decode::<DocRow>).fetch_all(c).await).await?;
        let page_len = limit as usize;
        let next = if rows.len() > page_len {
            rows.truncate(page_len);
            rows.last().map(|r| CursorKey { sort: r.sort_key.clone(), id: r.id.clone() })
        } else {
            None
        };
        let items = rows.into_iter().map(decode_doc).collect::<StoreResult<Vec<T>>>()?;
        Ok(KeyPage { items, next })
    }
}

/// One bound argument of a single-statement write.
enum WriteArg<'a> {
    Text(&'a str),
    Int(i64),
}

fn bound<'q>(
    mut query: sqlx::query::Query<'q, MySql, sqlx::mysql::MySqlArguments>,
    binds: &[WriteArg<'q>],
) -> sqlx::query::Query<'q, MySql, sqlx::mysql::MySqlArguments> {
    for arg in binds {
        query = match arg {
            WriteArg::Text(s) => query.bind(*s),
            WriteArg::Int(i) => query.bind(*i),
        };
    }
    query
}

#[async_trait]
impl MedicalRecordStore for MySqlRecordStore {
    async fn insert_record(
        &self,
        record: &MedicalRecord,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let doc = encode(record)?;
        let (sort_key, visit_day) = (record.sort_key(), format_date(record.visit_date.date()));
        let binds = [
            WriteArg::Text(record.record_id.as_str()),
            WriteArg::Text(record.patient_id.as_str()),
            WriteArg::Text(&sort_key),
            WriteArg::Text(&visit_day),
            WriteArg::Int(record.version),
            WriteArg::Text(&doc),
        ];
        let sql = "INSERT INTO medical_records (record_id, patient_id, sort_key, visit_day, version, doc) \
                   VALUES (?, ?, ?, ?, ?, ?)";
        let binds = &binds;
        retry_on_lock_failure(move || self.insert_once(sql, binds, done, event)).await
    }

    async fn get_record(&self, id: &RecordId) -> StoreResult<Option<MedicalRecord>> {
        self.get_doc(
            "SELECT record_id AS id, sort_key, version, doc FROM medical_records WHERE record_id = ?",
            id.as_str(),
        )
        .await
    }

    async fn amend_record(
        &self,
        previous: &MedicalRecord,
        next: &MedicalRecord,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let doc = encode(next)?;
        let (sort_key, visit_day) = (next.sort_key(), format_date(next.visit_date.date()));
        let binds = [
            WriteArg::Text(next.patient_id.as_str()),
            WriteArg::Text(&sort_key),
            WriteArg::Text(&visit_day),
            WriteArg::Int(next.version),
            WriteArg::Text(&doc),
            WriteArg::Text(next.record_id.as_str()),
            WriteArg::Int(previous.version),
        ];
        let binds = &binds;
        retry_on_lock_failure(move || self.amend_once(next.record_id.as_str(), previous.version, binds, event)).await
    }

    async fn list_record_history(
        &self,
        id: &RecordId,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> StoreResult<KeyPage<MedicalRecord>> {
        let limit = limit.max(1);
        let below = after.and_then(|k| k.sort.parse::<i64>().ok()).unwrap_or(i64::MAX);
        let rows = self
            .db
            .run(async |c| {
                sqlx::query(
                    "SELECT record_id AS id, version, doc FROM medical_record_history \
             WHERE record_id = ? AND version < ? ORDER BY version DESC LIMIT ?",
                )
                .bind(id.as_str())
                .bind(below)
                .bind(i64::from(limit) + 1)
                .try_map(|r: MySqlRow| Ok((text(&r, "id")?, r.try_get::<i64, _>("version")?, text(&r, "doc")?)))
                .fetch_all(c)
                .await
            })
            .await?;
        history_page(rows, limit)
    }

    async fn list_patient_records(
        &self,
        patient: &PatientId,
        range: DateRange,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> StoreResult<KeyPage<MedicalRecord>> {
        let mut query = QueryBuilder::new(
            "SELECT record_id AS id, sort_key, version, doc FROM medical_records WHERE patient_id = ",
        );
        query.push_bind(patient.as_str());
        if let Some(from) = range.from {
            query.push(" AND visit_day >= ").push_bind(format_date(from));
        }
        if let Some(to) = range.to {
            query.push(" AND visit_day <= ").push_bind(format_date(to));
        }
        self.fetch_page(query, "record_id", limit, after).await
    }
}

#[async_trait]
impl InvoiceStore for MySqlRecordStore {
    async fn insert_invoice(
        &self,
        invoice: &Invoice,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let doc = encode(invoice)?;
        let sort_key = invoice.sort_key();
        let binds = [
            WriteArg::Text(invoice.invoice_id.as_str()),
            WriteArg::Text(invoice.patient_id.as_str()),
            WriteArg::Text(&sort_key),
            WriteArg::Text(invoice.payment_status.as_str()),
            WriteArg::Int(invoice.version),
            WriteArg::Text(&doc),
        ];
        let sql = "INSERT INTO invoices (invoice_id, patient_id, sort_key, payment_status, version, doc) \
                   VALUES (?, ?, ?, ?, ?, ?)";
        let binds = &binds;
        retry_on_lock_failure(move || self.insert_once(sql, binds, done, event)).await
    }

    async fn get_invoice(&self, id: &InvoiceId) -> StoreResult<Option<Invoice>> {
        self.get_doc("SELECT invoice_id AS id, sort_key, version, doc FROM invoices WHERE invoice_id = ?", id.as_str())
            .await
    }

    async fn update_invoice(&self, invoice: &Invoice, expected_version: i64, event: &AuditEvent) -> StoreResult<()> {
        let doc = encode(invoice)?;
        let sort_key = invoice.sort_key();
        let binds = [
            WriteArg::Text(invoice.patient_id.as_str()),
            WriteArg::Text(&sort_key),
            WriteArg::Text(invoice.payment_status.as_str()),
            WriteArg::Int(invoice.version),
            WriteArg::Text(&doc),
            WriteArg::Text(invoice.invoice_id.as_str()),
            WriteArg::Int(expected_version),
        ];
        let sql = "UPDATE invoices SET patient_id = ?, sort_key = ?, payment_status = ?, version = ?, doc = ? \
                   WHERE invoice_id = ? AND version = ?";
        let exists = ("SELECT 1 FROM invoices WHERE invoice_id = ?", invoice.invoice_id.as_str());
        let binds = &binds;
        retry_on_lock_failure(move || self.write_once(sql, binds, exists, event)).await
    }

    async fn list_patient_invoices(
        &self,
        patient: &PatientId,
        status: Option<PaymentStatus>,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> StoreResult<KeyPage<Invoice>> {
        let mut query =
            QueryBuilder::new("SELECT invoice_id AS id, sort_key, version, doc FROM invoices WHERE patient_id = ");
        query.push_bind(patient.as_str());
        if let Some(status) = status {
            query.push(" AND payment_status = ").push_bind(status.as_str());
        }
        self.fetch_page(query, "invoice_id", limit, after).await
    }
}

#[async_trait]
impl IdempotencyStore for MySqlRecordStore {
    async fn claim_idempotency(&self, claim: &IdempotencyClaim) -> StoreResult<ClaimOutcome> {
        idempotency::claim(&self.db, claim).await
    }

    async fn release_idempotency(&self, scope: &str, token: &str) -> StoreResult<()> {
        idempotency::release(&self.db, scope, token).await
    }

    async fn purge_idempotency(&self, now: Timestamp, limit: u32) -> StoreResult<u64> {
        idempotency::purge(&self.db, now, limit).await
    }
}

#[async_trait]
impl RecordStore for MySqlRecordStore {
    fn backend(&self) -> &'static str {
        "mysql"
    }

    async fn ping(&self) -> StoreResult<()> {
        self.db.run(async |c| sqlx::query("SELECT 1").execute(c).await).await?;
        Ok(())
    }
}
