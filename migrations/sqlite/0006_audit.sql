-- [audit] The audit trail (SECURITY.md §5). Same tables as migrations/mysql/0006_audit.sql. R and D keep their own
-- chain (`chain` = 'R' or 'D') in these tables when both live in this database.
--
-- `body` is the event's canonical JSON, exactly the bytes the chain hashes; the other columns only serve the
-- filters. `seq` and `hash` are NULL until the sequencer places the event (once: the service never changes them
-- again, and never deletes a row). `audit_event_patients` indexes each event under every patient it names, for
-- access logs. `audit_leases` holds the one sequencer of each chain; its rows exist from the start so taking the
-- lease is a plain conditional UPDATE.

CREATE TABLE audit_events (
    event_id      TEXT    NOT NULL PRIMARY KEY,
    chain         TEXT    NOT NULL,
    recorded_at   INTEGER NOT NULL,
    actor_sub     TEXT    NOT NULL,
    resource_type TEXT,
    action        TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    seq           INTEGER,
    hash          TEXT,
    UNIQUE (chain, seq)
);
CREATE INDEX audit_events_by_time ON audit_events (chain, recorded_at, event_id);

CREATE TABLE audit_event_patients (
    chain       TEXT    NOT NULL,
    patient_id  TEXT    NOT NULL,
    recorded_at INTEGER NOT NULL,
    event_id    TEXT    NOT NULL,
    PRIMARY KEY (chain, patient_id, recorded_at, event_id)
);

CREATE TABLE audit_checkpoints (
    chain     TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    hash      TEXT    NOT NULL,
    signed_at INTEGER NOT NULL,
    key_id    TEXT    NOT NULL,
    signature TEXT    NOT NULL,
    PRIMARY KEY (chain, seq)
);

CREATE TABLE audit_leases (
    chain      TEXT    NOT NULL PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    beats      INTEGER NOT NULL
);
INSERT INTO audit_leases (chain, holder, expires_at, beats) VALUES ('R', '', 0, 0), ('D', '', 0, 0);
