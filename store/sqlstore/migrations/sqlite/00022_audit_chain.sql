-- +goose Up
-- The audit log as an append-only Merkle tree (RFC 6962, package auditlog):
-- seq is a record's place in the tree, gap-free, given in the transaction
-- that writes the record (one writer); NULL only for records written before
-- this migration (the store chains them, in ID order, when it starts).
-- audit_hashes holds tlog's stored hashes by index (for proofs),
-- audit_tree the size and the right edge of the tree (what the next append
-- reads), audit_checkpoints the signed checkpoints, audit_keys the
-- checkpoint signing keys (id 1 signs; the private key sealed with the
-- master key).
ALTER TABLE audit ADD COLUMN seq INTEGER;
CREATE UNIQUE INDEX audit_seq ON audit (seq);

CREATE TABLE audit_hashes (
    idx  INTEGER PRIMARY KEY,
    hash BLOB    NOT NULL
) STRICT;

CREATE TABLE audit_tree (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    size     INTEGER NOT NULL,
    frontier BLOB    NOT NULL
) STRICT;
INSERT INTO audit_tree (id, size, frontier) VALUES (1, 0, X'');

CREATE TABLE audit_checkpoints (
    size       INTEGER PRIMARY KEY,
    root       BLOB    NOT NULL,
    note       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE audit_keys (
    id         INTEGER PRIMARY KEY,
    verifier   TEXT    NOT NULL UNIQUE,
    sealed     BLOB,
    created_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE audit_keys;
DROP TABLE audit_checkpoints;
DROP TABLE audit_tree;
DROP TABLE audit_hashes;
DROP INDEX audit_seq;
ALTER TABLE audit DROP COLUMN seq;
