-- The schema of store/sqlite's migrations 1-3 in one step, in PostgreSQL's
-- types. Times are UTC Unix nanoseconds (bigint), exactly as in SQLite; NULL
-- stands for the zero time ("never"). Identifiers and names use the "C"
-- collation so that ORDER BY and the pagination cursors (id > $n) follow
-- byte order, as Go and SQLite do, whatever the database's locale. Only the
-- SHA-256 digest of a key is stored, never its plaintext.

-- +goose Up
CREATE TABLE keyspaces (
    name            text COLLATE "C" PRIMARY KEY,
    prefix          text    NOT NULL,
    default_ttl_ns  bigint  NOT NULL DEFAULT 0,
    max_ttl_ns      bigint  NOT NULL DEFAULT 0,
    allow_permanent boolean NOT NULL DEFAULT false,
    scopes          text[]  NOT NULL DEFAULT '{}',
    -- [{"name", "limit", "window_ns"}], as in SQLite
    ratelimits      jsonb   NOT NULL DEFAULT '[]',
    created_at      bigint  NOT NULL,
    updated_at      bigint  NOT NULL
);

CREATE TABLE principals (
    type        text COLLATE "C" NOT NULL,
    id          text COLLATE "C" NOT NULL,
    name        text    NOT NULL DEFAULT '',
    permissions text[]  NOT NULL DEFAULT '{}',
    disabled    boolean NOT NULL DEFAULT false,
    ratelimits  jsonb   NOT NULL DEFAULT '[]',
    metadata    jsonb,
    created_at  bigint  NOT NULL,
    updated_at  bigint  NOT NULL,
    version     bigint  NOT NULL DEFAULT 1,
    PRIMARY KEY (type, id)
);

-- Listing every type pages by id alone.
CREATE INDEX principals_id ON principals (id, type);

CREATE TABLE keys (
    id              text COLLATE "C" PRIMARY KEY,
    keyspace        text COLLATE "C" NOT NULL REFERENCES keyspaces (name),
    name            text    NOT NULL DEFAULT '',
    owner_type      text COLLATE "C",
    owner_id        text COLLATE "C",
    scopes          text[]  NOT NULL DEFAULT '{}',
    -- The UNIQUE constraint is the verification lookup's index.
    digest          bytea   NOT NULL UNIQUE CHECK (octet_length(digest) = 32),
    start           text    NOT NULL DEFAULT '',
    metadata        jsonb,
    is_foreign      boolean NOT NULL DEFAULT false,
    -- A digest of (credential, Idempotency-Key header) of the create request
    -- that made the key; NULLs do not collide.
    idempotency     text COLLATE "C" UNIQUE,
    created_at      bigint  NOT NULL,
    updated_at      bigint  NOT NULL,
    expires_at      bigint,
    ttl_ns          bigint  NOT NULL DEFAULT 0,
    disabled        boolean NOT NULL DEFAULT false,
    revoked_at      bigint,
    revoke_reason   text    NOT NULL DEFAULT '',
    remaining       bigint  CHECK (remaining IS NULL OR remaining >= 0),
    refill_interval text,
    refill_amount   bigint  CHECK (refill_amount IS NULL OR refill_amount > 0),
    refilled_at     bigint,
    ratelimits      jsonb   NOT NULL DEFAULT '[]',
    ip_allow        cidr[]  NOT NULL DEFAULT '{}',
    rotated_from    text    NOT NULL DEFAULT '',
    rotated_to      text    NOT NULL DEFAULT '',
    last_used_at    bigint,
    last_used_ip    text    NOT NULL DEFAULT '',
    version         bigint  NOT NULL DEFAULT 1,
    CHECK ((owner_type IS NULL) = (owner_id IS NULL)),
    CHECK ((refill_interval IS NULL) = (refill_amount IS NULL))
);

CREATE INDEX keys_keyspace ON keys (keyspace, id);
CREATE INDEX keys_owner ON keys (owner_type, owner_id, id);
CREATE INDEX keys_foreign ON keys (id) WHERE is_foreign;

CREATE TABLE audit (
    id          text COLLATE "C" PRIMARY KEY,
    at          bigint NOT NULL,
    actor       text COLLATE "C" NOT NULL DEFAULT '',
    action      text COLLATE "C" NOT NULL DEFAULT '',
    target_type text   NOT NULL DEFAULT '',
    target_id   text COLLATE "C" NOT NULL DEFAULT '',
    outcome     text   NOT NULL DEFAULT '',
    request_id  text   NOT NULL DEFAULT '',
    detail      jsonb
);

CREATE INDEX audit_action ON audit (action, id);
CREATE INDEX audit_target ON audit (target_id, id);
CREATE INDEX audit_actor ON audit (actor, id);

CREATE TABLE key_usage (
    key_id text COLLATE "C" NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
    code   text COLLATE "C" NOT NULL,
    count  bigint NOT NULL,
    PRIMARY KEY (key_id, code)
);

-- +goose Down
DROP TABLE key_usage;
DROP TABLE audit;
DROP TABLE keys;
DROP TABLE principals;
DROP TABLE keyspaces;
