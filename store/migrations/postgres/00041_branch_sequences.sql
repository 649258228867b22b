-- +goose Up
-- Run numbers per branch (Kraken's sequences): a pipeline that says
-- `numbering: per-branch` numbers the runs of each branch from that
-- branch's counter. Its runs still take a number of the pipeline's own
-- sequence (runs.number, unique per pipeline), which stays internal; the
-- branch's number is what the run shows and LATHE_RUN_NUMBER carries.
CREATE TABLE branch_counters (
    project_id  BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    pipeline    TEXT    NOT NULL,
    branch      TEXT    NOT NULL,
    last_number BIGINT NOT NULL,
    PRIMARY KEY (project_id, pipeline, branch)
);
ALTER TABLE runs ADD COLUMN branch_number BIGINT;
CREATE UNIQUE INDEX runs_branch_number ON runs (project_id, pipeline, branch, branch_number) WHERE branch_number IS NOT NULL;

-- +goose Down
DROP INDEX runs_branch_number;
ALTER TABLE runs DROP COLUMN branch_number;
DROP TABLE branch_counters;
