-- +goose Up
-- Leak reports (package leak, SPEC §3.8): one row per report of a string in
-- latchkey's token format (POST /v1/leaks, POST /v1/leaks/github). Never the
-- token: token_start is its displayable start (prefix and four characters,
-- as keys.start), kind and target_id name what it was (an API key, a
-- refresh token's grant, an app's client secret), outcome what the report
-- did. at is UTC Unix nanoseconds; IDs grow with time, so the listing
-- orders by id.
CREATE TABLE leak_reports (
    id          TEXT    PRIMARY KEY,
    at          INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    url         TEXT    NOT NULL DEFAULT '',
    address     TEXT    NOT NULL DEFAULT '',
    token_start TEXT    NOT NULL DEFAULT '',
    kind        TEXT    NOT NULL DEFAULT '',
    target_id   TEXT    NOT NULL DEFAULT '',
    outcome     TEXT    NOT NULL
) STRICT;

-- A reported client secret is found by its digest, current or previous.
CREATE INDEX oauth_clients_secret_digest ON oauth_clients (secret_digest);
CREATE INDEX oauth_clients_prev_secret_digest ON oauth_clients (prev_secret_digest);

-- +goose Down
DROP INDEX oauth_clients_prev_secret_digest;
DROP INDEX oauth_clients_secret_digest;
DROP TABLE leak_reports;
