-- +goose Up
-- Public leak reports not yet handled (package leak, SPEC §3.8): POST
-- /v1/leaks keeps one row per report of a string in latchkey's format
-- before it answers 202, and a worker revokes what it names, writes the
-- report (leak_reports, with this row's id) and its audit record and
-- deletes the row in one transaction: a crash between the answer and the
-- handling loses nothing. Never the token: digest is its SHA-256 (what
-- keys.digest holds), prefix its keyspace prefix, token_start its
-- displayable start. claimed_until (UTC Unix nanoseconds, 0: free) is the
-- lease of the node handling it; attempts counts the claims. at is UTC
-- Unix nanoseconds; ids grow with time.
CREATE TABLE leak_pending (
    id            TEXT    PRIMARY KEY,
    at            INTEGER NOT NULL,
    digest        BLOB    NOT NULL CHECK (length(digest) = 32),
    prefix        TEXT    NOT NULL,
    token_start   TEXT    NOT NULL DEFAULT '',
    source        TEXT    NOT NULL,
    url           TEXT    NOT NULL DEFAULT '',
    address       TEXT    NOT NULL DEFAULT '',
    request_id    TEXT    NOT NULL DEFAULT '',
    claimed_until INTEGER NOT NULL DEFAULT 0,
    attempts      INTEGER NOT NULL DEFAULT 0
) STRICT;

-- The worker claims the free rows oldest first.
CREATE INDEX leak_pending_claim ON leak_pending (claimed_until, id);

-- +goose Down
DROP INDEX leak_pending_claim;
DROP TABLE leak_pending;
