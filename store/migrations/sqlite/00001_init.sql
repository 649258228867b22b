-- +goose Up
-- Times are unix microseconds (UTC) in both engines, so one set of queries serves both.
CREATE TABLE projects (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    url            TEXT    NOT NULL,
    default_branch TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

CREATE TABLE run_counters (
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    pipeline    TEXT    NOT NULL,
    last_number INTEGER NOT NULL,
    PRIMARY KEY (project_id, pipeline)
);

CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    pipeline    TEXT    NOT NULL,
    number      INTEGER NOT NULL,
    ref         TEXT    NOT NULL,
    branch      TEXT    NOT NULL,
    commit_sha  TEXT    NOT NULL,
    event       TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    UNIQUE (project_id, pipeline, number)
);
CREATE INDEX runs_project ON runs (project_id, id);
CREATE INDEX runs_status ON runs (status, id);

CREATE TABLE stages (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    position    INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    UNIQUE (run_id, position)
);

CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    stage_id    INTEGER NOT NULL REFERENCES stages(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    deps        TEXT    NOT NULL, -- JSON list of job names this job waits for
    needs       TEXT    NOT NULL, -- JSON list, as written in the pipeline
    runs_on     TEXT    NOT NULL, -- JSON list of labels
    timeout_sec INTEGER NOT NULL,
    env         TEXT    NOT NULL, -- JSON list of {name, value}
    steps       TEXT    NOT NULL, -- JSON list of {name, run}
    attempt     INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    queued_at   INTEGER,
    started_at  INTEGER,
    finished_at INTEGER,
    UNIQUE (run_id, name)
);
CREATE INDEX jobs_queue ON jobs (id) WHERE status = 'queued';

CREATE TABLE agents (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    token_hash TEXT    NOT NULL UNIQUE,
    labels     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER
);

CREATE TABLE attempts (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    agent_id    INTEGER NOT NULL REFERENCES agents(id),
    status      TEXT    NOT NULL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    log_size    INTEGER NOT NULL DEFAULT 0,
    lease_expires_at INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    UNIQUE (job_id, number)
);
CREATE INDEX attempts_agent ON attempts (agent_id, id);

CREATE TABLE steps (
    attempt_id  INTEGER NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    exit_code   INTEGER,
    log_start   INTEGER NOT NULL,
    log_end     INTEGER,
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    PRIMARY KEY (attempt_id, idx)
);

-- An attempt's log is the concatenation of its chunks in offset order; chunks never overlap.
CREATE TABLE log_chunks (
    attempt_id INTEGER NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    off        INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    data       BLOB    NOT NULL,
    PRIMARY KEY (attempt_id, off)
);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_used  INTEGER
);

-- +goose Down
DROP TABLE api_tokens;
DROP TABLE log_chunks;
DROP TABLE steps;
DROP TABLE attempts;
DROP TABLE agents;
DROP TABLE jobs;
DROP TABLE stages;
DROP TABLE runs;
DROP TABLE run_counters;
DROP TABLE projects;
