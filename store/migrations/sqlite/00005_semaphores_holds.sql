-- +goose Up
-- Semaphores: a job may hold a per-project concurrency group with a limit.
ALTER TABLE jobs ADD COLUMN concurrency_group TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN concurrency_limit INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_semaphore ON jobs (concurrency_group, status) WHERE concurrency_group <> '';

-- One row per semaphore a project's jobs have named. A claim of a job in the
-- group locks this row before counting the holders (on PostgreSQL), so two
-- claimers never both take the last slot.
CREATE TABLE semaphores (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    last_limit INTEGER NOT NULL, -- the limit of the latest job created in the group
    created_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, name)
);

-- Autohold: keep the workspaces of the next failed attempts of a job.
CREATE TABLE holds (
    id           INTEGER PRIMARY KEY,
    project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    pipeline     TEXT    NOT NULL,
    job          TEXT    NOT NULL,
    remaining    INTEGER NOT NULL, -- failed attempts still to catch
    duration_sec INTEGER NOT NULL,
    reason       TEXT    NOT NULL,
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX holds_match ON holds (project_id, pipeline, job) WHERE remaining > 0;

-- An attempt whose workspace a hold kept; it outlives a deleted hold, since
-- the agent keeps the workspace until it expires either way.
CREATE TABLE held_attempts (
    attempt_id INTEGER PRIMARY KEY REFERENCES attempts(id) ON DELETE CASCADE,
    hold_id    INTEGER REFERENCES holds(id) ON DELETE SET NULL,
    path       TEXT    NOT NULL,
    held_at    INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX held_attempts_hold ON held_attempts (hold_id, attempt_id);

-- +goose Down
DROP TABLE held_attempts;
DROP TABLE holds;
DROP TABLE semaphores;
DROP INDEX jobs_semaphore;
ALTER TABLE jobs DROP COLUMN concurrency_limit;
ALTER TABLE jobs DROP COLUMN concurrency_group;
