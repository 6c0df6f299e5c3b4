-- +goose Up
-- A revocation is final (SECURITY: "a revoked token never verifies again"):
-- deleting a revoked key keeps its digest here, and no key with a tombstoned
-- digest can be inserted again (import, transfer), whoever asks. Triggers do
-- it so that every path that deletes or inserts keys is covered.
CREATE TABLE revoked_digests (
    digest     BLOB    PRIMARY KEY CHECK (length(digest) = 32),
    key_id     TEXT    NOT NULL,
    revoked_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TRIGGER keys_tombstone AFTER DELETE ON keys
WHEN OLD.revoked_at IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO revoked_digests (digest, key_id, revoked_at)
    VALUES (OLD.digest, OLD.id, OLD.revoked_at);
END;

CREATE TRIGGER keys_refuse_tombstoned BEFORE INSERT ON keys
WHEN EXISTS (SELECT 1 FROM revoked_digests WHERE digest = NEW.digest)
BEGIN
    SELECT RAISE(ABORT, 'latchkey: digest_revoked');
END;

-- +goose Down
DROP TRIGGER keys_refuse_tombstoned;
DROP TRIGGER keys_tombstone;
DROP TABLE revoked_digests;
