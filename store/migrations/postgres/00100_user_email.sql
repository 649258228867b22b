-- +goose Up
-- A user's email address, set by an admin (issue 20, item 13; Kraken's
-- user details). '' for none.
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN email;
