-- [auth] Revoked principals (SECURITY.md §4). Same table as migrations/sqlite/0005_revocations.sql: every token of
-- `sub` issued at or before `revoked_at` (Unix ms) is refused. Append-only: the service never updates or deletes
-- a row. `revocation_id` (a ULID) orders revocations made in the same millisecond for cursor paging. Binary
-- collation: `sub` is compared exactly, as token subjects are.

CREATE TABLE revocations (
    revocation_id VARCHAR(26)  CHARACTER SET ascii NOT NULL PRIMARY KEY,
    sub           VARCHAR(255) NOT NULL,
    reason        VARCHAR(500) NOT NULL,
    revoked_at    BIGINT       NOT NULL,
    revoked_by    VARCHAR(255) NOT NULL,
    KEY revocations_by_time (revoked_at, revocation_id),
    KEY revocations_by_sub (sub, revoked_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
