-- +goose Up
-- Fleet management: registration tokens, agent authorization and host info, agent groups.
ALTER TABLE agents ADD COLUMN authorized INTEGER NOT NULL DEFAULT 1;
ALTER TABLE agents ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN host TEXT NOT NULL DEFAULT '{}'; -- JSON HostInfo, as last reported
ALTER TABLE agents ADD COLUMN registration_token_id INTEGER;
-- A deleted agent that ran attempts stays as a tombstone so their history keeps its agent.
ALTER TABLE agents ADD COLUMN deleted_at INTEGER;

CREATE TABLE registration_tokens (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_used  INTEGER,
    revoked_at INTEGER
);

CREATE TABLE agent_groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE agent_group_members (
    group_id INTEGER NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
    agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, agent_id)
);
CREATE INDEX agent_group_members_agent ON agent_group_members (agent_id, group_id);

-- +goose Down
DROP TABLE agent_group_members;
DROP TABLE agent_groups;
DROP TABLE registration_tokens;
ALTER TABLE agents DROP COLUMN deleted_at;
ALTER TABLE agents DROP COLUMN registration_token_id;
ALTER TABLE agents DROP COLUMN host;
ALTER TABLE agents DROP COLUMN disabled;
ALTER TABLE agents DROP COLUMN authorized;
