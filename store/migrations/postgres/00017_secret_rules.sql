-- +goose Up
-- Who may have a stored secret (issue 12, items 8 and 9). The server
-- decides at claim time from the run's real ref and event, never from the
-- pipeline file.
--
-- A global secret reaches only the projects an admin granted it to. There
-- are no grants yet: a global secret stored before this migration reaches
-- no project until an admin grants it.
CREATE TABLE secret_grants (
    secret_id   BIGINT NOT NULL REFERENCES secrets(id) ON DELETE CASCADE,
    project_id  BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    PRIMARY KEY (secret_id, project_id)
);
CREATE INDEX secret_grants_project ON secret_grants (project_id);

-- A protected secret reaches only runs on these branches (JSON list of
-- patterns such as "release/*"; '[]' is any) started by these events
-- (JSON list; '[]' is any).
ALTER TABLE secrets ADD COLUMN branches TEXT NOT NULL DEFAULT '[]';
ALTER TABLE secrets ADD COLUMN events TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE secrets DROP COLUMN events;
ALTER TABLE secrets DROP COLUMN branches;
DROP TABLE secret_grants;
