-- +goose Up
-- JWT audiences a keyspace's keys may ask for (JSON array of strings).
ALTER TABLE keyspaces ADD COLUMN audiences TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE keyspaces DROP COLUMN audiences;
