-- +goose Up
-- Every attempt of a webhook delivery, not only its last (issue 16 §2
-- hardening): when it started, how long it took, the HTTP status (0: no
-- answer), why it failed, and the first bytes (at most 512, valid UTF-8,
-- control characters removed) of the receiver's answer, to debug a
-- receiver as Svix, Stripe and GitHub users do. Never a secret: the
-- signing secret and the request's headers are not stored. Written in
-- the transaction of FinishDelivery; at most 50 per delivery (the oldest
-- are removed) and removed with their delivery (ON DELETE CASCADE).
-- n numbers the attempts of a delivery from 1, across redeliveries;
-- redelivery marks the attempts made after someone asked to send the
-- delivery again (webhook_deliveries.redelivered, set by Redeliver).
CREATE TABLE webhook_attempts (
    delivery_seq bigint NOT NULL REFERENCES webhook_deliveries (seq) ON DELETE CASCADE,
    n            integer NOT NULL,
    started_at   bigint NOT NULL,
    duration     bigint NOT NULL,
    status       integer NOT NULL DEFAULT 0,
    error        text NOT NULL DEFAULT '',
    response     text NOT NULL DEFAULT '',
    redelivery   boolean NOT NULL DEFAULT FALSE,
    PRIMARY KEY (delivery_seq, n)
);
ALTER TABLE webhook_deliveries ADD COLUMN redelivered boolean NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE webhook_deliveries DROP COLUMN redelivered;
DROP TABLE webhook_attempts;
