-- +goose Up
-- The OpenID Connect profile claims of a user (OIDC Core §5.1): email,
-- email_verified and preferred_username; name is the principal's name. An
-- app keeps the defaults.
ALTER TABLE principals ADD COLUMN email text NOT NULL DEFAULT '';
ALTER TABLE principals ADD COLUMN email_verified boolean NOT NULL DEFAULT false;
ALTER TABLE principals ADD COLUMN preferred_username text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE principals DROP COLUMN preferred_username;
ALTER TABLE principals DROP COLUMN email_verified;
ALTER TABLE principals DROP COLUMN email;
