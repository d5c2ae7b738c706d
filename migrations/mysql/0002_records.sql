-- Records store (D) on MySQL/MariaDB: medical records and invoices as JSON documents, keyed like the DynamoDB
-- items (partition key = ID; patient + sort key for the per-patient lists, newest first). Same tables, columns
-- and indexes as migrations/sqlite/0002_records.sql.
--
-- `doc` is the serde_json document; every other column is derived from it by the adapter on each write, except
-- `version`, which the document does not carry. No foreign keys to `patients`: D may live in another database
-- (DynamoDB), so the service checks the patient in R before writing here. Key columns are VARBINARY so that
-- equality and the keyset order are byte order, exactly as in SQLite (see 0001_clinic.sql).

CREATE TABLE medical_records (
    record_id  VARBINARY(40) NOT NULL PRIMARY KEY,
    patient_id VARBINARY(40) NOT NULL,
    -- visitDate as fixed-width UTC text (`2026-11-25T09:14:03.512Z`), so byte order is time order.
    sort_key   VARBINARY(40) NOT NULL,
    -- UTC date of visitDate (`YYYY-MM-DD`), for the inclusive startDate/endDate filter.
    visit_day  VARBINARY(10) NOT NULL,
    version    BIGINT        NOT NULL,
    doc        MEDIUMTEXT    NOT NULL,
    KEY medical_records_by_patient (patient_id, sort_key DESC, record_id DESC)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE invoices (
    invoice_id     VARBINARY(40) NOT NULL PRIMARY KEY,
    patient_id     VARBINARY(40) NOT NULL,
    -- invoiceDate as `YYYY-MM-DD`.
    sort_key       VARBINARY(10) NOT NULL,
    payment_status VARBINARY(20) NOT NULL,
    version        BIGINT        NOT NULL,
    doc            MEDIUMTEXT    NOT NULL,
    KEY invoices_by_patient (patient_id, sort_key DESC, invoice_id DESC),
    KEY invoices_by_patient_status (patient_id, payment_status, sort_key DESC, invoice_id DESC)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
