-- +goose Up
-- The OpenID Connect profile claims of a user (OIDC Core §5.1): email,
-- email_verified and preferred_username; name is the principal's name. An
-- app keeps the defaults.
ALTER TABLE principals ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE principals ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1));
ALTER TABLE principals ADD COLUMN preferred_username TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE principals DROP COLUMN preferred_username;
ALTER TABLE principals DROP COLUMN email_verified;
ALTER TABLE principals DROP COLUMN email;
