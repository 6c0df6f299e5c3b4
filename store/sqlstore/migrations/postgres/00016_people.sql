-- +goose Up
-- People (package people): the sign-in secrets of users, their recovery
-- codes and passkeys, browser sessions, WebAuthn ceremonies in progress and
-- the sign-in failure throttle, as in SQLite's 00016 in PostgreSQL's types
-- (bytea, boolean, jsonb for a session's factors). Users themselves are
-- principals of type "user"; there is no foreign key to principals, so
-- that deleting a user and forgetting its credentials stay the service's
-- steps (and an import may bring them in either order). Secrets are stored
-- only as digests, PHC hashes or sealed with the master key. Times are UTC
-- Unix nanoseconds, NULL the zero time.
CREATE TABLE user_credentials (
    user_id             text COLLATE "C" PRIMARY KEY,
    password_hash       text    NOT NULL DEFAULT '',
    password_changed_at bigint,
    totp_sealed         bytea,
    totp_confirmed      boolean NOT NULL DEFAULT false,
    totp_created_at     bigint,
    totp_last_step      bigint  NOT NULL DEFAULT 0,
    -- NULL until the first passkey registration; NULLs do not collide.
    webauthn_id         bytea   UNIQUE,
    source              text    NOT NULL DEFAULT '',
    external_id         text    NOT NULL DEFAULT '',
    updated_at          bigint,
    version             bigint  NOT NULL DEFAULT 0
);

CREATE TABLE recovery_codes (
    user_id text COLLATE "C" NOT NULL,
    digest  bytea  NOT NULL,
    used_at bigint,
    PRIMARY KEY (user_id, digest)
);

CREATE TABLE passkeys (
    id           bytea  PRIMARY KEY,
    user_id      text COLLATE "C" NOT NULL,
    name         text   NOT NULL DEFAULT '',
    credential   bytea  NOT NULL,
    created_at   bigint NOT NULL,
    last_used_at bigint
);

CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

CREATE TABLE sessions (
    id              text COLLATE "C" PRIMARY KEY,
    -- SHA-256 of the cookie secret; the UNIQUE constraint is the lookup's
    -- index.
    digest          bytea   NOT NULL UNIQUE CHECK (octet_length(digest) = 32),
    user_id         text COLLATE "C" NOT NULL,
    pending         boolean NOT NULL DEFAULT false,
    -- [{"method", "at_ns"}], as in SQLite
    factors         jsonb   NOT NULL DEFAULT '[]',
    ip              text    NOT NULL DEFAULT '',
    user_agent      text    NOT NULL DEFAULT '',
    created_at      bigint  NOT NULL,
    last_seen_at    bigint,
    expires_at      bigint,
    idle_expires_at bigint,
    ended_at        bigint,
    end_reason      text    NOT NULL DEFAULT ''
);

CREATE INDEX sessions_user ON sessions (user_id, created_at);

CREATE TABLE webauthn_challenges (
    id         text COLLATE "C" PRIMARY KEY,
    user_id    text   NOT NULL DEFAULT '',
    kind       text   NOT NULL,
    data       bytea  NOT NULL,
    expires_at bigint NOT NULL
);

CREATE INDEX webauthn_challenges_expires_at ON webauthn_challenges (expires_at);

CREATE TABLE signin_throttle (
    key          text COLLATE "C" PRIMARY KEY,
    failures     bigint NOT NULL DEFAULT 0,
    last_failure bigint,
    locked_until bigint
);

-- +goose Down
DROP TABLE signin_throttle;
DROP TABLE webauthn_challenges;
DROP TABLE sessions;
DROP TABLE passkeys;
DROP TABLE recovery_codes;
DROP TABLE user_credentials;
