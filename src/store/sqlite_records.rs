//! SQLite adapter of the records store (D): medical records and invoices as JSON documents, keyed like
//! the DynamoDB items (partition key = ID; patient + sort key for the per-patient lists).
//!
//! Invariants:
//! - Each row is `doc` (the serde_json document) plus columns derived from it on every write (`patient_id`,
//!   `sort_key`, `visit_day`, `payment_status`), so a query never disagrees with the document it returns.
//!   `version` is skipped by the document's serde and lives only in its column.
//! - Documents are decoded straight into the domain structs, never through `serde_json::Value`, so money
//!   (a raw JSON number) round-trips exactly instead of passing through `f64`.
//! - Writes run on the single writer connection, each in one `BEGIN IMMEDIATE` transaction with its audit event
//!   (and, for inserts, their idempotency completion; for amendments, their history entry); nothing is ever
//!   upserted.
//! - Lists are keyset-paged on `(sort_key, id)` descending, the order of the DynamoDB sort key.
//!
//! Dialect-specific SQL: none beyond row-value comparison, which MySQL shares.

use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::documents::{self as documents, Document, encode, history_page};
use super::sqlite::{SqliteDb, idempotency};
use super::{
    ClaimOutcome, Completion, CursorKey, DateRange, IdempotencyClaim, IdempotencyStore, InvoiceStore, KeyPage,
    MedicalRecordStore, RecordStore, StoreError, StoreResult,
};
use crate::audit::Chain;
use crate::domain::formats::{Timestamp, format_date};
use crate::domain::ids::{InvoiceId, PatientId, RecordId};
use crate::domain::invoice::{Invoice, PaymentStatus};
use crate::domain::medical_record::MedicalRecord;
use crate::store::AuditEvent;

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

/// A stored document with its key and version, as every read selects it.
#[derive(sqlx::FromRow)]
struct DocRow {
    id: String,
    sort_key: String,
    version: i64,
    doc: String,
}

/// A history entry as [`MedicalRecordStore::list_record_history`] selects it.
#[derive(sqlx::FromRow)]
struct HistoryRow {
    id: String,
    version: i64,
    doc: String,
}

/// Decodes a row; a document that no longer parses is corrupt data, reported as `Internal`.
fn decode<T: Document>(row: DocRow) -> StoreResult<T> {
    documents::decode(&row.id, row.version, &row.doc)
}

/// Resolves a conditional update that matched no row: tells a missing row (`NotFound`) from a moved-on version
/// (`Stale`). Runs on the writer connection that made the update, so no other write can land in between.
async fn no_row_updated(conn: &mut SqliteConnection, exists_sql: &'static str, id: &str) -> StoreError {
    match sqlx::query_scalar::<_, i64>(exists_sql).bind(id).fetch_optional(conn).await {
        Ok(Some(_)) => StoreError::Stale,
        Ok(None) => StoreError::NotFound,
        Err(e) => e.into(),
    }
}

impl SqliteRecordStore {
    async fn get_doc<T: Document>(&self, sql: &'static str, id: &str) -> StoreResult<Option<T>> {
        let row: Option<DocRow> =
            self.db.reading(async |c| sqlx::query_as(sql).bind(id).fetch_optional(c).await).await?;
        row.map(decode).transpose()
    }

    /// Finishes a list query whose `WHERE` is already pushed: adds the cursor, order and limit, and fetches one row
    /// more than `limit` to learn whether a next page exists.
    async fn fetch_page<T: Document>(
        &self,
        mut query: QueryBuilder<Sqlite>,
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
        let mut rows: Vec<DocRow> = self.db.reading(async |c| query.build_query_as().fetch_all(c).await).await?;
        let page_len = limit as usize;
        let next = if rows.len() > page_len {
            rows.truncate(page_len);
            rows.last().map(|r| CursorKey { sort: r.sort_key.clone(), id: r.id.clone() })
        } else {
            None
        };
        let items = rows.into_iter().map(decode).collect::<StoreResult<Vec<T>>>()?;
        Ok(KeyPage { items, next })
    }
}

