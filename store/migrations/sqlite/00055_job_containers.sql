-- +goose Up
-- A job run in a container: its image, pull policy, services and limits as
-- JSON (lathe.JobContainer), '' for a job run on the agent's machine; and
-- the image alone, which GET /api/v1/systems groups jobs by.
ALTER TABLE jobs ADD COLUMN container TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN image TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE jobs DROP COLUMN image;
ALTER TABLE jobs DROP COLUMN container;
