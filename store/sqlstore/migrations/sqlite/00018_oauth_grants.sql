-- +goose Up
-- The records of the OAuth authorization server (oauth.GrantStore, SPEC
-- §3.6) beside the grant keys: authorization codes, grants, refresh tokens,
-- consents and pushed authorization requests. Every secret among them is
-- kept as its SHA-256 digest only. As in 00016 and 00017 there are no
-- foreign keys to principals or clients: removing them stays the
-- service's steps. Lists are JSON arrays of strings; times are UTC Unix
-- nanoseconds, NULL the zero time.
CREATE TABLE oauth_codes (
    digest       BLOB    PRIMARY KEY CHECK (length(digest) = 32),
    client_id    TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    session_id   TEXT    NOT NULL DEFAULT '',
    redirect_uri TEXT    NOT NULL DEFAULT '',
    challenge    TEXT    NOT NULL DEFAULT '',
    scopes       TEXT    NOT NULL DEFAULT '[]',
    audiences    TEXT    NOT NULL DEFAULT '[]',
    nonce        TEXT    NOT NULL DEFAULT '',
    dpop_jkt     TEXT    NOT NULL DEFAULT '',
    auth_time    INTEGER,
    amr          TEXT    NOT NULL DEFAULT '[]',
    created_at   INTEGER,
    expires_at   INTEGER NOT NULL,
    -- NULL until redeemed: RedeemCode's conditional UPDATE sets it once.
    used_at      INTEGER,
    grant_id     TEXT    NOT NULL DEFAULT '',
    -- 1 once a redemption after the first marked it (SetCodeGrant reads it).
    reused       INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at);

CREATE TABLE oauth_grants (
    id         TEXT    PRIMARY KEY,
    client_id  TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    scopes     TEXT    NOT NULL DEFAULT '[]',
    audiences  TEXT    NOT NULL DEFAULT '[]',
    dpop_jkt   TEXT    NOT NULL DEFAULT '',
    session_id TEXT    NOT NULL DEFAULT '',
    auth_time  INTEGER,
    amr        TEXT    NOT NULL DEFAULT '[]',
    created_at INTEGER,
    expires_at INTEGER
) STRICT;

CREATE INDEX oauth_grants_client ON oauth_grants (client_id, id);
CREATE INDEX oauth_grants_user ON oauth_grants (user_id, id);

CREATE TABLE oauth_refresh_tokens (
    digest     BLOB    PRIMARY KEY CHECK (length(digest) = 32),
    grant_id   TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    created_at INTEGER,
    expires_at INTEGER,
    -- NULL while current: RotateRefresh's compare-and-set sets it once.
    rotated_at INTEGER,
    -- the sealed answer of the rotation, until the grace has passed
    successor  BLOB
) STRICT, WITHOUT ROWID;

CREATE INDEX oauth_refresh_tokens_grant ON oauth_refresh_tokens (grant_id);
CREATE INDEX oauth_refresh_tokens_client ON oauth_refresh_tokens (client_id);
CREATE INDEX oauth_refresh_tokens_expires_at ON oauth_refresh_tokens (expires_at);
CREATE INDEX oauth_refresh_tokens_successor ON oauth_refresh_tokens (rotated_at) WHERE successor IS NOT NULL;

CREATE TABLE oauth_consents (
    user_id    TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    scopes     TEXT    NOT NULL DEFAULT '[]',
    created_at INTEGER,
    updated_at INTEGER,
    PRIMARY KEY (user_id, client_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE oauth_pushed_requests (
    digest     BLOB    PRIMARY KEY CHECK (length(digest) = 32),
    client_id  TEXT    NOT NULL,
    params     BLOB    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX oauth_pushed_requests_expires_at ON oauth_pushed_requests (expires_at);

-- +goose Down
DROP TABLE oauth_pushed_requests;
DROP TABLE oauth_consents;
DROP TABLE oauth_refresh_tokens;
DROP TABLE oauth_grants;
DROP TABLE oauth_codes;
