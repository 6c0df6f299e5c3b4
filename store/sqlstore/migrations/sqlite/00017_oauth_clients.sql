-- +goose Up
-- OAuth clients (package oauth, SPEC §3.6): the OAuth 2.0 settings of an
-- app and the digests of its client secrets. The app itself is a principal
-- of type "app"; as with the credentials of users (00016) there is no
-- foreign key to principals, so that removing an app and its client stay
-- the service's steps (and an import may bring them in either order).
-- settings is the JSON of oauth.Settings; secrets are stored only as
-- SHA-256 digests (NULL: a public client, or no previous secret). Times are
-- UTC Unix nanoseconds, NULL the zero time.
CREATE TABLE oauth_clients (
    app_id             TEXT    PRIMARY KEY,
    settings           TEXT    NOT NULL DEFAULT '{}',
    secret_digest      BLOB,
    prev_secret_digest BLOB,
    prev_secret_until  INTEGER,
    created_at         INTEGER,
    updated_at         INTEGER,
    version            INTEGER NOT NULL DEFAULT 0
) STRICT;

-- +goose Down
DROP TABLE oauth_clients;
