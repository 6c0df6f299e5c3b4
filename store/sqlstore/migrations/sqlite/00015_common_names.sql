-- +goose Up
-- Since both engines are served by one body of code (store/sqlstore), the
-- two schemas use the same column names: PostgreSQL's, because "foreign_key"
-- reads like a constraint and "time" like a type. SQLite rewrites the
-- partial index keys_foreign with the column.
ALTER TABLE keys RENAME COLUMN foreign_key TO is_foreign;
ALTER TABLE audit RENAME COLUMN time TO at;

-- +goose Down
ALTER TABLE audit RENAME COLUMN at TO time;
ALTER TABLE keys RENAME COLUMN is_foreign TO foreign_key;
