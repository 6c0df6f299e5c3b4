-- +goose Up
-- Leak reports (package leak, SPEC §3.8): as in SQLite's 00025 in
-- PostgreSQL's types. Never the token: token_start is its displayable
-- start, kind and target_id name what it was, outcome what the report did.
-- at is UTC Unix nanoseconds; IDs grow with time, so the listing orders by
-- id.
CREATE TABLE leak_reports (
    id          text COLLATE "C" PRIMARY KEY,
    at          bigint NOT NULL,
    source      text   NOT NULL,
    url         text   NOT NULL DEFAULT '',
    address     text   NOT NULL DEFAULT '',
    token_start text   NOT NULL DEFAULT '',
    kind        text   NOT NULL DEFAULT '',
    target_id   text   NOT NULL DEFAULT '',
    outcome     text   NOT NULL
);

-- A reported client secret is found by its digest, current or previous.
CREATE INDEX oauth_clients_secret_digest ON oauth_clients (secret_digest);
CREATE INDEX oauth_clients_prev_secret_digest ON oauth_clients (prev_secret_digest);

-- +goose Down
DROP INDEX oauth_clients_prev_secret_digest;
DROP INDEX oauth_clients_secret_digest;
DROP TABLE leak_reports;
