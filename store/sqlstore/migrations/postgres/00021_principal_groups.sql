-- +goose Up
-- The groups of a user (the OpenID Connect groups claim): short names an
-- admin sets, or the directory's (LDAP) or upstream provider's groups at
-- each sign-in. An app has none.
ALTER TABLE principals ADD COLUMN user_groups text[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE principals DROP COLUMN user_groups;
