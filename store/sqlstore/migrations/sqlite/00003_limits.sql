-- +goose Up
-- Rate limits (JSON [{"name","limit","window_ns"}]), IP allowlists (JSON
-- array of CIDR prefixes) and credit refills.
ALTER TABLE keys ADD COLUMN ratelimits TEXT NOT NULL DEFAULT '[]';
ALTER TABLE keys ADD COLUMN ip_allow TEXT NOT NULL DEFAULT '[]';
ALTER TABLE keys ADD COLUMN refill_interval TEXT;
ALTER TABLE keys ADD COLUMN refill_amount INTEGER CHECK (refill_amount IS NULL OR refill_amount > 0);
ALTER TABLE keys ADD COLUMN refilled_at INTEGER;
ALTER TABLE keyspaces ADD COLUMN ratelimits TEXT NOT NULL DEFAULT '[]';
ALTER TABLE principals ADD COLUMN ratelimits TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE principals DROP COLUMN ratelimits;
ALTER TABLE keyspaces DROP COLUMN ratelimits;
ALTER TABLE keys DROP COLUMN refilled_at;
ALTER TABLE keys DROP COLUMN refill_amount;
ALTER TABLE keys DROP COLUMN refill_interval;
ALTER TABLE keys DROP COLUMN ip_allow;
ALTER TABLE keys DROP COLUMN ratelimits;
