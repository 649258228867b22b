-- +goose Up
-- The parameter values a run was planned with (JSON list of {name, value}),
-- shown with the run and reused by its re-run.
ALTER TABLE runs ADD COLUMN params TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE runs DROP COLUMN params;
