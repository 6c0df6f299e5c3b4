-- +goose Up
-- Recoverable keys (SPEC §2): a keyspace may keep its keys' plaintexts,
-- sealed with the master key (AES-256-GCM, associated data
-- "key-secret:<key id>"), so that GET /v1/keys/{id}/secret can show them
-- again. The sealed copy lives in its own table, never in the keys row
-- that verification reads and caches; it goes with its key (cascade) and
-- with the key's revocation (the store deletes it in that transaction).
ALTER TABLE keyspaces ADD COLUMN recoverable INTEGER NOT NULL DEFAULT 0 CHECK (recoverable IN (0, 1));

CREATE TABLE key_secrets (
    key_id TEXT NOT NULL PRIMARY KEY REFERENCES keys (id) ON DELETE CASCADE,
    sealed BLOB NOT NULL
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE key_secrets;
ALTER TABLE keyspaces DROP COLUMN recoverable;
