-- +goose Up
-- Branches a project's runs and hooks have seen (Kraken's branches): the
-- head commit last seen, and the branch's settings. env is a JSON list of
-- EnvVar added to every run planned on the branch; keep_runs and keep_days
-- are retention numbers (NULL: the server's default), stored for the
-- results issue. schedules_commit is the commit whose pipelines the
-- schedules table holds ('' when never read): the schedule loop reads a
-- branch's pipelines again only when its head is another commit.
CREATE TABLE branches (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id       INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name             TEXT    NOT NULL,
    head_commit      TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    last_seen_at     INTEGER NOT NULL,
    env              TEXT    NOT NULL DEFAULT '[]',
    keep_runs        INTEGER,
    keep_days        INTEGER,
    schedules_commit TEXT    NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX branches_name ON branches (project_id, name);

-- Schedules get an ID (for the API), a pause switch and the time they
-- last fired; their rows are kept from the table they replace.
CREATE TABLE schedules_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    pipeline      TEXT    NOT NULL,
    cron          TEXT    NOT NULL,
    branch        TEXT    NOT NULL,
    next_at       INTEGER NOT NULL,
    paused        INTEGER NOT NULL DEFAULT 0,
    last_fired_at INTEGER
);
INSERT INTO schedules_new (project_id, pipeline, cron, branch, next_at)
    SELECT project_id, pipeline, cron, branch, next_at FROM schedules ORDER BY project_id, pipeline, cron, branch;
DROP TABLE schedules;
ALTER TABLE schedules_new RENAME TO schedules;
CREATE UNIQUE INDEX schedules_key ON schedules (project_id, pipeline, cron, branch);
CREATE INDEX schedules_due ON schedules (next_at) WHERE paused = 0;

-- Pipelines from the API: a project lets writers run posted pipeline YAML
-- only when its owner says so; such a run is marked (and gets no secrets).
ALTER TABLE projects ADD COLUMN allow_api_pipelines INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN pipeline_from_api INTEGER NOT NULL DEFAULT 0;

-- The runs list filters by branch and by pull request.
CREATE INDEX runs_branch ON runs (project_id, branch, id);
CREATE INDEX runs_pull_request ON runs (project_id, pull_request, id) WHERE pull_request IS NOT NULL;

-- +goose Down
DROP INDEX runs_pull_request;
DROP INDEX runs_branch;
DROP INDEX schedules_due;
DROP INDEX schedules_key;
ALTER TABLE runs DROP COLUMN pipeline_from_api;
ALTER TABLE projects DROP COLUMN allow_api_pipelines;
CREATE TABLE schedules_old (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    pipeline   TEXT    NOT NULL,
    cron       TEXT    NOT NULL,
    branch     TEXT    NOT NULL,
    next_at    INTEGER  NOT NULL,
    PRIMARY KEY (project_id, pipeline, cron, branch)
);
INSERT INTO schedules_old SELECT project_id, pipeline, cron, branch, next_at FROM schedules;
DROP TABLE schedules;
ALTER TABLE schedules_old RENAME TO schedules;
DROP TABLE branches;
