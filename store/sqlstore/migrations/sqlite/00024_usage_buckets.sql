-- +goose Up
-- Verifications by result code per minute (kept 48 h) and per hour (kept
-- 90 days). subject is a key ID, "s/<keyspace>" (the keyspace's rollup) or
-- "o/<keyspace>/<owner type>/<owner id>" (an owner's keys in a keyspace);
-- bucket is the Unix time the bucket begins. Counts are added by the usage
-- flush (INSERT … ON CONFLICT DO UPDATE count = count + excluded.count).
-- WITHOUT ROWID: the rows live in the primary key's b-tree, one copy.
CREATE TABLE usage_minutes (
    subject TEXT    NOT NULL,
    bucket  INTEGER NOT NULL,
    code    TEXT    NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (subject, bucket, code)
) WITHOUT ROWID;
CREATE INDEX usage_minutes_bucket ON usage_minutes (bucket);

CREATE TABLE usage_hours (
    subject TEXT    NOT NULL,
    bucket  INTEGER NOT NULL,
    code    TEXT    NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (subject, bucket, code)
) WITHOUT ROWID;
CREATE INDEX usage_hours_bucket ON usage_hours (bucket);

-- +goose Down
DROP TABLE usage_hours;
DROP TABLE usage_minutes;
