-- +goose Up
-- The ID of the first key of a key's rotation chain, copied at every
-- rotation, so that rate-limit buckets belong to the lineage rather than to
-- one generation. NULL means the key's own ID. Existing chains are
-- backfilled by following rotated_from to its first key (depth-bounded
-- against a corrupted cycle).
ALTER TABLE keys ADD COLUMN lineage_id text;
WITH RECURSIVE chain(id, root, depth) AS (
	SELECT id, id, 0 FROM keys
	WHERE rotated_from = '' OR rotated_from NOT IN (SELECT id FROM keys)
	UNION ALL
	SELECT k.id, c.root, c.depth + 1 FROM keys k JOIN chain c ON k.rotated_from = c.id
	WHERE c.depth < 100000
)
UPDATE keys SET lineage_id = chain.root FROM chain
WHERE keys.id = chain.id AND chain.root <> chain.id;

-- +goose Down
ALTER TABLE keys DROP COLUMN lineage_id;
