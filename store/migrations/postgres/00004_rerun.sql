-- +goose Up
-- Re-runs: a run started as a re-run of another names its parent.
ALTER TABLE runs ADD COLUMN parent_id BIGINT REFERENCES runs(id);

-- +goose Down
ALTER TABLE runs DROP COLUMN parent_id;
