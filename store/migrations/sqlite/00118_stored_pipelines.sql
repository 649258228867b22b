-- +goose Up
-- Pipelines kept by the server (Escape's builds, Kraken's stored flows):
-- pipeline YAML an owner put through the API, read beside the
-- repository's files at every commit of the project. A file of the
-- repository with the same pipeline name wins.
CREATE TABLE stored_pipelines (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    yaml       TEXT    NOT NULL,
    updated_by TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (project_id, name)
);

-- +goose Down
DROP TABLE stored_pipelines;
