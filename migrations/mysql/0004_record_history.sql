-- [history] Earlier versions of medical records (API.md §3.7): one row per superseded version, written in the
-- same transaction as the amendment that supersedes it and never changed afterwards. `doc` is the record's
-- serde_json document as it was when current (with its own `updatedAt` and `amendmentReason`). Same table as
-- migrations/sqlite/0004_record_history.sql. No triggers here (SQLite has two): creating triggers on MySQL with
-- binary logging on needs SUPER or `log_bin_trust_function_creators`, which managed databases (RDS) do not grant
-- by default; immutability rests on the service having no statement that updates or deletes these rows.

CREATE TABLE medical_record_history (
    record_id VARBINARY(40) NOT NULL,
    version   BIGINT        NOT NULL,
    doc       MEDIUMTEXT    NOT NULL,
    PRIMARY KEY (record_id, version)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
