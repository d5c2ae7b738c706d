-- [safe-writes] Idempotency records of POST requests (API.md §1.11), for R and D alike (the SQL records store
-- shares this database, and its scopes name their own paths). Same table as migrations/sqlite/0003_idempotency.sql.
--
-- A row is claimed (`pending`) before a POST runs and completed (`done`) in the same transaction that creates the
-- resource, so a stored outcome exists exactly when the resource does. `scope` is the SHA-256 (hex) of
-- principal, method, path and key; `fingerprint` the SHA-256 of the canonical JSON body. Times are Unix
-- milliseconds. A pending row whose `lease_until` has passed belongs to an attempt that died and may be taken
-- over; any row past `expires_at` is removed by the service's periodic, bounded delete.

CREATE TABLE idempotency_keys (
    scope       VARBINARY(64)  NOT NULL PRIMARY KEY,
    fingerprint VARBINARY(64)  NOT NULL,
    state       VARBINARY(8)   NOT NULL,
    token       VARBINARY(32)  NOT NULL,
    lease_until BIGINT         NOT NULL,
    expires_at  BIGINT         NOT NULL,
    status      SMALLINT       NULL,
    location    VARBINARY(255) NULL,
    etag        VARBINARY(32)  NULL,
    body        MEDIUMTEXT     NULL,
    KEY idempotency_keys_by_expiry (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
