-- +goose Up
-- OAuth clients (package oauth, SPEC §3.6): as in SQLite's 00017 in
-- PostgreSQL's types (jsonb for the settings, bytea for the digests). The
-- app itself is a principal of type "app"; there is no foreign key to
-- principals, so that removing an app and its client stay the service's
-- steps (and an import may bring them in either order). Secrets are stored
-- only as SHA-256 digests (NULL: a public client, or no previous secret).
-- Times are UTC Unix nanoseconds, NULL the zero time.
CREATE TABLE oauth_clients (
    app_id             text COLLATE "C" PRIMARY KEY,
    settings           jsonb  NOT NULL DEFAULT '{}',
    secret_digest      bytea,
    prev_secret_digest bytea,
    prev_secret_until  bigint,
    created_at         bigint,
    updated_at         bigint,
    version            bigint NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE oauth_clients;
