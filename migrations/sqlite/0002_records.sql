-- Records store (D) on SQLite: medical records and invoices as JSON documents, keyed like the DynamoDB items
-- (partition key = ID; patient + sort key for the per-patient lists, newest first).
--
-- `doc` is the serde_json document; every other column is derived from it by the adapter on each write, except
-- `version`, which the document does not carry. No foreign keys to `patients`: D may live in another database
-- (DynamoDB), so the service checks the patient in R before writing here.

CREATE TABLE medical_records (
    record_id  TEXT    NOT NULL PRIMARY KEY,
    patient_id TEXT    NOT NULL,
    -- visitDate as fixed-width UTC text (`2026-11-25T09:14:03.512Z`), so text order is time order.
    sort_key   TEXT    NOT NULL,
    -- UTC date of visitDate (`YYYY-MM-DD`), for the inclusive startDate/endDate filter.
    visit_day  TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    doc        TEXT    NOT NULL
);

CREATE INDEX medical_records_by_patient ON medical_records (patient_id, sort_key DESC, record_id DESC);

CREATE TABLE invoices (
    invoice_id     TEXT    NOT NULL PRIMARY KEY,
    patient_id     TEXT    NOT NULL,
    -- invoiceDate as `YYYY-MM-DD`.
    sort_key       TEXT    NOT NULL,
    payment_status TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    doc            TEXT    NOT NULL
);

CREATE INDEX invoices_by_patient ON invoices (patient_id, sort_key DESC, invoice_id DESC);
CREATE INDEX invoices_by_patient_status ON invoices (patient_id, payment_status, sort_key DESC, invoice_id DESC);
