-- [history] Earlier versions of medical records (API.md §3.7): one row per superseded version, written in the
-- same transaction as the amendment that supersedes it and never changed afterwards. `doc` is the record's
-- serde_json document as it was when current (with its own `updatedAt` and `amendmentReason`).

CREATE TABLE medical_record_history (
    record_id TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    doc       TEXT    NOT NULL,
    PRIMARY KEY (record_id, version)
);

-- History entries are immutable: no statement of the service updates or deletes them, and these triggers refuse
-- anyone else's attempt.
CREATE TRIGGER medical_record_history_no_update BEFORE UPDATE ON medical_record_history
BEGIN
    SELECT RAISE(ABORT, 'medical record history is immutable');
END;

CREATE TRIGGER medical_record_history_no_delete BEFORE DELETE ON medical_record_history
BEGIN
    SELECT RAISE(ABORT, 'medical record history is immutable');
END;
