-- +goose Up
-- Labels added to the runs-on of the jobs of a project's untrusted runs
-- (a JSON list), so that a fork's code runs only on agents kept for it.
ALTER TABLE projects ADD COLUMN untrusted_labels TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE projects DROP COLUMN untrusted_labels;
