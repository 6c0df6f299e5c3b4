-- +goose Up
-- People (package people): the sign-in secrets of users, their recovery
-- codes and passkeys, browser sessions, WebAuthn ceremonies in progress and
-- the sign-in failure throttle. Users themselves are principals of type
-- "user"; there is no foreign key to principals, so that deleting a user
-- and forgetting its credentials stay the service's steps (and an import
-- may bring them in either order). Secrets are stored only as digests, PHC
-- hashes or sealed with the master key. Times are UTC Unix nanoseconds,
-- NULL the zero time.
CREATE TABLE user_credentials (
    user_id             TEXT    PRIMARY KEY,
    password_hash       TEXT    NOT NULL DEFAULT '',
    password_changed_at INTEGER,
    totp_sealed         BLOB,
    totp_confirmed      INTEGER NOT NULL DEFAULT 0 CHECK (totp_confirmed IN (0, 1)),
    totp_created_at     INTEGER,
    totp_last_step      INTEGER NOT NULL DEFAULT 0,
    -- NULL until the first passkey registration; NULLs do not collide.
    webauthn_id         BLOB    UNIQUE,
    source              TEXT    NOT NULL DEFAULT '',
    external_id         TEXT    NOT NULL DEFAULT '',
    updated_at          INTEGER,
    version             INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE recovery_codes (
    user_id TEXT    NOT NULL,
    digest  BLOB    NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, digest)
) STRICT, WITHOUT ROWID;

CREATE TABLE passkeys (
    id           BLOB    PRIMARY KEY,
    user_id      TEXT    NOT NULL,
    name         TEXT    NOT NULL DEFAULT '',
    credential   BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
) STRICT;

CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

CREATE TABLE sessions (
    id              TEXT    PRIMARY KEY,
    -- SHA-256 of the cookie secret; the UNIQUE constraint is the lookup's
    -- index.
    digest          BLOB    NOT NULL UNIQUE CHECK (length(digest) = 32),
    user_id         TEXT    NOT NULL,
    pending         INTEGER NOT NULL DEFAULT 0 CHECK (pending IN (0, 1)),
    -- [{"method", "at_ns"}]
    factors         TEXT    NOT NULL DEFAULT '[]',
    ip              TEXT    NOT NULL DEFAULT '',
    user_agent      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER,
    expires_at      INTEGER,
    idle_expires_at INTEGER,
    ended_at        INTEGER,
    end_reason      TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX sessions_user ON sessions (user_id, created_at);

CREATE TABLE webauthn_challenges (
    id         TEXT    PRIMARY KEY,
    user_id    TEXT    NOT NULL DEFAULT '',
    kind       TEXT    NOT NULL,
    data       BLOB    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX webauthn_challenges_expires_at ON webauthn_challenges (expires_at);

CREATE TABLE signin_throttle (
    key          TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL DEFAULT 0,
    last_failure INTEGER,
    locked_until INTEGER
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE signin_throttle;
DROP TABLE webauthn_challenges;
DROP TABLE sessions;
DROP TABLE passkeys;
DROP TABLE recovery_codes;
DROP TABLE user_credentials;
