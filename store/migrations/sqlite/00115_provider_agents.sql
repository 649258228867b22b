-- +goose Up
-- Agents on demand, leftovers of issue 16: the agents a provider starts
-- are authorized and members of their group from the moment they
-- register, and every instance remembers the provider that started it, so
-- it is stopped through that provider once the group's provider is
-- removed or replaced.

-- A registration token the agent providers' loop made for the agents it
-- starts (1), not one an admin made (0).
ALTER TABLE registration_tokens ADD COLUMN provider INTEGER NOT NULL DEFAULT 0;

-- The provider (lathe.AgentProvider as JSON) that started the instance;
-- '' for rows from before, read as the group's current provider.
ALTER TABLE agent_instances ADD COLUMN provider TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE agent_instances DROP COLUMN provider;
ALTER TABLE registration_tokens DROP COLUMN provider;
