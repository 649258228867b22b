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

-- A project URL's credentials (https://user:token@host/…) are kept apart,
-- sealed like a secret; url shows them as ***. url_by_admin says an admin
-- set the URL: only then may it name a local path or a private address.
-- Every URL so far was set by an admin (creating projects needs one).
ALTER TABLE projects ADD COLUMN url_credentials TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN url_by_admin INTEGER NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE projects DROP COLUMN url_by_admin;
ALTER TABLE projects DROP COLUMN url_credentials;
DROP TABLE first_start;
