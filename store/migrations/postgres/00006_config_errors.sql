-- +goose Up
-- The pipeline configuration errors last met per project and branch (Zuul's
-- config-errors): replaced each time a commit of the branch is read, removed
-- when one reads cleanly.
CREATE TABLE config_errors (
    project_id BIGINT  NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    branch     TEXT    NOT NULL,
    commit_sha TEXT    NOT NULL,
    errors     TEXT    NOT NULL, -- JSON list of ConfigProblem
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (project_id, branch)
);

-- +goose Down
DROP TABLE config_errors;
