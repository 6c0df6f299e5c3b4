-- +goose Up
-- Every attempt of a webhook delivery; see postgres/00029 for the design.
CREATE TABLE webhook_attempts (
    delivery_seq INTEGER NOT NULL REFERENCES webhook_deliveries (seq) ON DELETE CASCADE,
    n            INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    duration     INTEGER NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    response     TEXT NOT NULL DEFAULT '',
    redelivery   INTEGER NOT NULL DEFAULT 0 CHECK (redelivery IN (0, 1)),
    PRIMARY KEY (delivery_seq, n)
) WITHOUT ROWID;
ALTER TABLE webhook_deliveries ADD COLUMN redelivered INTEGER NOT NULL DEFAULT 0 CHECK (redelivered IN (0, 1));

-- +goose Down
ALTER TABLE webhook_deliveries DROP COLUMN redelivered;
DROP TABLE webhook_attempts;
