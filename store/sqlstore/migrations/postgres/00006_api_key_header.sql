-- +goose Up
-- Whether a keyspace's keys may be presented as "X-API-Key" at the gateway.
ALTER TABLE keyspaces ADD COLUMN allow_api_key_header boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE keyspaces DROP COLUMN allow_api_key_header;