#[async_trait]
impl MedicalRecordStore for SqliteRecordStore {
    async fn insert_record(
        &self,
        record: &MedicalRecord,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let doc = encode(record)?;
        let mut tx = self.db.write.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO medical_records (record_id, patient_id, sort_key, visit_day, version, doc) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(record.record_id.as_str())
        .bind(record.patient_id.as_str())
        .bind(record.sort_key())
        .bind(format_date(record.visit_date.date()))
        .bind(record.version)
        .bind(doc)
        .execute(&mut *tx)
        .await?;
        idempotency::complete(&mut tx, done).await?;
        super::sqlite::audit::insert(&mut tx, Chain::D, event).await?;
        tx.commit().await?;
        Ok(())
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
        let id = next.record_id.as_str();
        let mut tx = self.db.write.begin_with("BEGIN IMMEDIATE").await?;
        // The history entry is the stored row itself, copied byte for byte, and only while it is still the
        // version the caller read.
        let kept = sqlx::query(
            "INSERT INTO medical_record_history (record_id, version, doc) \
             SELECT record_id, version, doc FROM medical_records WHERE record_id = ? AND version = ?",
        )
        .bind(id)
        .bind(previous.version)
        .execute(&mut *tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            // The version read is already in the history: the record has moved past it.
            StoreError::Conflict => StoreError::Stale,
            other => other,
        })?;
        if kept.rows_affected() == 0 {
            return Err(no_row_updated(&mut tx, "SELECT 1 FROM medical_records WHERE record_id = ?", id).await);
        }
        sqlx::query(
            "UPDATE medical_records SET patient_id = ?, sort_key = ?, visit_day = ?, version = ?, doc = ? \
             WHERE record_id = ? AND version = ?",
        )
        .bind(next.patient_id.as_str())
        .bind(next.sort_key())
        .bind(format_date(next.visit_date.date()))
        .bind(next.version)
        .bind(doc)
        .bind(id)
        .bind(previous.version)
        .execute(&mut *tx)
        .await?;
        super::sqlite::audit::insert(&mut tx, Chain::D, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_record_history(
        &self,
        id: &RecordId,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> StoreResult<KeyPage<MedicalRecord>> {
        let limit = limit.max(1);
        let below = after.and_then(|k| k.sort.parse::<i64>().ok()).unwrap_or(i64::MAX);
        let rows: Vec<HistoryRow> = self
            .db
            .reading(async |c| {
                sqlx::query_as(
                    "SELECT record_id AS id, version, doc FROM medical_record_history \
             WHERE record_id = ? AND version < ? ORDER BY version DESC LIMIT ?",
                )
                .bind(id.as_str())
                .bind(below)
                .bind(i64::from(limit) + 1)
                .fetch_all(c)
                .await
            })
            .await?;
        history_page(rows.into_iter().map(|r| (r.id, r.version, r.doc)).collect(), limit)
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
impl InvoiceStore for SqliteRecordStore {
    async fn insert_invoice(
        &self,
        invoice: &Invoice,
        done: Option<&Completion>,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let doc = encode(invoice)?;
        let mut tx = self.db.write.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO invoices (invoice_id, patient_id, sort_key, payment_status, version, doc) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(invoice.invoice_id.as_str())
        .bind(invoice.patient_id.as_str())
        .bind(invoice.sort_key())
        .bind(invoice.payment_status.as_str())
        .bind(invoice.version)
        .bind(doc)
        .execute(&mut *tx)
        .await?;
        idempotency::complete(&mut tx, done).await?;
        super::sqlite::audit::insert(&mut tx, Chain::D, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_invoice(&self, id: &InvoiceId) -> StoreResult<Option<Invoice>> {
        self.get_doc("SELECT invoice_id AS id, sort_key, version, doc FROM invoices WHERE invoice_id = ?", id.as_str())
            .await
    }

    async fn update_invoice(&self, invoice: &Invoice, expected_version: i64, event: &AuditEvent) -> StoreResult<()> {
        let doc = encode(invoice)?;
        let mut conn = self.db.write.begin_with("BEGIN IMMEDIATE").await?;
        let done = sqlx::query(
            "UPDATE invoices SET patient_id = ?, sort_key = ?, payment_status = ?, version = ?, doc = ? \
             WHERE invoice_id = ? AND version = ?",
        )
        .bind(invoice.patient_id.as_str())
        .bind(invoice.sort_key())
        .bind(invoice.payment_status.as_str())
        .bind(invoice.version)
        .bind(doc)
        .bind(invoice.invoice_id.as_str())
        .bind(expected_version)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            let sql = "SELECT 1 FROM invoices WHERE invoice_id = ?";
            return Err(no_row_updated(&mut conn, sql, invoice.invoice_id.as_str()).await);
        }
        super::sqlite::audit::insert(&mut conn, Chain::D, event).await?;
        conn.commit().await?;
        Ok(())
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
impl IdempotencyStore for SqliteRecordStore {
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
impl RecordStore for SqliteRecordStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&mut *self.db.reader().await?).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::formats::{Date, parse_date};
    use crate::domain::invoice::InvoiceItem;
    use crate::domain::money::{Money, TaxRate};

    fn money(s: &str) -> Money {
        Money::parse(s).expect("valid money")
    }

    fn invoice() -> Invoice {
        let day = Date(parse_date("2026-03-01").expect("valid date"));
        let now = Timestamp::from_millis(1_772_323_200_123);
        Invoice {
            invoice_id: InvoiceId::generate(),
            patient_id: PatientId::generate(),
            patient_name: "Ada Lovelace".into(),
            appointment_id: None,
            invoice_date: day,
            due_date: day,
            items: vec![InvoiceItem {
                description: "Consultation".into(),
                quantity: 1,
                unit_price: money("19.99"),
                amount: money("19.99"),
            }],
            subtotal: money("19.99"),
            tax_rate: TaxRate::parse("0.08").expect("valid rate"),
            tax: money("1.60"),
            total: money("21.59"),
            amount_paid: money("0.10"),
            amount_due: money("21.49"),
            payment_status: PaymentStatus::Pending,
            payment_method: None,
            payment_date: None,
            notes: None,
            version: 3,
            created_at: now,
            updated_at: now,
        }
    }

    fn row(doc: String, version: i64) -> DocRow {
        DocRow { id: "INV-X".into(), sort_key: "2026-03-01".into(), version, doc }
    }

    #[test]
    fn invoice_documents_round_trip_money_exactly() {
        let original = invoice();
        let doc = encode(&original).expect("encodes");
        assert!(doc.contains("\"total\":21.59") && doc.contains("\"amountPaid\":0.10"), "{doc}");
        let back: Invoice = decode(row(doc, 3)).expect("decodes");
        assert_eq!(back, original);
        assert_eq!((back.total.to_string(), back.amount_paid.to_string()), ("21.59".into(), "0.10".into()));
    }

    #[test]
    fn the_version_comes_from_the_column_not_the_document() {
        let doc = encode(&invoice()).expect("encodes");
        let back: Invoice = decode(row(doc, 7)).expect("decodes");
        assert_eq!(back.version, 7);
    }

    #[test]
    fn a_corrupt_document_is_an_internal_error() {
        for bad in ["{", "{}", r#"{"invoiceId": 5}"#] {
            let got = decode::<Invoice>(row(bad.into(), 1));
            assert!(matches!(got, Err(StoreError::Internal(_))), "{bad}: {got:?}");
        }
    }
}

super::audit::sql_audit_store!(
    SqliteRecordStore,
    crate::audit::Chain::D,
    |s| s.db.write.begin_with("BEGIN IMMEDIATE"),
    &s.db.write,
    &mut *s.db.reader().await?
);
