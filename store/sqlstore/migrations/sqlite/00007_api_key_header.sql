-- +goose Up
-- Whether a keyspace's keys may be presented as "X-API-Key" at the gateway.
ALTER TABLE keyspaces ADD COLUMN allow_api_key_header INTEGER NOT NULL DEFAULT 0 CHECK (allow_api_key_header IN (0, 1));

-- +goose Down
ALTER TABLE keyspaces DROP COLUMN allow_api_key_header;
