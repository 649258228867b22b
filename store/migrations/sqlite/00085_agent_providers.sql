-- +goose Up
-- Agents on demand (issue 16, part B): an agent group's provider starts
-- agents when jobs wait for the group and stops them when idle.

-- The group's provider as JSON (lathe.AgentProvider), or '' for none.
ALTER TABLE agent_groups ADD COLUMN provider TEXT NOT NULL DEFAULT '';

-- One agent a provider started (or is starting, or stopping). A row is
-- written before the provider is asked to start it, so a server that
-- restarts counts it against the group's max. state is starting,
-- stopping or failed; ready and busy are read from the agent of the same
-- name and its attempts. handle is the provider's own ID for it (a PID, a
-- cloud instance ID).
CREATE TABLE agent_instances (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id   INTEGER NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
    name       TEXT    NOT NULL UNIQUE,
    state      TEXT    NOT NULL,
    handle     TEXT    NOT NULL DEFAULT '',
    error      TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX agent_instances_group ON agent_instances (group_id, id);

-- +goose Down
DROP TABLE agent_instances;
ALTER TABLE agent_groups DROP COLUMN provider;
