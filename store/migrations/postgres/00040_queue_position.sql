-- +goose Up
-- The queue's order (Zuul's promote): agents claim queued jobs by their
-- run's queue position, then by job ID. A run takes its ID as its
-- position when created (so the queue is first come, first served), and
-- promote moves it before every unfinished run of its pipeline. The jobs
-- carry a copy of their run's position so the claim reads the queue from
-- one partial index, in order, without a join.
ALTER TABLE runs ADD COLUMN queue_position BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN queue_position BIGINT NOT NULL DEFAULT 0;
UPDATE runs SET queue_position = id;
UPDATE jobs SET queue_position = run_id;
DROP INDEX jobs_queue;
CREATE INDEX jobs_queue ON jobs (queue_position, id) WHERE status = 'queued';

-- +goose Down
DROP INDEX jobs_queue;
CREATE INDEX jobs_queue ON jobs (id) WHERE status = 'queued';
ALTER TABLE jobs DROP COLUMN queue_position;
ALTER TABLE runs DROP COLUMN queue_position;
