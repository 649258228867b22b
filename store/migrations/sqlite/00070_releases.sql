-- +goose Up
-- Releases, environments and deployments (issue 18): the CD half.

-- An environment of a project (staging, production, ...). position orders
-- them for promotion. Its protection rules live here, on the server, never
-- in a pipeline file a branch can edit: protected deployments wait for an
-- approval by one of approvers (a JSON list of "user:NAME", "team:NAME" or
-- "role:ROLE"); second_person forbids the deployer approving their own.
-- deploy_pipeline is the pipeline a deployment runs ('' : none, status
-- comes from outside).
CREATE TABLE environments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    position        INTEGER NOT NULL,
    deploy_pipeline TEXT    NOT NULL,
    protected       INTEGER NOT NULL,
    approvers       TEXT    NOT NULL,
    second_person   INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX environments_name ON environments (project_id, name);

-- A release of a project: the version without its -rcN suffix.
CREATE TABLE releases (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    version    TEXT    NOT NULL,
    final      INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX releases_version ON releases (project_id, version);

-- A candidate of a release: one commit, version VERSION-rcN. run_id is its
-- build run, NULL when it was ready at once.
CREATE TABLE release_candidates (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    number     INTEGER NOT NULL,
    commit_id  TEXT    NOT NULL,
    run_id     INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX release_candidates_number ON release_candidates (release_id, number);

-- A deployment of a candidate to an environment. run_id is the deploy run
-- it started; without one, status is what an outside CD reported.
CREATE TABLE deployments (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    candidate_id   INTEGER NOT NULL REFERENCES release_candidates(id) ON DELETE CASCADE,
    status         TEXT    NOT NULL,
    run_id         INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    created_by     TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX deployments_environment ON deployments (environment_id, id);
CREATE INDEX deployments_candidate ON deployments (candidate_id);

-- +goose Down
DROP TABLE deployments;
DROP TABLE release_candidates;
DROP TABLE releases;
DROP TABLE environments;
