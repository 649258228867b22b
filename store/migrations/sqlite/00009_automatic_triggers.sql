-- +goose Up
-- Runs that start other runs: a successful run whose downstream pipelines
-- (on: pipeline: after) have not been started yet has downstream_done = 0.
-- Runs from before this migration count as done, so none fires late.
ALTER TABLE runs ADD COLUMN downstream_done INTEGER NOT NULL DEFAULT 1;
CREATE INDEX runs_downstream ON runs (id) WHERE downstream_done = 0;

-- Cron schedules of pipelines: when each one fires next. Replicas claim a
-- firing by moving next_at forward with a conditional update.
CREATE TABLE schedules (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    pipeline   TEXT    NOT NULL,
    cron       TEXT    NOT NULL,
    branch     TEXT    NOT NULL,
    next_at    INTEGER  NOT NULL,
    PRIMARY KEY (project_id, pipeline, cron, branch)
);

-- +goose Down
DROP TABLE schedules;
DROP INDEX runs_downstream;
ALTER TABLE runs DROP COLUMN downstream_done;
