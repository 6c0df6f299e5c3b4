-- +goose Up
-- JWT audiences a keyspace's keys may ask for.
ALTER TABLE keyspaces ADD COLUMN audiences text[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE keyspaces DROP COLUMN audiences;
