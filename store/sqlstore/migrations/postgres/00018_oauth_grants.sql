-- +goose Up
-- The records of the OAuth authorization server (oauth.GrantStore, SPEC
-- §3.6) beside the grant keys, as in SQLite's 00018 in PostgreSQL's types
-- (bytea for digests and sealed answers, text[] for lists): authorization
-- codes, grants, refresh tokens, consents and pushed authorization
-- requests. Every secret among them is kept as its SHA-256 digest only. As
-- in 00016 and 00017 there are no foreign keys to principals or clients:
-- removing them stays the service's steps. Times are UTC Unix nanoseconds,
-- NULL the zero time.
CREATE TABLE oauth_codes (
    digest       bytea  PRIMARY KEY CHECK (octet_length(digest) = 32),
    client_id    text COLLATE "C" NOT NULL,
    user_id      text COLLATE "C" NOT NULL,
    session_id   text   NOT NULL DEFAULT '',
    redirect_uri text   NOT NULL DEFAULT '',
    challenge    text   NOT NULL DEFAULT '',
    scopes       text[] NOT NULL DEFAULT '{}',
    audiences    text[] NOT NULL DEFAULT '{}',
    nonce        text   NOT NULL DEFAULT '',
    dpop_jkt     text   NOT NULL DEFAULT '',
    auth_time    bigint,
    amr          text[] NOT NULL DEFAULT '{}',
    created_at   bigint,
    expires_at   bigint NOT NULL,
    -- NULL until redeemed: RedeemCode's conditional UPDATE sets it once.
    used_at      bigint,
    grant_id     text COLLATE "C" NOT NULL DEFAULT '',
    -- 1 once a redemption after the first marked it (SetCodeGrant reads it).
    reused       integer NOT NULL DEFAULT 0
);

CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at);

CREATE TABLE oauth_grants (
    id         text COLLATE "C" PRIMARY KEY,
    client_id  text COLLATE "C" NOT NULL,
    user_id    text COLLATE "C" NOT NULL,
    scopes     text[] NOT NULL DEFAULT '{}',
    audiences  text[] NOT NULL DEFAULT '{}',
    dpop_jkt   text   NOT NULL DEFAULT '',
    session_id text   NOT NULL DEFAULT '',
    auth_time  bigint,
    amr        text[] NOT NULL DEFAULT '{}',
    created_at bigint,
    expires_at bigint
);

CREATE INDEX oauth_grants_client ON oauth_grants (client_id, id);
CREATE INDEX oauth_grants_user ON oauth_grants (user_id, id);

CREATE TABLE oauth_refresh_tokens (
    digest     bytea  PRIMARY KEY CHECK (octet_length(digest) = 32),
    grant_id   text COLLATE "C" NOT NULL,
    client_id  text COLLATE "C" NOT NULL,
    user_id    text COLLATE "C" NOT NULL,
    created_at bigint,
    expires_at bigint,
    -- NULL while current: RotateRefresh's compare-and-set sets it once.
    rotated_at bigint,
    -- the sealed answer of the rotation, until the grace has passed
    successor  bytea
);

CREATE INDEX oauth_refresh_tokens_grant ON oauth_refresh_tokens (grant_id);
CREATE INDEX oauth_refresh_tokens_client ON oauth_refresh_tokens (client_id);
CREATE INDEX oauth_refresh_tokens_expires_at ON oauth_refresh_tokens (expires_at);
CREATE INDEX oauth_refresh_tokens_successor ON oauth_refresh_tokens (rotated_at) WHERE successor IS NOT NULL;

CREATE TABLE oauth_consents (
    user_id    text COLLATE "C" NOT NULL,
    client_id  text COLLATE "C" NOT NULL,
    scopes     text[] NOT NULL DEFAULT '{}',
    created_at bigint,
    updated_at bigint,
    PRIMARY KEY (user_id, client_id)
);

CREATE TABLE oauth_pushed_requests (
    digest     bytea  PRIMARY KEY CHECK (octet_length(digest) = 32),
    client_id  text COLLATE "C" NOT NULL,
    params     bytea  NOT NULL,
    expires_at bigint NOT NULL
);

CREATE INDEX oauth_pushed_requests_expires_at ON oauth_pushed_requests (expires_at);

-- +goose Down
DROP TABLE oauth_pushed_requests;
DROP TABLE oauth_consents;
DROP TABLE oauth_refresh_tokens;
DROP TABLE oauth_grants;
DROP TABLE oauth_codes;
