-- [audit] The audit trail (SECURITY.md §5). Same tables as migrations/sqlite/0006_audit.sql (see there for what
-- each holds). R and D keep their own chain (`chain` = 'R' or 'D') in these tables when both live in this
-- database. IDs and hashes are ASCII with binary collation, so keyset pages order exactly as on SQLite.

CREATE TABLE audit_events (
    event_id      VARCHAR(30)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    chain         CHAR(1)      CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    recorded_at   BIGINT       NOT NULL,
    actor_sub     VARCHAR(255) NOT NULL,
    resource_type VARCHAR(20)  CHARACTER SET ascii COLLATE ascii_bin NULL,
    action        VARCHAR(10)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    body          TEXT         NOT NULL,
    seq           BIGINT       NULL,
    hash          CHAR(64)     CHARACTER SET ascii COLLATE ascii_bin NULL,
    UNIQUE KEY audit_events_seq (chain, seq),
    KEY audit_events_by_time (chain, recorded_at, event_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE audit_event_patients (
    chain       CHAR(1)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    patient_id  VARCHAR(30) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    recorded_at BIGINT      NOT NULL,
    event_id    VARCHAR(30) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    PRIMARY KEY (chain, patient_id, recorded_at, event_id)
) ENGINE = InnoDB;

CREATE TABLE audit_checkpoints (
    chain     CHAR(1)      CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    seq       BIGINT       NOT NULL,
    hash      CHAR(64)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    signed_at BIGINT       NOT NULL,
    key_id    VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    signature VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    PRIMARY KEY (chain, seq)
) ENGINE = InnoDB;

CREATE TABLE audit_leases (
    chain      CHAR(1)      CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    holder     VARCHAR(64)  NOT NULL,
    expires_at BIGINT       NOT NULL,
    beats      BIGINT       NOT NULL
) ENGINE = InnoDB;
INSERT INTO audit_leases (chain, holder, expires_at, beats) VALUES ('R', '', 0, 0), ('D', '', 0, 0);
