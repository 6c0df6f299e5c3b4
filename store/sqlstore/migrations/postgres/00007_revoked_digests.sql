-- +goose Up
-- Tombstones of revoked keys' digests. A revoked key may be deleted, but its
-- digest is kept here so that no import can bring the secret back.
CREATE TABLE revoked_digests (
    digest     bytea       PRIMARY KEY CHECK (octet_length(digest) = 32),
    key_id     text        NOT NULL,
    revoked_at bigint      NOT NULL
);
INSERT INTO revoked_digests (digest, key_id, revoked_at)
    SELECT digest, id, revoked_at FROM keys WHERE revoked_at IS NOT NULL;

-- +goose Down
DROP TABLE revoked_digests;
