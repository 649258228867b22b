-- +goose Up
-- A re-run of some jobs of a finished run is a new run: the jobs re-run
-- start afresh, and every other job is carried over with its result.
-- carried_from names the job that actually ran (never a carried one), whose
-- attempts, logs and uploads the carried job shows.
ALTER TABLE jobs ADD COLUMN carried_from BIGINT REFERENCES jobs(id) ON DELETE SET NULL;

-- +goose Down
ALTER TABLE jobs DROP COLUMN carried_from;
