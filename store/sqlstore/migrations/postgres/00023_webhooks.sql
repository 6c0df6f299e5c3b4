-- +goose Up
-- Webhooks (SPEC §3.8). The same tables as SQLite's 00023 in PostgreSQL's
-- types (bytea, boolean, an identity column for the outbox order).
-- events is a comma-framed list (",key.revoked,key.leaked,") so that the
-- outbox fan-out in the audit write matches subscribers with one LIKE on
-- both engines. The signing secrets are sealed with the master key
-- (AES-256-GCM, context "webhook:<id>"): the server must sign with them,
-- so they cannot be digests.
CREATE TABLE webhooks (
    id                 text PRIMARY KEY,
    url                text NOT NULL,
    events             text NOT NULL,
    description        text NOT NULL DEFAULT '',
    secret_sealed      bytea NOT NULL,
    prev_secret_sealed bytea,
    prev_secret_until  bigint,
    disabled           boolean NOT NULL DEFAULT FALSE,
    disabled_reason    text NOT NULL DEFAULT '',
    created_at         bigint NOT NULL,
    updated_at         bigint NOT NULL
);

-- The outbox: one row per event and subscribed webhook, inserted in the
-- transaction of the change that causes the event; the row is also the
-- record of its delivery. seq orders the rows of one order_key (the key,
-- principal, …) of one webhook; lease_owner/lease_until is the row lease
-- of the node delivering it.
CREATE TABLE webhook_deliveries (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              text NOT NULL UNIQUE,
    webhook_id      text NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_type      text NOT NULL,
    order_key       text NOT NULL,
    payload         text NOT NULL,
    created_at      bigint NOT NULL,
    state           text NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at bigint NOT NULL,
    lease_owner     text NOT NULL DEFAULT '',
    lease_until     bigint NOT NULL DEFAULT 0,
    last_attempt_at bigint,
    last_status     integer NOT NULL DEFAULT 0,
    last_duration   bigint NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    delivered_at    bigint
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, order_key, seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_list ON webhook_deliveries (webhook_id, seq);

-- Once-only markers of scheduled events (key.expiring per key and
-- threshold), so that several nodes emit each once.
CREATE TABLE webhook_marks (
    mark text PRIMARY KEY,
    at   bigint NOT NULL
);

-- The key.expiring scan: unrevoked keys by expiry.
CREATE INDEX keys_expiring ON keys (expires_at) WHERE revoked_at IS NULL AND expires_at IS NOT NULL;

-- +goose Down
DROP INDEX keys_expiring;
DROP TABLE webhook_marks;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
