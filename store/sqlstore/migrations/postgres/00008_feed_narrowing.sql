-- +goose Up
-- The revocation feed learns two more things (issue 11):
--   * "signing_key": a JWT signing key was withdrawn before its time
--     (signing-keys rotate --immediately); subject is its kid. Verifiers
--     drop it from their cached JWKS at once.
--   * narrowing: a key loses scopes, or a principal loses permissions. JWTs
--     issued before carry the old scopes, so they are revoked like those of
--     a revoked key ("key"/"principal" at updated_at): holders re-exchange.
ALTER TABLE revocations DROP CONSTRAINT revocations_kind_check;
ALTER TABLE revocations ADD CONSTRAINT revocations_kind_check
    CHECK (kind IN ('key', 'principal', 'signing_key'));

-- Same advisory lock as 00003's triggers: seq follows commit order.
-- +goose StatementBegin
CREATE FUNCTION latchkey_revocation_narrowed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7812449550888957551);
    IF TG_TABLE_NAME = 'keys' THEN
        EXECUTE format('INSERT INTO %I.revocations (kind, subject, at) VALUES ($1, $2, $3)', TG_TABLE_SCHEMA)
            USING 'key', NEW.id, NEW.updated_at;
    ELSE
        EXECUTE format('INSERT INTO %I.revocations (kind, subject, at) VALUES ($1, $2, $3)', TG_TABLE_SCHEMA)
            USING 'principal', NEW.type || ':' || NEW.id, NEW.updated_at;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- A signing key deleted before its retirement is withdrawn: its tokens
-- must stop verifying. "at" is the database's clock.
-- +goose StatementBegin
CREATE FUNCTION latchkey_revocation_signing_key() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    now_ns bigint := (extract(epoch FROM clock_timestamp()) * 1000000000)::bigint;
BEGIN
    IF OLD.retire_at IS NULL OR OLD.retire_at > now_ns THEN
        PERFORM pg_advisory_xact_lock(7812449550888957551);
        EXECUTE format('INSERT INTO %I.revocations (kind, subject, at) VALUES ($1, $2, $3)', TG_TABLE_SCHEMA)
            USING 'signing_key', OLD.kid, now_ns;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- "Narrowed": some old scope (permission) is no longer there.
CREATE TRIGGER keys_narrowed AFTER UPDATE OF scopes ON keys
    FOR EACH ROW
    WHEN (NOT (OLD.scopes <@ NEW.scopes))
    EXECUTE FUNCTION latchkey_revocation_narrowed();
CREATE TRIGGER principals_narrowed AFTER UPDATE OF permissions ON principals
    FOR EACH ROW
    WHEN (NOT (OLD.permissions <@ NEW.permissions))
    EXECUTE FUNCTION latchkey_revocation_narrowed();
CREATE TRIGGER signing_keys_withdrawn AFTER DELETE ON signing_keys
    FOR EACH ROW
    EXECUTE FUNCTION latchkey_revocation_signing_key();

-- +goose Down
DROP TRIGGER signing_keys_withdrawn ON signing_keys;
DROP TRIGGER principals_narrowed ON principals;
DROP TRIGGER keys_narrowed ON keys;
DROP FUNCTION latchkey_revocation_signing_key();
DROP FUNCTION latchkey_revocation_narrowed();
DELETE FROM revocations WHERE kind = 'signing_key';
ALTER TABLE revocations DROP CONSTRAINT revocations_kind_check;
ALTER TABLE revocations ADD CONSTRAINT revocations_kind_check CHECK (kind IN ('key', 'principal'));
