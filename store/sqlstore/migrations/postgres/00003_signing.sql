-- +goose Up
-- The JWT signing-key ring: each private key sealed with the master key
-- (opaque bytes), never in the clear, and the ring's version, which every
-- change increments (compare-and-swap). No row in signing_ring is version 0.
CREATE TABLE signing_keys (
    kid        text COLLATE "C" PRIMARY KEY,
    alg        text   NOT NULL,
    sealed     bytea  NOT NULL,
    not_before bigint,
    sign_until bigint,
    retire_at  bigint,
    created_at bigint
);

CREATE TABLE signing_ring (
    id      integer PRIMARY KEY CHECK (id = 1),
    version bigint  NOT NULL
);

-- The revocation feed: a key or a principal stopped being valid at "at".
-- Only the triggers below write it, in the transaction of the change, so no
-- change can be missed.
CREATE TABLE revocations (
    seq     bigserial PRIMARY KEY,
    kind    text   NOT NULL CHECK (kind IN ('key', 'principal')),
    subject text COLLATE "C" NOT NULL,
    at      bigint NOT NULL
);

CREATE INDEX revocations_at ON revocations (at);

-- The trigger functions below append to the revocations table of the schema
-- they fired in (the store may live in any schema, whatever the session's
-- search_path). Readers rely on seq following commit order, so before a
-- transaction draws a seq it takes a transaction-level advisory lock
-- ("lkeyrevo" as a bigint, one for every schema) and holds it until it
-- commits: no transaction can commit a smaller seq after one that a reader
-- has already seen.

-- A key is revoked (at its revoked_at), disabled (at its updated_at) or
-- its expiry moves earlier (at the new expiry): one row, at the earliest
-- of those that apply (LEAST ignores NULLs).
-- +goose StatementBegin
CREATE FUNCTION latchkey_revocation_key() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rev_at bigint;
BEGIN
    IF OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL THEN
        rev_at := NEW.revoked_at;
    END IF;
    IF NOT OLD.disabled AND NEW.disabled THEN
        rev_at := LEAST(rev_at, NEW.updated_at);
    END IF;
    IF NEW.expires_at IS NOT NULL AND (OLD.expires_at IS NULL OR NEW.expires_at < OLD.expires_at) THEN
        rev_at := LEAST(rev_at, NEW.expires_at);
    END IF;
    IF rev_at IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(7812449550888957551);
        EXECUTE format('INSERT INTO %I.revocations (kind, subject, at) VALUES ($1, $2, $3)', TG_TABLE_SCHEMA)
            USING 'key', NEW.id, rev_at;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- A principal is disabled: every key it owns stops, at its updated_at.
-- +goose StatementBegin
CREATE FUNCTION latchkey_revocation_principal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7812449550888957551);
    EXECUTE format('INSERT INTO %I.revocations (kind, subject, at) VALUES ($1, $2, $3)', TG_TABLE_SCHEMA)
        USING 'principal', NEW.type || ':' || NEW.id, NEW.updated_at;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- Usage bookkeeping (last use, credits, refills) touches none of the
-- columns, so it never fires these.
CREATE TRIGGER keys_revocation AFTER UPDATE OF revoked_at, disabled, expires_at ON keys
    FOR EACH ROW
    WHEN ((OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
        OR (NOT OLD.disabled AND NEW.disabled)
        OR (NEW.expires_at IS NOT NULL AND (OLD.expires_at IS NULL OR NEW.expires_at < OLD.expires_at)))
    EXECUTE FUNCTION latchkey_revocation_key();
CREATE TRIGGER principals_revocation AFTER UPDATE OF disabled ON principals
    FOR EACH ROW
    WHEN (NOT OLD.disabled AND NEW.disabled)
    EXECUTE FUNCTION latchkey_revocation_principal();

-- +goose Down
DROP TRIGGER principals_revocation ON principals;
DROP TRIGGER keys_revocation ON keys;
DROP FUNCTION latchkey_revocation_principal();
DROP FUNCTION latchkey_revocation_key();
DROP TABLE revocations;
DROP TABLE signing_ring;
DROP TABLE signing_keys;
