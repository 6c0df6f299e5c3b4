-- +goose Up
-- A key bound to a DPoP key (RFC 9449): the base64url SHA-256 thumbprint
-- (RFC 7638) of the public key whose proofs must accompany every use of
-- the key; NULL: a plain bearer key.
ALTER TABLE keys ADD COLUMN dpop_jkt text;

-- +goose Down
ALTER TABLE keys DROP COLUMN dpop_jkt;
