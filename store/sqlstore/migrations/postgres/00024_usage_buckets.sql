-- +goose Up
-- Verifications by result code per minute (kept 48 h) and per hour (kept
-- 90 days). subject is a key ID, "s/<keyspace>" (the keyspace's rollup) or
-- "o/<keyspace>/<owner type>/<owner id>" (an owner's keys in a keyspace);
-- bucket is the Unix time the bucket begins. Counts are added by the usage
-- flush (INSERT … ON CONFLICT DO UPDATE count = count + excluded.count).
-- COLLATE "C": byte order, so the owner prefix ranges and cursors match
-- SQLite's.
CREATE TABLE usage_minutes (
    subject text COLLATE "C" NOT NULL,
    bucket  bigint NOT NULL,
    code    text COLLATE "C" NOT NULL,
    count   bigint NOT NULL,
    PRIMARY KEY (subject, bucket, code)
);
CREATE INDEX usage_minutes_bucket ON usage_minutes (bucket);

CREATE TABLE usage_hours (
    subject text COLLATE "C" NOT NULL,
    bucket  bigint NOT NULL,
    code    text COLLATE "C" NOT NULL,
    count   bigint NOT NULL,
    PRIMARY KEY (subject, bucket, code)
);
CREATE INDEX usage_hours_bucket ON usage_hours (bucket);

-- +goose Down
DROP TABLE usage_hours;
DROP TABLE usage_minutes;
