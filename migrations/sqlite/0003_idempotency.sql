-- [safe-writes] Idempotency records of POST requests (API.md §1.11), for R and D alike (the SQL records store
-- shares this database, and its scopes name their own paths).
--
-- A row is claimed (`pending`) before a POST runs and completed (`done`) in the same transaction that creates the
-- resource, so a stored outcome exists exactly when the resource does. `scope` is the SHA-256 (hex) of
-- principal, method, path and key; `fingerprint` the SHA-256 of the canonical JSON body. Times are Unix
-- milliseconds. A pending row whose `lease_until` has passed belongs to an attempt that died and may be taken
-- over; any row past `expires_at` is removed by the service's periodic, bounded delete.

CREATE TABLE idempotency_keys (
    scope       TEXT    NOT NULL PRIMARY KEY,
    fingerprint TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'done')),
    token       TEXT    NOT NULL,
    lease_until INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    status      INTEGER,
    location    TEXT,
    etag        TEXT,
    body        TEXT
);

CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
