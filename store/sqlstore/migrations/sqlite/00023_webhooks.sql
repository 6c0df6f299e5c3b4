-- +goose Up
-- Webhooks (SPEC §3.8); see postgres/00023 for the design. SQLite's
-- types: BLOB, 0/1 booleans, and seq as the rowid (INTEGER PRIMARY KEY
-- AUTOINCREMENT: never reused, increasing in commit order since one
-- writer holds the database).
CREATE TABLE webhooks (
    id                 TEXT PRIMARY KEY,
    url                TEXT NOT NULL,
    events             TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    secret_sealed      BLOB NOT NULL,
    prev_secret_sealed BLOB,
    prev_secret_until  INTEGER,
    disabled           INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    disabled_reason    TEXT NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_type      TEXT NOT NULL,
    order_key       TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_until     INTEGER NOT NULL DEFAULT 0,
    last_attempt_at INTEGER,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_duration   INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    delivered_at    INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, order_key, seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_list ON webhook_deliveries (webhook_id, seq);

CREATE TABLE webhook_marks (
    mark TEXT PRIMARY KEY,
    at   INTEGER NOT NULL
);

-- The key.expiring scan: unrevoked keys by expiry.
CREATE INDEX keys_expiring ON keys (expires_at) WHERE revoked_at IS NULL AND expires_at IS NOT NULL;

-- +goose Down
DROP INDEX keys_expiring;
DROP TABLE webhook_marks;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
