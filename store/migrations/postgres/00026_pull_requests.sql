-- +goose Up
-- The pull (merge) request a run builds, by its number on the forge; NULL
-- for runs of a branch, tag or commit.
ALTER TABLE runs ADD COLUMN pull_request BIGINT;

-- +goose Down
ALTER TABLE runs DROP COLUMN pull_request;
