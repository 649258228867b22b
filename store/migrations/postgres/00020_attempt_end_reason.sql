-- +goose Up
-- Why an attempt ended when its status alone does not say: handed back by
-- its agent when it stopped, lost in a server restart, or an
-- infrastructure failure such as a full disk. Empty when the job's own
-- steps decided.
ALTER TABLE attempts ADD COLUMN end_reason TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE attempts DROP COLUMN end_reason;
