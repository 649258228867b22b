-- +goose Up
-- Job lifecycle: infrastructure retries, why a queued job waits, idempotent
-- claims, and whether an attempt's log is known to be whole.
ALTER TABLE jobs ADD COLUMN infra_retries INTEGER NOT NULL DEFAULT 0; -- lost attempts retried so far
ALTER TABLE jobs ADD COLUMN wait_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN claim_id TEXT; -- the agent's ID of the claim request that created it
ALTER TABLE attempts ADD COLUMN log_complete INTEGER NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX attempts_claim ON attempts (agent_id, claim_id) WHERE claim_id IS NOT NULL;
CREATE INDEX attempts_running ON attempts (lease_expires_at) WHERE status = 'running';

-- +goose Down
DROP INDEX attempts_running;
DROP INDEX attempts_claim;
ALTER TABLE attempts DROP COLUMN log_complete;
ALTER TABLE attempts DROP COLUMN claim_id;
ALTER TABLE jobs DROP COLUMN wait_reason;
ALTER TABLE jobs DROP COLUMN infra_retries;
