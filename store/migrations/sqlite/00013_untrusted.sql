-- +goose Up
-- Untrusted runs (a fork's pull request): they get no secrets, and their
-- jobs wait behind a trust gate until a user with write approves the commit.
ALTER TABLE runs ADD COLUMN untrusted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN trust_gate INTEGER NOT NULL DEFAULT 0;
CREATE TABLE commit_approvals (
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    commit_sha  TEXT    NOT NULL,
    approved_by TEXT    NOT NULL,
    approved_at INTEGER  NOT NULL,
    PRIMARY KEY (project_id, commit_sha)
);

-- +goose Down
DROP TABLE commit_approvals;
ALTER TABLE jobs DROP COLUMN trust_gate;
ALTER TABLE runs DROP COLUMN untrusted;
