-- +goose Up
-- The first start of a database issues the built-in admin's first token,
-- once: its row says that happened, so a later start never issues another
-- (a revoked admin token stays revoked) and never takes one back from a
-- file. A database that already holds tokens was started before.
CREATE TABLE first_start (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    admin_token_at BIGINT  NOT NULL
);
INSERT INTO first_start (id, admin_token_at) SELECT 1, 0 WHERE EXISTS (SELECT 1 FROM api_tokens);

-- +goose Down
DROP TABLE first_start;
