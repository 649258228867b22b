-- +goose Up
-- The CD half, continued (issue 18): deployments recorded by pipeline jobs,
-- variables and secrets of an environment, the reason a gate was rejected,
-- and each project's build pipeline for release candidates.

-- A deployment is now of a candidate, or of a bare commit (a pipeline job
-- with `environment:` in a run that was not started for a candidate):
-- candidate_id becomes optional and commit_id is kept on the row. job_id is
-- the deploy job that records it; its status then follows the job's. SQLite
-- cannot drop a NOT NULL, so the table is rebuilt (nothing refers to it).
CREATE TABLE deployments_new (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    candidate_id   INTEGER REFERENCES release_candidates(id) ON DELETE CASCADE,
    status         TEXT    NOT NULL,
    run_id         INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    created_by     TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    commit_id      TEXT    NOT NULL DEFAULT '',
    job_id         INTEGER REFERENCES jobs(id) ON DELETE SET NULL
);
INSERT INTO deployments_new (id, environment_id, candidate_id, status, run_id, created_by, created_at, updated_at, commit_id)
SELECT d.id, d.environment_id, d.candidate_id, d.status, d.run_id, d.created_by, d.created_at, d.updated_at, c.commit_id
FROM deployments d JOIN release_candidates c ON c.id = d.candidate_id;
DROP TABLE deployments;
ALTER TABLE deployments_new RENAME TO deployments;
CREATE INDEX deployments_environment ON deployments (environment_id, id);
CREATE INDEX deployments_candidate ON deployments (candidate_id);
CREATE UNIQUE INDEX deployments_job ON deployments (job_id);
CREATE INDEX deployments_run ON deployments (run_id);

-- Variables and secrets of an environment: they reach only the jobs that
-- deploy to it, after its gate, and override the project's of the same
-- name. A secret's value is sealed as the project's are (key_id names the
-- key; the row's identity is the associated data) and never read back; a
-- variable's value is plain text and key_id is ''.
CREATE TABLE environment_variables (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    secret         INTEGER NOT NULL,
    value          TEXT    NOT NULL,
    key_id         TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    created_by     TEXT    NOT NULL,
    updated_at     INTEGER NOT NULL,
    updated_by     TEXT    NOT NULL
);
CREATE UNIQUE INDEX environment_variables_name ON environment_variables (environment_id, name);

-- Who closed a job's gate, when, and the comment given with the decision
-- (approve or reject).
ALTER TABLE jobs ADD COLUMN rejected_by TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN rejected_at INTEGER;
ALTER TABLE jobs ADD COLUMN gate_comment TEXT NOT NULL DEFAULT '';

-- A project's release settings: the pipeline a candidate's build runs
-- (trigger_build). A project without a row uses "build".
CREATE TABLE release_settings (
    project_id     INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    build_pipeline TEXT    NOT NULL,
    updated_at     INTEGER NOT NULL,
    updated_by     TEXT    NOT NULL
);

-- +goose Down
DROP TABLE release_settings;
ALTER TABLE jobs DROP COLUMN gate_comment;
ALTER TABLE jobs DROP COLUMN rejected_at;
ALTER TABLE jobs DROP COLUMN rejected_by;
DROP TABLE environment_variables;
DELETE FROM deployments WHERE candidate_id IS NULL;
DROP INDEX deployments_run;
DROP INDEX deployments_job;
ALTER TABLE deployments DROP COLUMN job_id;
ALTER TABLE deployments DROP COLUMN commit_id;
