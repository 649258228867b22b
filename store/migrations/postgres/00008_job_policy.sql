-- +goose Up
-- What the pipeline says about a job beyond its steps: whether it may fail,
-- how often a failure is retried, the approval gate before it, and the
-- environment it deploys to.
ALTER TABLE jobs ADD COLUMN allow_failure BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN retry_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN retry_on TEXT NOT NULL DEFAULT '[]';
-- Retries of failures and timeouts used so far (lost attempts count in infra_retries).
ALTER TABLE jobs ADD COLUMN retries BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN approval TEXT NOT NULL DEFAULT ''; -- JSON Approval, '' for none
ALTER TABLE jobs ADD COLUMN approved_by TEXT;
ALTER TABLE jobs ADD COLUMN approved_at BIGINT;
ALTER TABLE jobs ADD COLUMN environment TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE jobs DROP COLUMN environment;
ALTER TABLE jobs DROP COLUMN approved_at;
ALTER TABLE jobs DROP COLUMN approved_by;
ALTER TABLE jobs DROP COLUMN approval;
ALTER TABLE jobs DROP COLUMN retries;
ALTER TABLE jobs DROP COLUMN retry_on;
ALTER TABLE jobs DROP COLUMN retry_count;
ALTER TABLE jobs DROP COLUMN allow_failure;
