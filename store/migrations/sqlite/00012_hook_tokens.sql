-- +goose Up
-- Tokens of a project's generic webhook: POST /api/v1/hooks/{token} starts
-- the runs of a push or webhook event. Only the SHA-256 of a token is kept.
CREATE TABLE hook_tokens (
    id         INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    created_at INTEGER  NOT NULL,
    last_used  INTEGER,
    revoked_at INTEGER
);
CREATE INDEX runs_last_success ON runs (project_id, pipeline, branch, id) WHERE status = 'success';

-- +goose Down
DROP INDEX runs_last_success;
DROP TABLE hook_tokens;
