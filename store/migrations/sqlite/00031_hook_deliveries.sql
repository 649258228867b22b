-- +goose Up
-- Deliveries of forge hooks already taken, by the forge's delivery ID, so
-- a replay starts nothing; rows older than a day are pruned.
CREATE TABLE hook_deliveries (
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    delivery    TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, delivery)
);
CREATE INDEX hook_deliveries_received ON hook_deliveries (received_at);
-- (A closed pull request finds its runs through runs_pull_request, 00045.)

-- +goose Down
DROP TABLE hook_deliveries;
