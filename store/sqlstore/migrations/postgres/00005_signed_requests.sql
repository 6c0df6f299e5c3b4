-- +goose Up
-- Signed requests (RFC 9421): each key's signing secret, sealed with the
-- master key (opaque bytes, NULL: the key signs no requests), and the
-- nonces seen, so that a replay is refused on every node. A nonce is
-- remembered until it expires; there is no foreign key to keys: the nonces
-- of a deleted key simply expire. A change of signing_secret notifies the
-- caches (latchkey_notify_key compares every column but usage ones).
ALTER TABLE keys ADD COLUMN signing_secret bytea;

CREATE TABLE nonces (
    key_id     text COLLATE "C" NOT NULL,
    nonce      text COLLATE "C" NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (key_id, nonce)
);

CREATE INDEX nonces_expires_at ON nonces (expires_at);

-- +goose Down
DROP TABLE nonces;
ALTER TABLE keys DROP COLUMN signing_secret;
