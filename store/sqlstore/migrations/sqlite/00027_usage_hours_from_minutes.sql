-- +goose Up
-- From here on the usage flush writes minute buckets only; an hour is the
-- sum of its kept minutes (48 hours) plus its usage_hours row, into which
-- the prune moves the minutes it drops (store/sqlstore/analytics.go). The
-- hour rows the flush wrote so far count every minute a second time, so:
-- the hours whose minutes are all kept (from the hour after the oldest
-- kept minute's) lose their row, and the kept minutes of the oldest hour,
-- already counted in its row, go.
DELETE FROM usage_hours
WHERE bucket >= (SELECT MIN(bucket) - MIN(bucket) % 3600 + 3600 FROM usage_minutes);
DELETE FROM usage_minutes
WHERE bucket < (SELECT MIN(bucket) - MIN(bucket) % 3600 + 3600 FROM usage_minutes);

-- +goose Down
-- Each hour row holds every minute of its hour again.
INSERT INTO usage_hours (subject, bucket, code, count)
SELECT subject, bucket - bucket % 3600, code, SUM(count) FROM usage_minutes WHERE TRUE
GROUP BY subject, bucket - bucket % 3600, code
ON CONFLICT (subject, bucket, code) DO UPDATE SET count = usage_hours.count + excluded.count;
