-- +goose Up
-- A run started by an event at a commit whose pipeline file is broken is
-- stored failed, with the problems (JSON list of ConfigProblem), so the
-- push is not silently dropped.
ALTER TABLE runs ADD COLUMN errors TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE runs DROP COLUMN errors;
