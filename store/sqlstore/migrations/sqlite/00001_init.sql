-- Initial schema. Times are UTC Unix nanoseconds (INTEGER); NULL stands for
-- the zero time ("never"). Lists and objects are JSON text. Only the SHA-256
-- digest of a key is stored, never its plaintext.

-- +goose Up
CREATE TABLE keyspaces (
    name            TEXT    PRIMARY KEY,
    prefix          TEXT    NOT NULL,
    default_ttl_ns  INTEGER NOT NULL DEFAULT 0,
    max_ttl_ns      INTEGER NOT NULL DEFAULT 0,
    allow_permanent INTEGER NOT NULL DEFAULT 0 CHECK (allow_permanent IN (0, 1)),
    scopes          TEXT    NOT NULL DEFAULT '[]',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE principals (
    type        TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    name        TEXT    NOT NULL DEFAULT '',
    permissions TEXT    NOT NULL DEFAULT '[]',
    disabled    INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    metadata    TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (type, id)
) STRICT;

CREATE TABLE keys (
    id            TEXT    PRIMARY KEY,
    keyspace      TEXT    NOT NULL REFERENCES keyspaces (name),
    name          TEXT    NOT NULL DEFAULT '',
    owner_type    TEXT,
    owner_id      TEXT,
    scopes        TEXT    NOT NULL DEFAULT '[]',
    digest        BLOB    NOT NULL UNIQUE CHECK (length(digest) = 32),
    start         TEXT    NOT NULL DEFAULT '',
    metadata      TEXT,
    foreign_key   INTEGER NOT NULL DEFAULT 0 CHECK (foreign_key IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    ttl_ns        INTEGER NOT NULL DEFAULT 0,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    revoked_at    INTEGER,
    revoke_reason TEXT    NOT NULL DEFAULT '',
    remaining     INTEGER CHECK (remaining IS NULL OR remaining >= 0),
    rotated_from  TEXT    NOT NULL DEFAULT '',
    rotated_to    TEXT    NOT NULL DEFAULT '',
    last_used_at  INTEGER,
    last_used_ip  TEXT    NOT NULL DEFAULT '',
    version       INTEGER NOT NULL DEFAULT 1,
    CHECK ((owner_type IS NULL) = (owner_id IS NULL))
) STRICT;

-- The digest's UNIQUE constraint is the verification lookup's index.
CREATE INDEX keys_keyspace ON keys (keyspace, id);
CREATE INDEX keys_owner ON keys (owner_type, owner_id, id);
CREATE INDEX keys_foreign ON keys (id) WHERE foreign_key = 1;

CREATE TABLE audit (
    id          TEXT    PRIMARY KEY,
    time        INTEGER NOT NULL,
    actor       TEXT    NOT NULL DEFAULT '',
    action      TEXT    NOT NULL DEFAULT '',
    target_type TEXT    NOT NULL DEFAULT '',
    target_id   TEXT    NOT NULL DEFAULT '',
    outcome     TEXT    NOT NULL DEFAULT '',
    request_id  TEXT    NOT NULL DEFAULT '',
    detail      TEXT
) STRICT;

CREATE INDEX audit_action ON audit (action, id);
CREATE INDEX audit_target ON audit (target_id, id);
CREATE INDEX audit_actor ON audit (actor, id);

CREATE TABLE key_usage (
    key_id TEXT    NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
    code   TEXT    NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (key_id, code)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE key_usage;
DROP TABLE audit;
DROP TABLE keys;
DROP TABLE principals;
DROP TABLE keyspaces;
