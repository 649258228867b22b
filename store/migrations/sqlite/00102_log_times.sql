-- +goose Up
-- When each log chunk reached the server, in microseconds since the epoch
-- (issue 20, item 15): the index that gives each line of a log the time it
-- arrived, kept beside the bytes, never in them. 0 for chunks stored
-- before it was kept.
ALTER TABLE log_chunks ADD COLUMN arrived_at INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE log_chunks DROP COLUMN at;
