-- [auth] Revoked principals (SECURITY.md §4): every token of `sub` issued at or before `revoked_at` (Unix ms) is
-- refused. Append-only: the service never updates or deletes a row. `revocation_id` (a ULID) orders revocations
-- made in the same millisecond for cursor paging.

CREATE TABLE revocations (
    revocation_id TEXT    NOT NULL PRIMARY KEY,
    sub           TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    revoked_at    INTEGER NOT NULL,
    revoked_by    TEXT    NOT NULL
);

CREATE INDEX revocations_by_time ON revocations (revoked_at, revocation_id);
CREATE INDEX revocations_by_sub ON revocations (sub, revoked_at);
