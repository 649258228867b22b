-- +goose Up
-- PostgreSQL's sequences never hand out an id twice; this number keeps
-- the two dialects' migration lists alike (SQLite needs AUTOINCREMENT).
SELECT 1;

-- +goose Down
SELECT 1;
