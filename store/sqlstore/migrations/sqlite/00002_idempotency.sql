-- +goose Up
-- A digest of (credential, Idempotency-Key header) of the create request
-- that made the key, so a retried create finds the key instead of making a
-- second one.
ALTER TABLE keys ADD COLUMN idempotency TEXT;
CREATE UNIQUE INDEX keys_idempotency ON keys (idempotency) WHERE idempotency IS NOT NULL;

-- +goose Down
DROP INDEX keys_idempotency;
ALTER TABLE keys DROP COLUMN idempotency;
