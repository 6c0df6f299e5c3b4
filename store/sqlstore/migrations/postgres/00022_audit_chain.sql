-- +goose Up
-- The audit log as an append-only Merkle tree (RFC 6962, package auditlog):
-- seq is a record's place in the tree, gap-free, given in the transaction
-- that writes the record (writers of every node queue for a
-- transaction-level advisory lock); NULL only for records written before
-- this migration (the store chains them, in ID order, when it starts).
-- audit_hashes holds tlog's stored hashes by index (for proofs),
-- audit_tree the size and the right edge of the tree (what the next append
-- reads), audit_checkpoints the signed checkpoints, audit_keys the
-- checkpoint signing keys (id 1 signs; the private key sealed with the
-- master key).
ALTER TABLE audit ADD COLUMN seq bigint;
CREATE UNIQUE INDEX audit_seq ON audit (seq);

CREATE TABLE audit_hashes (
    idx  bigint PRIMARY KEY,
    hash bytea NOT NULL
);

CREATE TABLE audit_tree (
    id       integer PRIMARY KEY CHECK (id = 1),
    size     bigint NOT NULL,
    frontier bytea NOT NULL
);
INSERT INTO audit_tree (id, size, frontier) VALUES (1, 0, ''::bytea);

CREATE TABLE audit_checkpoints (
    size       bigint PRIMARY KEY,
    root       bytea NOT NULL,
    note       text NOT NULL,
    created_at bigint NOT NULL
);

CREATE TABLE audit_keys (
    id         bigint PRIMARY KEY,
    verifier   text NOT NULL UNIQUE,
    sealed     bytea,
    created_at bigint NOT NULL
);

-- +goose Down
DROP TABLE audit_keys;
DROP TABLE audit_checkpoints;
DROP TABLE audit_tree;
DROP TABLE audit_hashes;
DROP INDEX audit_seq;
ALTER TABLE audit DROP COLUMN seq;
