-- +goose Up
-- Artifacts: files a job kept (its `artifacts:`), one row per file and
-- job; a later attempt of the job replaces the row of the same path. The
-- content is the blob blob_key, which the server makes of the run's and
-- attempt's IDs, a digest of the path and a random part (never the path).
-- expire_in is the job's own expire_in in seconds (NULL: the branch's
-- retention policy applies); expired_at is set when the retention sweep
-- removed the content; the row stays.
CREATE TABLE artifacts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    job_id     INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    attempt_id INTEGER NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    path       TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    sha256     TEXT    NOT NULL,
    blob_key   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    expire_in  INTEGER,
    expired_at INTEGER
);
CREATE UNIQUE INDEX artifacts_path ON artifacts (job_id, path);
CREATE INDEX artifacts_run ON artifacts (run_id, id);
CREATE INDEX artifacts_due ON artifacts (expires_at) WHERE expired_at IS NULL;

-- Caches (a job's `cache:`): saved directories restored by key into later
-- jobs of the project. Untrusted runs' caches are a scope of their own.
-- last_used_at orders the least-recently-used eviction.
CREATE TABLE caches (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    untrusted    INTEGER NOT NULL DEFAULT 0,
    cache_key    TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX caches_key ON caches (project_id, untrusted, cache_key);
CREATE INDEX caches_lru ON caches (project_id, last_used_at);

-- Retention (Kraken's retention policy): days a branch's runs keep their
-- logs and artifacts, CI runs apart from manual ones (NULL: forever).
ALTER TABLE branches ADD COLUMN retain_ci_logs INTEGER;
ALTER TABLE branches ADD COLUMN retain_ci_artifacts INTEGER;
ALTER TABLE branches ADD COLUMN retain_manual_logs INTEGER;
ALTER TABLE branches ADD COLUMN retain_manual_artifacts INTEGER;
-- An attempt whose log the sweep removed (its chunks are gone).
ALTER TABLE attempts ADD COLUMN log_expired_at INTEGER;

-- +goose Down
ALTER TABLE attempts DROP COLUMN log_expired_at;
ALTER TABLE branches DROP COLUMN retain_manual_artifacts;
ALTER TABLE branches DROP COLUMN retain_manual_logs;
ALTER TABLE branches DROP COLUMN retain_ci_artifacts;
ALTER TABLE branches DROP COLUMN retain_ci_logs;
DROP TABLE caches;
DROP TABLE artifacts;
