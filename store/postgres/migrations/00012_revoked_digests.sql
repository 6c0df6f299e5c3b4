-- +goose Up
-- A revocation is final: deleting a revoked key keeps its digest here, and
-- no key with a tombstoned digest can be inserted again (import, transfer),
-- whoever asks. Triggers, as in SQLite, so that every path is covered; the
-- refusal raises SQLSTATE LK001, which the store maps to
-- token.ErrDigestRevoked.
CREATE TABLE revoked_digests (
    digest     bytea  PRIMARY KEY CHECK (octet_length(digest) = 32),
    key_id     text COLLATE "C" NOT NULL,
    revoked_at bigint NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION keys_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.revoked_at IS NOT NULL THEN
        INSERT INTO revoked_digests (digest, key_id, revoked_at)
        VALUES (OLD.digest, OLD.id, OLD.revoked_at)
        ON CONFLICT (digest) DO NOTHING;
    END IF;
    RETURN OLD;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER keys_tombstone AFTER DELETE ON keys
    FOR EACH ROW EXECUTE FUNCTION keys_tombstone();

-- +goose StatementBegin
CREATE FUNCTION keys_refuse_tombstoned() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM revoked_digests WHERE digest = NEW.digest) THEN
        RAISE EXCEPTION 'latchkey: digest_revoked' USING ERRCODE = 'LK001';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER keys_refuse_tombstoned BEFORE INSERT ON keys
    FOR EACH ROW EXECUTE FUNCTION keys_refuse_tombstoned();

-- +goose Down
DROP TRIGGER keys_refuse_tombstoned ON keys;
DROP FUNCTION keys_refuse_tombstoned();
DROP TRIGGER keys_tombstone ON keys;
DROP FUNCTION keys_tombstone();
DROP TABLE revoked_digests;
