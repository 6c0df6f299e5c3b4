-- +goose Up
-- Public leak reports not yet handled (package leak, SPEC §3.8): as in
-- SQLite's 00028 in PostgreSQL's types. Never the token: digest is its
-- SHA-256, prefix its keyspace prefix, token_start its displayable start.
-- claimed_until (UTC Unix nanoseconds, 0: free) is the lease of the node
-- handling it, taken with FOR UPDATE SKIP LOCKED so that nodes share the
-- work; attempts counts the claims.
CREATE TABLE leak_pending (
    id            text COLLATE "C" PRIMARY KEY,
    at            bigint  NOT NULL,
    digest        bytea   NOT NULL CHECK (octet_length(digest) = 32),
    prefix        text    NOT NULL,
    token_start   text    NOT NULL DEFAULT '',
    source        text    NOT NULL,
    url           text    NOT NULL DEFAULT '',
    address       text    NOT NULL DEFAULT '',
    request_id    text    NOT NULL DEFAULT '',
    claimed_until bigint  NOT NULL DEFAULT 0,
    attempts      integer NOT NULL DEFAULT 0
);

-- The worker claims the free rows oldest first.
CREATE INDEX leak_pending_claim ON leak_pending (claimed_until, id);

-- +goose Down
DROP INDEX leak_pending_claim;
DROP TABLE leak_pending;
