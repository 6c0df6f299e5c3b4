-- +goose Up
-- Signed requests (RFC 9421): each key's signing secret, sealed with the
-- master key (opaque bytes, NULL: the key signs no requests), and the
-- nonces seen, so that a replay is refused. A nonce is remembered until
-- it expires; there is no foreign key to keys: the nonces of a deleted key
-- simply expire.
ALTER TABLE keys ADD COLUMN signing_secret BLOB;

CREATE TABLE nonces (
    key_id     TEXT    NOT NULL,
    nonce      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, nonce)
) STRICT, WITHOUT ROWID;

CREATE INDEX nonces_expires_at ON nonces (expires_at);

-- +goose Down
DROP TABLE nonces;
ALTER TABLE keys DROP COLUMN signing_secret;
