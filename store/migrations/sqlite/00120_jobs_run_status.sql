-- +goose Up
-- A run's advance counts the run's jobs in a status (pending; or queued and
-- waiting while it is canceled) and its stage's unfinished jobs on every
-- claim and finish. Through UNIQUE (run_id, name) that read every job of
-- the run; this index answers both from the matching entries alone.
CREATE INDEX jobs_run_status ON jobs (run_id, status, stage_id);

-- +goose Down
DROP INDEX jobs_run_status;
