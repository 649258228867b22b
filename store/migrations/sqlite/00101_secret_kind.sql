-- +goose Up
-- How a job gets a secret (issue 20, item 14): 'env', its value in an
-- environment variable of its name; 'file', written to a private file
-- whose path is that variable's value.
ALTER TABLE secrets ADD COLUMN kind TEXT NOT NULL DEFAULT 'env';

-- +goose Down
ALTER TABLE secrets DROP COLUMN kind;
