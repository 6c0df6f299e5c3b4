-- +goose Up
-- The answers of idempotent management calls, so that a retry with the same
-- Idempotency-Key replays the first answer. Written in the transaction of the
-- change itself; the body is sealed with the master key.
CREATE TABLE idempotency (
	scope       text COLLATE "C" NOT NULL, -- sha256(actor key ID, Idempotency-Key), hex
	operation   text COLLATE "C" NOT NULL, -- e.g. "key.rotate"
	fingerprint text        NOT NULL, -- digest of what was asked
	status      integer     NOT NULL,
	body        bytea       NOT NULL, -- sealed
	created_at  bigint      NOT NULL,
	expires_at  bigint      NOT NULL,
	PRIMARY KEY (scope, operation)
);
CREATE INDEX idempotency_expires ON idempotency (expires_at);

-- +goose Down
DROP TABLE idempotency;
