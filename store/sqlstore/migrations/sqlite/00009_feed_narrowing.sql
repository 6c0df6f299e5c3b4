-- +goose Up
-- The revocation feed learns two more things (issue 11):
--   * "signing_key": a JWT signing key was withdrawn before its time
--     (signing-keys rotate --immediately); subject is its kid. Verifiers
--     drop it from their cached JWKS at once.
--   * narrowing: a key loses scopes, or a principal loses permissions. JWTs
--     issued before carry the old scopes, so they are revoked like those of
--     a revoked key ("key"/"principal" at updated_at): holders re-exchange.
-- SQLite cannot change a CHECK constraint, so the table is rebuilt, and
-- 00004's triggers that write it are recreated as they were.
DROP TRIGGER keys_revocation;
DROP TRIGGER principals_revocation;
CREATE TABLE revocations_new (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    kind    TEXT    NOT NULL CHECK (kind IN ('key', 'principal', 'signing_key')),
    subject TEXT    NOT NULL,
    at      INTEGER NOT NULL
) STRICT;
INSERT INTO revocations_new (seq, kind, subject, at) SELECT seq, kind, subject, at FROM revocations;
DROP INDEX revocations_at;
DROP TABLE revocations;
ALTER TABLE revocations_new RENAME TO revocations;
CREATE INDEX revocations_at ON revocations (at);

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


-- +goose StatementBegin
CREATE TRIGGER keys_narrowed AFTER UPDATE OF scopes ON keys
WHEN EXISTS (SELECT 1 FROM json_each(OLD.scopes) o
    WHERE o.value NOT IN (SELECT n.value FROM json_each(NEW.scopes) n))
BEGIN
    INSERT INTO revocations (kind, subject, at) VALUES ('key', NEW.id, NEW.updated_at);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER principals_narrowed AFTER UPDATE OF permissions ON principals
WHEN EXISTS (SELECT 1 FROM json_each(OLD.permissions) o
    WHERE o.value NOT IN (SELECT n.value FROM json_each(NEW.permissions) n))
BEGIN
    INSERT INTO revocations (kind, subject, at)
    VALUES ('principal', NEW.type || ':' || NEW.id, NEW.updated_at);
END;
-- +goose StatementEnd

-- A signing key deleted before its retirement is withdrawn: its tokens
-- must stop verifying. (Scheduled retirements signed nothing still valid.)
-- The store has no clock of the change here, so "at" is the database's.
-- +goose StatementBegin
CREATE TRIGGER signing_keys_withdrawn AFTER DELETE ON signing_keys
WHEN OLD.retire_at IS NULL
    OR OLD.retire_at > CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER)
BEGIN
    INSERT INTO revocations (kind, subject, at)
    VALUES ('signing_key', OLD.kid, CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER));
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER signing_keys_withdrawn;
DROP TRIGGER principals_narrowed;
DROP TRIGGER keys_narrowed;
DELETE FROM revocations WHERE kind = 'signing_key';
