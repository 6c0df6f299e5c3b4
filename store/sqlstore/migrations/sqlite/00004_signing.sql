-- +goose Up
-- The JWT signing-key ring: each private key sealed with the master key
-- (opaque bytes), never in the clear, and the ring's version, which every
-- change increments (compare-and-swap). No row in signing_ring is version 0.
CREATE TABLE signing_keys (
    kid        TEXT    PRIMARY KEY,
    alg        TEXT    NOT NULL,
    sealed     BLOB    NOT NULL,
    not_before INTEGER,
    sign_until INTEGER,
    retire_at  INTEGER,
    created_at INTEGER
) STRICT;

CREATE TABLE signing_ring (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;

-- The revocation feed: a key or a principal stopped being valid at "at".
-- Only the triggers below write it, in the transaction of the change, so no
-- change can be missed; seq follows commit order (there is one writer).
CREATE TABLE revocations (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    kind    TEXT    NOT NULL CHECK (kind IN ('key', 'principal')),
    subject TEXT    NOT NULL,
    at      INTEGER NOT NULL
) STRICT;

CREATE INDEX revocations_at ON revocations (at);

-- A key is revoked (at its revoked_at), disabled (at its updated_at) or
-- its expiry moves earlier (at the new expiry): one row, at the earliest
-- of those that apply. Usage bookkeeping touches none of these columns.
-- +goose StatementBegin
CREATE TRIGGER keys_revocation AFTER UPDATE OF revoked_at, disabled, expires_at ON keys
WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    OR (OLD.disabled = 0 AND NEW.disabled = 1)
    OR (NEW.expires_at IS NOT NULL AND (OLD.expires_at IS NULL OR NEW.expires_at < OLD.expires_at))
BEGIN
    INSERT INTO revocations (kind, subject, at)
    SELECT 'key', NEW.id, min(at) FROM (
        SELECT NEW.revoked_at AS at WHERE OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL
        UNION ALL
        SELECT NEW.updated_at WHERE OLD.disabled = 0 AND NEW.disabled = 1
        UNION ALL
        SELECT NEW.expires_at WHERE NEW.expires_at IS NOT NULL
            AND (OLD.expires_at IS NULL OR NEW.expires_at < OLD.expires_at)
    );
END;
-- +goose StatementEnd

-- A principal is disabled: every key it owns stops, at its updated_at.
-- +goose StatementBegin
CREATE TRIGGER principals_revocation AFTER UPDATE OF disabled ON principals
WHEN OLD.disabled = 0 AND NEW.disabled = 1
BEGIN
    INSERT INTO revocations (kind, subject, at)
    VALUES ('principal', NEW.type || ':' || NEW.id, NEW.updated_at);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER principals_revocation;
DROP TRIGGER keys_revocation;
DROP TABLE revocations;
DROP TABLE signing_ring;
DROP TABLE signing_keys;
