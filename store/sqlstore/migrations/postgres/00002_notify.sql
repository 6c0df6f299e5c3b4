-- +goose Up
-- Nodes sharing this database keep verification caches. Every change that
-- matters to verification notifies them (on commit), so a revocation on one
-- node reaches the others' caches at once: payload "<schema> k:<digest hex>"
-- for keys, "<schema> p:<type>:<id>" for principals. Usage bookkeeping
-- (last use, credits spent, refills, version) notifies nobody.

-- +goose StatementBegin
CREATE FUNCTION latchkey_notify_key() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    usage constant text[] := ARRAY['last_used_at', 'last_used_ip', 'remaining', 'refilled_at', 'version', 'updated_at'];
BEGIN
    IF TG_OP = 'UPDATE'
       AND (to_jsonb(OLD) - usage) = (to_jsonb(NEW) - usage)
       AND (OLD.remaining IS NULL) = (NEW.remaining IS NULL) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('latchkey_cache', TG_TABLE_SCHEMA || ' k:' || encode(NEW.digest, 'hex'));
    ELSE
        PERFORM pg_notify('latchkey_cache', TG_TABLE_SCHEMA || ' k:' || encode(OLD.digest, 'hex'));
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION latchkey_notify_principal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('latchkey_cache', TG_TABLE_SCHEMA || ' p:' || OLD.type || ':' || OLD.id);
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER keys_notify AFTER INSERT OR UPDATE OR DELETE ON keys
    FOR EACH ROW EXECUTE FUNCTION latchkey_notify_key();
CREATE TRIGGER principals_notify AFTER UPDATE OR DELETE ON principals
    FOR EACH ROW EXECUTE FUNCTION latchkey_notify_principal();

-- +goose Down
DROP TRIGGER principals_notify ON principals;
DROP TRIGGER keys_notify ON keys;
DROP FUNCTION latchkey_notify_principal();
DROP FUNCTION latchkey_notify_key();
