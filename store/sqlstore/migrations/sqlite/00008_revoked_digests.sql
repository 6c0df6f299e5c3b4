-- +goose Up
-- Tombstones of revoked keys' digests. A revoked key may be deleted, but its
-- digest is kept here so that no import can bring the secret back.
CREATE TABLE revoked_digests (
    digest     BLOB    PRIMARY KEY CHECK (length(digest) = 32),
    key_id     TEXT    NOT NULL,
    revoked_at INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO revoked_digests (digest, key_id, revoked_at)
    SELECT digest, id, revoked_at FROM keys WHERE revoked_at IS NOT NULL;

-- +goose Down
DROP TABLE revoked_digests;
