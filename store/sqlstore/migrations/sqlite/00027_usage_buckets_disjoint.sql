-- +goose Up
-- From here on each verification is counted in exactly one place: the
-- usage flush writes minute buckets only; the prune moves minutes past
-- 48 hours into their hour's usage_hours row, and hours past 90 days into
-- the key's key_usage total (store/sqlstore/analytics.go). An hour reads as
-- its row plus its kept minutes, a key's total as key_usage plus its hours
-- and minutes. Until now the flush wrote every count three times (minute,
-- hour, key_usage), so:
-- 1. from the hour after the one in which the prune (every 10 minutes, 48
--    hours back) may have dropped minutes, the hours lose their row (all
--    their minutes are kept); before it the minutes go (their hour's row
--    holds them). Every node must run this version: an older one would
--    write hour rows at each flush again.
DELETE FROM usage_hours
WHERE bucket >= (CAST(strftime('%s', 'now') AS INTEGER) - 172800 + 600) / 3600 * 3600 + 3600;
DELETE FROM usage_minutes
WHERE bucket < (CAST(strftime('%s', 'now') AS INTEGER) - 172800 + 600) / 3600 * 3600 + 3600;
-- 2. key_usage keeps only what its key's hours and minutes do not hold.
UPDATE key_usage SET count = count
    - COALESCE((SELECT SUM(h.count) FROM usage_hours h WHERE h.subject = key_usage.key_id AND h.code = key_usage.code), 0)
    - COALESCE((SELECT SUM(m.count) FROM usage_minutes m WHERE m.subject = key_usage.key_id AND m.code = key_usage.code), 0);
DELETE FROM key_usage WHERE count <= 0;

-- +goose Down
-- key_usage holds every count of its key again, and each hour row every
-- minute of its hour.
INSERT INTO key_usage (key_id, code, count)
SELECT u.subject, u.code, SUM(u.count) FROM (
    SELECT subject, code, count FROM usage_hours
    UNION ALL SELECT subject, code, count FROM usage_minutes) AS u
WHERE EXISTS (SELECT 1 FROM keys WHERE keys.id = u.subject)
GROUP BY u.subject, u.code
ON CONFLICT (key_id, code) DO UPDATE SET count = key_usage.count + excluded.count;
INSERT INTO usage_hours (subject, bucket, code, count)
SELECT subject, bucket - bucket % 3600, code, SUM(count) FROM usage_minutes WHERE TRUE
GROUP BY subject, bucket - bucket % 3600, code
ON CONFLICT (subject, bucket, code) DO UPDATE SET count = usage_hours.count + excluded.count;
